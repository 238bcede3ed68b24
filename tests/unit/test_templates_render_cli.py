"""``shopctrl-desktop render --trigger TITLE --event FILE`` and the template branch of domain/payload.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shopctrl_desktop.cli import main
from shopctrl_desktop.domain.model import MimeType, StoredEvent, Trigger, WebhookAction
from shopctrl_desktop.domain.payload import render_request
from shopctrl_desktop.domain.templates import RenderError

TEMPLATE = (
    '{"trigger": "{{ Trigger }}", "actionId": {{ TriggerActionId | json }}, "orderId": {{ entityData.OrderId }},\n'
    ' "code": "$$Order.OrderCode$$", "total": $$Order.TotalDue#0.00$$,\n'
    ' "rows": [<!-- RangeStart:OrderRow -->"$$OrderRow.ProductCode$$",<!-- RangeEnd:OrderRow -->null]}'
)

EVENT = {
    "event": "Order changed",
    "shopId": 3,
    "data": {
        "Order": {
            "Id": 1001,
            "OrderCode": 'ORD-"1001"',
            "TotalDue": 12.5,
            "OrderRow": [{"ProductCode": "SKU-1"}, {"ProductCode": "SKU-2"}],
        }
    },
}


def trigger_file(body: str = TEMPLATE, condition=None, mime: str = "application/json") -> dict:
    return {
        "version": 1,
        "triggers": [
            {
                "title": "ERP order sync",
                "event": "OrderChanged",
                "shopId": None,
                "enabled": True,
                "condition": condition,
                "actions": [
                    {
                        "type": "callWebhook",
                        "url": "https://erp.example/hooks/order",
                        "method": "PUT",
                        "headers": {"X-Api-Version": "2"},
                        "payloadMimeType": mime,
                        "payloadBody": body,
                    }
                ],
            }
        ],
    }


@pytest.fixture
def cli(tmp_path, capsys):
    data_dir = tmp_path / "data"

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--data-dir", str(data_dir), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def write(tmp_path: Path, name: str, document) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document), "utf-8")
    return str(path)


def test_render_prints_method_url_headers_and_body(cli, tmp_path):
    assert cli("triggers", "import", write(tmp_path, "t.json", trigger_file()))[0] == 0
    code, out, err = cli("render", "--trigger", "ERP order sync", "--event", write(tmp_path, "e.json", EVENT))
    assert code == 0, err
    head, _, body = out.partition("\n\n")
    lines = head.splitlines()
    assert lines[0] == "PUT https://erp.example/hooks/order"
    assert "Content-Type: application/json; charset=utf-8" in lines
    assert "X-ShopCtrl-Trigger: OrderChanged" in lines
    assert "X-Api-Version: 2" in lines
    assert not any(line.lower().startswith(("authorization", "x-shopctrl-signature")) for line in lines)
    parsed = json.loads(body)
    assert parsed["code"] == 'ORD-"1001"'
    assert parsed["trigger"] == "OrderChanged"
    assert parsed["orderId"] == 1001
    assert parsed["total"] == 12.5
    assert parsed["rows"] == ["SKU-1", "SKU-2", None]
    assert err == ""


def test_render_notes_when_the_condition_does_not_hold(cli, tmp_path):
    condition = {
        "match": "all",
        "rules": [{"field": "Order.TotalDue", "operator": "greaterThan", "value": 100}],
    }
    assert cli("triggers", "import", write(tmp_path, "t.json", trigger_file(condition=condition)))[0] == 0
    code, out, err = cli("render", "--trigger", "erp ORDER sync", "--event", write(tmp_path, "e.json", EVENT))
    assert code == 0
    assert "condition" in err and "would not fire" in err
    assert out.startswith("PUT https://erp.example/hooks/order")


def test_render_error_prints_the_message_and_exits_non_zero(cli, tmp_path):
    broken = '{"code": $$Order.OrderCode$$}'  # a text value outside quotes: not JSON
    assert cli("triggers", "import", write(tmp_path, "t.json", trigger_file(body=broken)))[0] == 0
    code, out, err = cli("render", "--trigger", "ERP order sync", "--event", write(tmp_path, "e.json", EVENT))
    assert code == 1
    assert "not valid JSON" in err and "line 1, column" in err
    assert out == ""


def test_render_unknown_trigger_suggests_titles(cli, tmp_path):
    assert cli("triggers", "import", write(tmp_path, "t.json", trigger_file()))[0] == 0
    code, _, err = cli("render", "--trigger", "ERP order synk", "--event", write(tmp_path, "e.json", EVENT))
    assert code == 1
    assert "no trigger titled 'ERP order synk'" in err and "ERP order sync" in err


def test_render_bad_event_file(cli, tmp_path):
    assert cli("triggers", "import", write(tmp_path, "t.json", trigger_file()))[0] == 0
    code, _, err = cli(
        "render", "--trigger", "ERP order sync", "--event", write(tmp_path, "e.json", {"event": "Nope"})
    )
    assert code == 1 and "event" in err


def test_import_refuses_an_invalid_condition(cli, tmp_path):
    condition = {"match": "all", "rules": [{"field": "Order.TotalDue", "operator": "between", "value": 5}]}
    code, _, err = cli("triggers", "import", write(tmp_path, "t.json", trigger_file(condition=condition)))
    assert code != 0
    assert "rule 1 (Order.TotalDue)" in err and "between" in err
    code, out, _ = cli("triggers", "list", "--json")
    assert json.loads(out) == []


def test_condition_round_trips_through_export(cli, tmp_path):
    condition = {
        "match": "any",
        "rules": [
            {"field": "Order.TotalDue", "operator": "greaterThan", "value": 100},
            {"match": "all", "rules": [{"field": "Order.Date", "operator": "after", "value": "today-3"}]},
        ],
    }
    assert cli("triggers", "import", write(tmp_path, "t.json", trigger_file(condition=condition)))[0] == 0
    code, out, _ = cli("triggers", "export")
    assert code == 0
    assert json.loads(out)["triggers"][0]["condition"] == condition


def _event(data: dict) -> StoredEvent:
    return StoredEvent(
        id=7,
        event="OrderChanged",
        shop_id=3,
        occurred_at=datetime(2026, 11, 28, tzinfo=UTC),
        data=data,
        entity_data={"OrderId": 1001, "OrderCode": "ORD-1001"},
        entity_type="Order",
        entity_id="1001",
        entity_code="ORD-1001",
    )


def test_payload_template_branch_passes_extra_names():
    action = WebhookAction(
        url="https://x.example/",
        payload_mime_type=MimeType.XML,
        payload_body='<e trigger="{{ Trigger }}" title="{{ TriggerTitle }}" action="{{ TriggerActionId }}" '
        'event="{{ EventId }}" shop="{{ ShopId }}">$$Order.OrderCode$$ {{ entityData.OrderCode }}</e>',
        id=5,
    )
    request = render_request(
        Trigger(title="T & Co", event="OrderChanged", actions=(action,)),
        action,
        _event({"Order": {"OrderCode": "<1>"}}),
    )
    assert (
        request.body
        == '<e trigger="OrderChanged" title="T &amp; Co" action="5" event="7" shop="3">&lt;1&gt; ORD-1001</e>'
    )
    assert request.headers["Content-Type"] == "application/xml; charset=utf-8"


def test_payload_template_error_is_a_render_error():
    action = WebhookAction(
        url="https://x.example/", payload_body="{{ ''.__class__ }}", payload_mime_type=MimeType.TEXT
    )
    with pytest.raises(RenderError, match="sandbox"):
        render_request(Trigger(title="T", event="OrderChanged", actions=(action,)), action, _event({}))


def test_empty_body_is_the_default_payload():
    action = WebhookAction(url="https://x.example/", payload_body="  ", id=9)
    request = render_request(Trigger(title="T", event="OrderChanged", actions=(action,)), action, _event({}))
    assert json.loads(request.body) == {
        "Trigger": "OrderChanged",
        "TriggerActionId": 9,
        "entityData": {"OrderId": 1001, "OrderCode": "ORD-1001"},
    }


def test_event_metadata_is_available_to_templates():
    action = WebhookAction(
        url="https://x.example/",
        payload_mime_type=MimeType.TEXT,
        payload_body="$$Event.Name$$ #$$Event.Id$$ shop $$Event.ShopId$$ at $$Event.OccurredAt#yyyy-MM-dd HH:mm$$ "
        "{{ Event.EntityType }} {{ Event.EntityId }} {{ Event.EntityCode }}",
    )
    request = render_request(Trigger(title="T", event="OrderChanged", actions=(action,)), action, _event({}))
    assert request.body == "OrderChanged #7 shop 3 at 2026-11-28 00:00 Order 1001 ORD-1001"
