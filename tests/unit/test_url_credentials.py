"""A user name and password in a webhook URL are secrets (issue 15 item 5): refused on import and in the
editor with a pointer to the Authentication tab; those stored before are moved there (sealed) and out of
every stored URL, and the receiver still gets them as basic authentication."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from sqlalchemy import select

from shopctrl_desktop.cli import main
from shopctrl_desktop.domain.model import IncomingEvent, Trigger, WebhookAction
from shopctrl_desktop.domain.trigger_file import url_error, url_has_credentials, without_credentials
from shopctrl_desktop.engine.outgoing import build_request
from shopctrl_desktop.engine.tlsconfig import TLSContextCache
from shopctrl_desktop.store.audit import list_entries
from shopctrl_desktop.store.ingest import enqueue_events
from shopctrl_desktop.store.models import QueueItemRow, WebhookActionRow
from shopctrl_desktop.store.triggers import get_trigger, move_url_credentials, save_trigger

SECRET_URL = "https://alice:S3cr%40t@erp.example/hooks/order?x=1"


def test_the_rule() -> None:
    assert url_has_credentials(SECRET_URL) and url_has_credentials("http://alice@erp.example/")
    assert not url_has_credentials("https://erp.example/a@b")  # an @ in the path is no user
    assert without_credentials(SECRET_URL) == "https://erp.example/hooks/order?x=1"
    assert "Authentication tab" in (url_error(SECRET_URL) or "")
    assert url_error("https://erp.example/hooks/order") is None


def test_import_refuses_a_url_with_credentials_and_never_echoes_them(tmp_path, capsys) -> None:
    document = {
        "version": 1,
        "triggers": [
            {"title": "ERP", "event": "OrderChanged", "actions": [{"type": "callWebhook", "url": SECRET_URL}]}
        ],
    }
    file = tmp_path / "t.json"
    file.write_text(json.dumps(document))
    code = main(["--data-dir", str(tmp_path / "data"), "triggers", "import", str(file)])
    out, err = capsys.readouterr()
    assert code != 0 and "Authentication tab" in err and "ERP" in err
    assert "S3cr" not in out + err


def test_the_editor_says_where_credentials_go(qapp) -> None:
    from shopctrl_desktop.gui.webhook.general_tab import url_problem

    assert "Authentication tab" in (url_problem(SECRET_URL) or "")
    assert url_problem("https://erp.example/hooks/order") is None


def test_credentials_stored_before_move_to_basic_auth_and_out_of_every_url(db, box) -> None:
    with db.session() as s:  # as an older version stored it: the URL unchecked
        trigger_id = save_trigger(
            s, box, Trigger(title="ERP", event="OrderChanged", actions=(WebhookAction(url=SECRET_URL),))
        )
    event = IncomingEvent(
        event="OrderChanged",
        shop_id=None,
        occurred_at=datetime.now(UTC),
        data={"Order": {"Id": 1}},
        entity_data={"OrderId": 1},
        entity_type="Order",
        entity_id="1",
        entity_code=None,
        external_id="e1",
    )
    with db.session() as s:
        enqueue_events(s, box, [event])
    with db.session() as s:
        assert move_url_credentials(s, box) == 1
    with db.session() as s:
        assert move_url_credentials(s, box) == 0  # once
        row = s.scalar(select(WebhookActionRow))
        assert row.url == "https://erp.example/hooks/order?x=1" and row.username == "alice"
        assert row.password_enc and "S3cr" not in row.password_enc
        assert [i.url for i in s.scalars(select(QueueItemRow))] == ["https://erp.example/hooks/order?x=1"]
        [entry] = [e for e in list_entries(s) if e.action == "trigger.changed"]
        stored = get_trigger(s, box, trigger_id)
    assert "S3cr" not in json.dumps([c.to_json() for c in entry.changes])
    assert {c.field for c in entry.changes if c.secret} == {"password"}
    action = stored.actions[0]
    assert (action.username, action.password) == ("alice", "S3cr@t")
    request = build_request(action, "POST", row.url, {}, "{}", "d1", 1, TLSContextCache())
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:S3cr@t").decode()
