"""The demo's triggers: resources/demo/triggers.json (the SPEC 3.3 import format) with ``{receiver}`` replaced
by the sample receiver's base URL (``http://127.0.0.1:<port>``).

The built-in set below fills in whatever kind of endpoint the file lacks (slow, flaky, fail, gone — see
demo/receiver.py), so the demo always shows deliveries, retries that recover, retries that run out,
and a 410 alert; when the file is missing, the built-in set is the whole demo.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from shopctrl_desktop.domain.model import MimeType, Priority, SignatureScheme, Trigger, WebhookAction
from shopctrl_desktop.resources import ResourceNotFound, demo_dir
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secrets import SecretBox
from shopctrl_desktop.store.triggers import find_trigger_by_title, save_trigger

log = logging.getLogger(__name__)

PLACEHOLDER = "{receiver}"

BUILTIN_DEMO_TRIGGERS: dict[str, Any] = {
    "version": 1,
    "triggers": [
        {
            "title": "ERP order sync (built-in)",
            "event": "OrderChanged",
            "actions": [
                {
                    "type": "callWebhook",
                    "url": "{receiver}/ok/erp/orders",
                    "priority": "high",
                    "hmacSecret": "demo-shopctrl-secret",
                    "signatureScheme": "shopctrl",
                }
            ],
        },
        {
            "title": "New orders to the warehouse (slow endpoint)",
            "event": "NewOrderAdded",
            "actions": [{"type": "callWebhook", "url": "{receiver}/slow/warehouse"}],
        },
        {
            "title": "Shipment tracking (flaky endpoint)",
            "event": "ShipmentShipped",
            "actions": [
                {
                    "type": "callWebhook",
                    "url": "{receiver}/flaky/tracking",
                    "hmacSecret": "demo-github-secret",
                    "signatureScheme": "github",
                }
            ],
        },
        {
            "title": "Invoices to accounting (endpoint down)",
            "event": "InvoicePaymentsDone",
            "actions": [{"type": "callWebhook", "url": "{receiver}/fail/accounting", "priority": "low"}],
        },
        {
            "title": "Returns portal (retired: 410 Gone)",
            "event": "ReturnCreated",
            "actions": [{"type": "callWebhook", "url": "{receiver}/gone/returns"}],
        },
    ],
}


def _action(data: dict[str, Any]) -> WebhookAction:
    return WebhookAction(
        url=str(data["url"]),
        method=str(data.get("method") or "POST").upper(),
        priority=Priority.parse(data.get("priority") or "normal"),
        unique_queue_items=bool(data.get("uniqueQueueItems", False)),
        hmac_secret=data.get("hmacSecret") or None,
        signature_scheme=SignatureScheme(data.get("signatureScheme") or "shopctrl"),
        client_certificate=data.get("clientCertificate") or None,
        client_certificate_passphrase=data.get("clientCertificatePassphrase") or None,
        ca_certificate=data.get("caCertificate") or None,
        timeout_seconds=float(data.get("timeoutSeconds") or 30),
        username=data.get("username") or None,
        password=data.get("password") or None,
        headers=dict(data.get("headers") or {}),
        payload_mime_type=MimeType(data.get("payloadMimeType") or "application/json"),
        payload_body=str(data.get("payloadBody") or ""),
    )


def parse_triggers(document: dict[str, Any]) -> list[Trigger]:
    triggers = []
    for item in document.get("triggers", []):
        actions = tuple(
            _action(a) for a in item.get("actions", []) if a.get("type", "callWebhook") == "callWebhook"
        )
        triggers.append(
            Trigger(
                title=str(item["title"]),
                event=str(item["event"]),
                shop_id=item.get("shopId"),
                enabled=bool(item.get("enabled", True)),
                condition=item.get("condition"),
                actions=actions,
            )
        )
    return triggers


def demo_document() -> dict[str, Any]:
    try:
        path = demo_dir() / "triggers.json"
        return json.loads(path.read_text("utf-8"))
    except (ResourceNotFound, FileNotFoundError):
        log.info("resources/demo/triggers.json not found; using the built-in demo triggers")
        return BUILTIN_DEMO_TRIGGERS


ENDPOINT_KINDS = ("slow", "flaky", "fail", "gone")


def _with_every_kind(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` plus the built-in triggers of every endpoint kind it has no URL for."""
    urls = [str(a.get("url", "")) for t in document.get("triggers", []) for a in t.get("actions", [])]
    missing = [k for k in ENDPOINT_KINDS if not any(f"/{k}" in u.lower() for u in urls)]
    extra = [
        t
        for t in BUILTIN_DEMO_TRIGGERS["triggers"]
        if any(f"/{k}/" in a["url"] for a in t["actions"] for k in missing)
    ]
    return {**document, "triggers": [*document.get("triggers", []), *extra]}


def load_demo_triggers(receiver_url: str, document: dict[str, Any] | None = None) -> list[Trigger]:
    """The demo triggers with ``{receiver}`` replaced by the sample receiver's base URL (http://host:port)."""
    base = receiver_url.rstrip("/")
    if "://" not in base:
        base = f"http://{base}"
    chosen = _with_every_kind(document if document is not None else demo_document())
    text = json.dumps(chosen).replace("http://" + PLACEHOLDER, base).replace(PLACEHOLDER, base)
    return parse_triggers(json.loads(text))


def import_demo_triggers(db: Database, box: SecretBox, triggers: list[Trigger]) -> list[int]:
    """Create or update the demo triggers by title (a restarted demo points them at the new receiver port)."""
    ids = []
    with db.session() as session:
        for trigger in triggers:
            existing = find_trigger_by_title(session, box, trigger.title)
            if existing is not None:
                kept = (
                    tuple(
                        replace(a, id=old.id)
                        for a, old in zip(trigger.actions, existing.actions, strict=False)
                    )
                    + trigger.actions[len(existing.actions) :]
                )
                trigger = replace(trigger, id=existing.id, actions=kept)
            ids.append(save_trigger(session, box, trigger))
    return ids
