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
from shopctrl_desktop.domain.trigger_file import parse_document
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secrets import load_secret_box
from shopctrl_desktop.store.triggers import save_trigger

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


def store_trigger_directly(data_dir: Path, document: dict) -> None:
    """A trigger saved as an older version (or the database itself) may hold it: without the import's check."""
    paths = resolve_paths(data_dir).ensure()
    db = Database(f"sqlite:///{paths.database_file}")
    box = load_secret_box(paths.data_dir, use_keyring=False)
    [trigger] = parse_document(document)  # no samples: the template is not rendered
    with db.session() as s:
        save_trigger(s, box, trigger)
    db.dispose()


def test_render_error_prints_the_message_and_exits_non_zero(cli, tmp_path):
    broken = '{"code": $$Order.OrderCode$$}'  # a text value outside quotes: not JSON
    store_trigger_directly(tmp_path / "data", trigger_file(body=broken))
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


# --- the import renders every template for its event's sample (issue 13, seed conformance) -----------------
GOOD = {"title": "Good", "event": "OrderChanged", "actions": [{"url": "https://ok.example/"}]}


def with_good_first(document: dict) -> dict:
    return {"version": 1, "triggers": [GOOD, *document["triggers"]]}


def test_import_refuses_a_json_template_whose_output_is_not_json_and_imports_nothing(cli, tmp_path):
    body = (
        '{\n  "id": $$Order.Id$$,\n  "code": $$Order.OrderCode$$\n}'  # the id is a number; the code is text
    )
    code, out, err = cli(
        "triggers", "import", write(tmp_path, "t.json", with_good_first(trigger_file(body=body)))
    )
    assert code == 1 and out == ""
    assert "nothing was imported" in err and "1 problem" in err
    assert "trigger 'ERP order sync' (triggers[1]) actions[0].payloadBody" in err
    assert "template line 3" in err and '"code": $$Order.OrderCode$$' in err
    assert "not valid JSON" in err and "at line 3, column 11 of the output" in err
    assert 'sample "Order changed" event' in err and "quotes" in err
    assert "Traceback" not in err
    assert json.loads(cli("triggers", "list", "--json")[1]) == []  # not even the good trigger


def test_import_refuses_an_xml_template_that_is_not_well_formed(cli, tmp_path):
    body = "<order>\n  <code>$$Order.OrderCode$$</cdoe>\n</order>"
    code, _, err = cli(
        "triggers", "import", write(tmp_path, "t.json", trigger_file(body=body, mime="application/xml"))
    )
    assert code == 1
    assert "actions[0].payloadBody, template line 2" in err
    assert "not well-formed XML" in err and "line 2, column" in err
    assert json.loads(cli("triggers", "list", "--json")[1]) == []


def test_import_names_the_template_line_of_a_failure_inside_a_loop(cli, tmp_path):
    # the output line of a payload built by a loop is not the template's line: only the output's is named
    body = '{"rows": [<!-- RangeStart:OrderRow -->$$OrderRow.ProductCode$$,<!-- RangeEnd:OrderRow -->null]}'
    code, _, err = cli("triggers", "import", write(tmp_path, "t.json", trigger_file(body=body)))
    assert code == 1
    assert "actions[0].payloadBody: the rendered payload is not valid JSON" in err
    assert "line 1, column" in err and "template line" not in err


def test_import_accepts_templates_that_render_for_the_sample(cli, tmp_path):
    quoted = '{"code": "$$Order.OrderCode$$", "id": $$Order.Id$$, "total": {{ Order.TotalDue | json }}}'
    code, out, err = cli("triggers", "import", write(tmp_path, "t.json", trigger_file(body=quoted)))
    assert code == 0 and "1 created" in out, err


def test_import_of_a_seed_spelled_event_checks_that_events_sample(cli, tmp_path):
    document = trigger_file(
        body='{"ticket": "$$Ticket.TicketCode$$", "direction": $$TicketMessage.Direction$$}'
    )
    document["triggers"][0]["event"] = "Ticket Outcoming Message"
    code, _, err = cli("triggers", "import", write(tmp_path, "t.json", document))
    assert code == 1 and 'sample "Ticket outgoing message" event' in err
    document = trigger_file(body='{"ticket": "$$Ticket.TicketCode$$"}')
    document["triggers"][0]["event"] = "Ticket Outcoming Message"
    assert cli("triggers", "import", write(tmp_path, "t.json", document))[0] == 0
    [stored] = json.loads(cli("triggers", "list", "--json")[1])
    assert stored["event"] == "TicketOutgoingMessage"


def test_the_demo_triggers_pass_the_import_check(cli, tmp_path):
    demo = Path(__file__).resolve().parents[2] / "resources" / "demo" / "triggers.json"
    text = demo.read_text("utf-8").replace("{receiver}", "http://127.0.0.1:9")
    document = json.loads(text)
    assert any(a.get("payloadBody") for t in document["triggers"] for a in t["actions"])
    code, out, err = cli("triggers", "import", write(tmp_path, "t.json", document))
    assert code == 0, err
