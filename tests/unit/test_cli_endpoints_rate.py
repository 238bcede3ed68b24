"""``endpoints rate-limit ID|URL RATE|--off`` and the limit in ``endpoints list`` (in-process, real SQLite)."""

from __future__ import annotations

import json

from sqlalchemy import select

from shopctrl_desktop.store.models import AuditEntryRow, EndpointRow
from tests.helpers.factories import make_action
from tests.unit.test_cli import make_dir  # noqa: F401 - the fixture

ERP = "https://erp.example.com/api/orders"


def test_set_show_change_and_remove_a_rate_limit(make_dir):  # noqa: F811
    d = make_dir()
    d.run("triggers", "list")  # creates the database
    db, box = d.open()
    make_action(db, box, "https://ERP.example.com:443/api/orders?token=1", title="Orders to ERP")
    make_action(db, box, "https://shop.example.com/hook", title="Orders to shop")

    code, out, _ = d.run("endpoints", "rate-limit", "https://erp.example.com/api/orders?shop=2", "20")
    assert code == 0 and "erp.example.com/api/orders: at most 20/s (one request every 0.05 s)" in out
    code, out, _ = d.run("endpoints", "list", "--json")
    listed = {e["url"]: e for e in json.loads(out)}
    assert listed[ERP]["rateLimit"] == 20.0 and listed["https://shop.example.com/hook"]["rateLimit"] is None
    endpoint_id = listed[ERP]["id"]
    assert isinstance(endpoint_id, int)

    code, out, _ = d.run("endpoints", "list")
    header, *lines = out.splitlines()
    assert "RATE LIMIT" in header
    erp_line = next(line for line in lines if "erp.example.com" in line)
    assert erp_line.rstrip().endswith("20/s")
    assert not next(line for line in lines if "shop.example.com" in line).rstrip().endswith("/s")

    code, out, _ = d.run("endpoints", "rate-limit", str(endpoint_id), "0,5")
    assert code == 0 and "at most 0.5/s (one request every 2 s)" in out
    code, out, _ = d.run("endpoints", "rate-limit", str(endpoint_id), "0.5")
    assert code == 0 and "already has the rate limit 0.5/s" in out
    code, out, _ = d.run("endpoints", "rate-limit", ERP, "--off")
    assert code == 0 and "rate limit removed (was 0.5/s)" in out
    code, out, _ = d.run("endpoints", "rate-limit", ERP, "--off")
    assert code == 0 and "already has no rate limit" in out

    with db.session() as s:
        assert s.scalar(select(EndpointRow.rate_limit).where(EndpointRow.url == ERP)) is None
        audit = [
            (a.action, a.subject_name, json.loads(a.changes_json))
            for a in s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.id))
            if a.action == "endpoint.rateLimited"
        ]
    assert [(action, name) for action, name, _ in audit] == [
        ("endpoint.rateLimited", "erp.example.com/api/orders")
    ] * 3
    first, last = audit[0][2], audit[2][2]
    assert [(c["field"], c.get("old"), c.get("new")) for c in first] == [("rateLimit", None, 20.0)], first
    assert [(c["field"], c.get("old"), c.get("new")) for c in last] == [("rateLimit", 0.5, None)], last


def test_bad_input_is_said_in_words_with_a_failing_exit_code(make_dir):  # noqa: F811
    d = make_dir()
    d.run("triggers", "list")
    db, box = d.open()
    make_action(db, box, ERP)
    for args, words in (
        ((ERP, "0"), "must be a number of requests per second above 0"),
        ((ERP, "-3"), "must be a number of requests per second above 0"),
        ((ERP, "fast"), "'fast' is not a number of requests per second"),
        ((ERP, "50000"), "between 0.01 and 10,000 requests per second"),
        ((ERP,), "give either a rate"),
        ((ERP, "5", "--off"), "give either a rate"),
    ):
        code, out, err = d.run("endpoints", "rate-limit", *args)
        assert code == 2 and out == "" and words in err and "Traceback" not in err, (args, err)
    code, _, err = d.run("endpoints", "rate-limit", "https://nowhere.example.com/x", "5")
    assert code == 1 and "no action delivers to https://nowhere.example.com/x" in err
    with db.session() as s:
        assert s.scalar(select(EndpointRow.rate_limit)) is None
        assert not [a for a in s.scalars(select(AuditEntryRow)) if a.action == "endpoint.rateLimited"]
