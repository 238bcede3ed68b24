"""The default payload and request headers of a Call Webhook action (domain/payload.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from shopctrl_desktop.domain.model import MimeType, StoredEvent, Trigger, WebhookAction
from shopctrl_desktop.domain.payload import render_request


def _event() -> StoredEvent:
    return StoredEvent(
        id=7,
        event="OrderChanged",
        shop_id=3,
        occurred_at=datetime(2026, 11, 28, 10, tzinfo=UTC),
        data={"Order": {"Id": 1001, "OrderCode": "ORD-1001"}},
        entity_data={"OrderId": 1001, "OrderCode": "ORD-1001"},
        entity_type="Order",
        entity_id="1001",
        entity_code="ORD-1001",
    )


def test_empty_body_gives_the_default_json_payload() -> None:
    action = WebhookAction(url="https://erp.example/hook", id=42, headers={"X-Team": "erp"})
    request = render_request(Trigger(title="t", event="OrderChanged"), action, _event())
    assert json.loads(request.body) == {
        "Trigger": "OrderChanged",
        "TriggerActionId": 42,
        "entityData": {"OrderId": 1001, "OrderCode": "ORD-1001"},
    }
    assert request.method == "POST" and request.url == "https://erp.example/hook"
    assert request.headers == {
        "Content-Type": "application/json; charset=utf-8",
        "X-ShopCtrl-Trigger": "OrderChanged",
        "X-Team": "erp",
    }


def test_content_type_follows_the_mime_type_and_custom_header_replaces_it() -> None:
    action = WebhookAction(url="https://x.example/", payload_mime_type=MimeType.XML, method="PUT")
    request = render_request(Trigger(title="t", event="OrderChanged"), action, _event())
    assert request.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert request.method == "PUT"
    custom = WebhookAction(url="https://x.example/", headers={"content-type": "application/vnd.erp+json"})
    headers = render_request(Trigger(title="t", event="OrderChanged"), custom, _event()).headers
    assert headers == {"X-ShopCtrl-Trigger": "OrderChanged", "content-type": "application/vnd.erp+json"}
