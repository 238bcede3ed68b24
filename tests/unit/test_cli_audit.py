"""``shopctrl-desktop audit list``: the audit trail on the command line, fed by CLI write paths (triggers
import, queue retry/cancel) — real SQLite files in tmp dirs."""

from __future__ import annotations

import json
import socket

import pytest

from shopctrl_desktop.store import queue
from shopctrl_desktop.store.audit import os_user
from tests.unit.test_cli import HMAC, Dir, seed
from tests.unit.test_queue_store import order_event

NEW_HMAC = "a-brand-new-hmac-secret-91"


@pytest.fixture
def data_dir(tmp_path, capsys) -> Dir:
    return Dir(tmp_path / "data", capsys)


def audit_json(d: Dir, *args: str) -> list[dict]:
    code, out, err = d.run("audit", "list", "--json", *args)
    assert code == 0, err
    return json.loads(out)


def test_import_and_queue_commands_are_listed_newest_first(data_dir, tmp_path) -> None:
    d = data_dir
    seed(d)
    code, out, _ = d.run("triggers", "export")
    document = json.loads(out)
    action = document["triggers"][0]["actions"][0]
    action["url"], action["hmacSecret"] = "https://erp.example/hooks/v2", NEW_HMAC
    (tmp_path / "t.json").write_text(json.dumps(document))
    assert d.run("triggers", "import", str(tmp_path / "t.json"))[0] == 0
    db, box = d.open()
    with db.session() as s:
        queue.enqueue_events(s, box, [order_event(1, total=500)])
        [item] = queue.list_items(s)
        s.execute(queue._ITEMS.update().values(status="failed"))
    db.dispose()
    assert d.run("queue", "retry", "--failed")[0] == 0
    assert d.run("queue", "cancel", str(item.id))[0] == 0

    cancelled, retried, changed, created = audit_json(d)
    assert [e["action"] for e in (created, changed, retried, cancelled)] == [
        "trigger.created",
        "trigger.changed",
        "items.retried",
        "item.cancelled",
    ]
    assert set(created) == {"id", "at", "who", "workstation", "action", "subject", "changes"}
    assert created["who"] == os_user() and created["workstation"] == socket.gethostname()
    assert created["at"].endswith("Z")
    assert changed["subject"] == {"kind": "trigger", "id": created["subject"]["id"], "name": "ERP order sync"}
    assert changed["changes"] == [
        {
            "field": "actions[1].url",
            "old": "https://erp.example/hooks/order",
            "new": "https://erp.example/hooks/v2",
        },
        {"field": "actions[1].hmacSecret", "secret": True, "change": "changed"},
    ]
    assert retried["changes"] == [{"field": "items", "old": None, "new": [item.id]}]
    assert cancelled["subject"] == {"kind": "item", "id": item.id, "name": "ERP order sync"}
    _, everything, _ = d.run("audit", "list", "--json")
    assert HMAC not in everything and NEW_HMAC not in everything

    assert [e["action"] for e in audit_json(d, "--what", "trigger")] == ["trigger.changed", "trigger.created"]
    assert audit_json(d, "--since", cancelled["at"]) == [cancelled]
    assert audit_json(d, "--since", "2999-01-01") == []
    assert len(audit_json(d, "--since", "2000-01-01T00:00+02:00")) == 4
    assert audit_json(d, "--who", "somebody-else") == []

    code, out, _ = d.run("audit", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "AT", "(UTC)", "WHO", "WORKSTATION", "WHAT"]
    assert "Changed trigger “ERP order sync”: actions[1].url, actions[1].hmacSecret" in out
    assert f"Cancelled queue item #{item.id} (ERP order sync)" in lines[1]


def test_a_since_that_is_no_date_is_a_usage_error(data_dir) -> None:
    code, _, err = data_dir.run("audit", "list", "--since", "last tuesday")
    assert code == 2 and "not an ISO date" in err and "2026-12-01" in err
