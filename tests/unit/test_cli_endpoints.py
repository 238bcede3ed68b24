"""``endpoints list|pause|resume`` in-process against a real SQLite data dir."""

from __future__ import annotations

import json

from sqlalchemy import select

from shopctrl_desktop.store.models import AuditEntryRow, QueueItemRow
from tests.helpers.factories import add_items, make_action
from tests.unit.test_cli import make_dir  # noqa: F401 - the fixture


def test_pause_list_and_resume_by_url_and_id(make_dir):  # noqa: F811
    d = make_dir()
    d.run("triggers", "list")  # creates the database
    db, box = d.open()
    erp = make_action(db, box, "https://ERP.example.com:443/api/orders?token=1", title="Orders to ERP")
    make_action(db, box, "https://shop.example.com/hook", title="Orders to shop")
    ids = add_items(db, erp, 3)

    code, out, _ = d.run("endpoints", "list", "--json")
    assert code == 0
    listed = {e["url"]: e for e in json.loads(out)}
    assert set(listed) == {"https://erp.example.com/api/orders", "https://shop.example.com/hook"}
    erp_entry = listed["https://erp.example.com/api/orders"]
    assert (erp_entry["state"], erp_entry["queued"], erp_entry["id"]) == ("healthy", 3, None)
    assert erp_entry["triggers"] == ["Orders to ERP"]

    code, out, _ = d.run("endpoints", "pause", "https://erp.example.com/api/orders")
    assert code == 0 and "erp.example.com/api/orders paused; 3 waiting item(s)" in out
    code, out, _ = d.run("endpoints", "pause", "https://erp.example.com/api/orders")
    assert code == 0 and "already paused" in out
    with db.session() as s:
        rows = list(s.scalars(select(QueueItemRow).where(QueueItemRow.id.in_(ids))))
        assert all((r.status, r.attempts, r.next_attempt_at) == ("queued", 0, None) for r in rows)

    code, out, _ = d.run("endpoints", "list")
    assert code == 0
    line = next(line for line in out.splitlines() if "erp.example.com" in line)
    endpoint_id = line.split()[0]
    assert line.split()[1] == "paused" and endpoint_id.isdigit()

    code, out, _ = d.run("endpoints", "resume", endpoint_id)
    assert code == 0 and "resumed; 3 waiting item(s) are due now" in out
    with db.session() as s:
        assert all(r.next_attempt_at is not None for r in s.scalars(select(QueueItemRow)))
        audit = [
            (a.action, a.subject_name) for a in s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.id))
        ]
    assert audit[-2:] == [
        ("endpoint.paused", "erp.example.com/api/orders"),
        ("endpoint.resumed", "erp.example.com/api/orders"),
    ]


def test_an_unknown_endpoint_is_said_in_words(make_dir):  # noqa: F811
    d = make_dir()
    d.run("triggers", "list")
    code, out, err = d.run("endpoints", "pause", "https://nowhere.example.com/x")
    assert code == 1 and out == ""
    assert "no action delivers to https://nowhere.example.com/x" in err and "Traceback" not in err
    code, _, err = d.run("endpoints", "resume", "42")
    assert code == 1 and "there is no endpoint 42" in err
