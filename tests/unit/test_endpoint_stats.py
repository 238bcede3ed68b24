"""Endpoint statistics (store/endpoint_stats.py, domain/endpoint_stats.py) on a real SQLite file, attempts
recorded through the engine's record path."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, update

from shopctrl_desktop.domain.endpoint_stats import LATENCY_BOUNDS_MS, Rate, latency_bucket, percentile
from shopctrl_desktop.store.endpoint_stats import (
    circuit_note,
    endpoint_page,
    minute_of,
    minute_series,
    plan_retry_since_outage,
    rebuild_rollup,
    retry_planned,
)
from shopctrl_desktop.store.endpoints import lock_rows, pause_endpoint
from shopctrl_desktop.store.models import AuditEntryRow, EndpointMinuteRow, QueueItemRow, utcnow
from tests.helpers.factories import make_action, record_attempts
from tests.unit.test_cli import make_dir  # noqa: F401 - the fixture

ERP = "https://erp.example.com/api/orders"
SHOP = "https://shop.example.com/hook"


def test_percentiles_come_from_the_buckets():
    hist = [0] * (len(LATENCY_BOUNDS_MS) + 1)
    for ms in [20] * 90 + [900] * 10:
        hist[latency_bucket(ms)] += 1
    assert 15 <= percentile(hist, 0.5) <= 25
    assert 600 <= percentile(hist, 0.95) <= 1000
    assert percentile([0] * len(hist), 0.5) is None
    assert Rate(1000, 1).text() == "99.9 %" and Rate(4, 4).text() == "0 %" and Rate().text() == "—"


def test_page_figures_per_endpoint(db, box):
    erp = make_action(db, box, ERP + "?shop=1", title="Orders to ERP")
    shop = make_action(db, box, SHOP, title="Stock to shop")
    now = utcnow()
    record_attempts(db, erp, [(200, 120.0)] * 6 + [(503, 30.0)] * 2 + [(None, 5000.0)] * 2)
    record_attempts(db, erp, [(200, 100.0)] * 10, started_at=now - timedelta(hours=5))
    record_attempts(db, shop, [(200, 40.0)] * 20)
    quiet = make_action(db, box, "https://quiet.example.com/x")
    record_attempts(db, quiet, [(200, 800.0)] * 4, started_at=now - timedelta(hours=5))
    with db.session() as s:
        page = {e.key: e for e in endpoint_page(s)}
    q = page["https://quiet.example.com/x"]  # nothing in the last hour: latency of the last 24 h
    assert q.hour.text() == "—" and q.day.text() == "100 %" and 600 < q.p50_ms <= 1000
    e = page[ERP]
    assert (e.hour.attempts, e.hour.failures) == (10, 4)
    assert (e.day.attempts, e.day.failures) == (20, 4)
    assert e.hour.text() == "60 %" and e.day.text() == "80 %"
    assert 60 < e.p50_ms <= 150 and e.p95_ms >= 4000
    assert e.summary.triggers == ("Orders to ERP",)
    assert e.summary.retrying == 4  # the failed attempts retry later
    assert (
        e.trend[-1] == Rate(10, 4) and e.trend[-6] == Rate(10, 0) and sum(r.attempts for r in e.trend) == 20
    )
    s_ = page[SHOP]
    assert s_.hour.text() == "100 %" and 25 <= s_.p50_ms <= 40
    data = e.to_json()
    assert data["successRate1h"] == 0.6 and data["attempts24h"] == 20 and json.dumps(data)


def test_minute_series_for_one_endpoint(db, box):
    erp = make_action(db, box, ERP)
    now = utcnow()
    record_attempts(db, erp, [(200, 50.0)] * 3 + [(500, 50.0)], started_at=now - timedelta(minutes=10))
    record_attempts(db, erp, [(200, 50.0)] * 2, started_at=now - timedelta(hours=30))  # outside 24 h
    with db.session() as s:
        series = minute_series(s, ERP, now)
    assert len(series.delivered) == len(series.failed) == 24 * 60
    index = minute_of(now - timedelta(minutes=10)) - minute_of(series.start)
    assert (series.delivered[index], series.failed[index]) == (3, 1)
    assert sum(series.delivered) == 3 and sum(series.failed) == 1


def test_rebuild_from_the_attempt_log_gives_the_same_rollup(db, box):
    erp = make_action(db, box, ERP)
    record_attempts(db, erp, [(200, 50.0), (503, 900.0), (None, 30000.0)])
    with db.session() as s:
        before = sorted(
            (r.endpoint, r.minute, r.attempts, r.failures, r.b00, r.b07, r.b11, r.b18)
            for r in s.scalars(select(EndpointMinuteRow))
        )
        assert rebuild_rollup(s) == 3
    with db.session() as s:
        after = sorted(
            (r.endpoint, r.minute, r.attempts, r.failures, r.b00, r.b07, r.b11, r.b18)
            for r in s.scalars(select(EndpointMinuteRow))
        )
    assert before == after and len(before) == 1 and before[0][2:4] == (3, 2)


def test_retry_since_the_outage_and_the_circuit_note(db, box):
    erp = make_action(db, box, ERP, title="Orders to ERP")
    other = make_action(db, box, SHOP)
    now = utcnow()
    old = record_attempts(db, erp, [(503, 10.0)] * 2)
    new = record_attempts(db, erp, [(503, 10.0)] * 3)
    elsewhere = record_attempts(db, other, [(503, 10.0)])
    outage = now - timedelta(minutes=30)
    with db.session() as s:
        s.execute(update(QueueItemRow).values(status="failed", finished_at=now))
        s.execute(
            update(QueueItemRow)
            .where(QueueItemRow.id.in_(old))
            .values(finished_at=outage - timedelta(hours=2))
        )
        assert circuit_note(s) is None
        row = lock_rows(s, [ERP], create=True, now=now)[ERP]
        row.state, row.failing_since, row.opened_at, row.consecutive_failures = "open", outage, outage, 5
    with db.session() as s:
        plan = plan_retry_since_outage(s, ERP)
        assert plan.since == outage and plan.item_ids == tuple(new)
        note = circuit_note(s)
    assert note is not None and note.name == "erp.example.com/api/orders" and note.waiting == 0
    assert note.text().startswith("erp.example.com/api/orders failing since ")
    with db.session() as s:
        assert retry_planned(s, plan) == 3
    with db.session() as s:
        statuses = dict(s.execute(select(QueueItemRow.id, QueueItemRow.status)).all())
        assert [statuses[i] for i in new] == ["queued"] * 3
        assert [statuses[i] for i in old + elsewhere] == ["failed"] * 3
        assert s.scalars(select(AuditEntryRow.action).order_by(AuditEntryRow.id)).all()[-1] == "items.retried"
        assert circuit_note(s).waiting == 3
        pause_endpoint(s, ERP)
    with db.session() as s:
        assert circuit_note(s) is None  # paused by a person: not an outage note


def test_endpoints_list_shows_the_figures(make_dir):  # noqa: F811
    d = make_dir()
    d.run("triggers", "list")  # creates the database
    db, box = d.open()
    erp = make_action(db, box, ERP, title="Orders to ERP")
    record_attempts(db, erp, [(200, 120.0)] * 3 + [(503, 30.0)])
    code, out, _ = d.run("endpoints", "list", "--json")
    assert code == 0
    (entry,) = json.loads(out)
    assert entry["successRate1h"] == 0.75 and entry["successRate24h"] == 0.75
    assert entry["attempts1h"] == 4 and entry["retrying"] == 1 and entry["state"] == "healthy"
    assert 60 <= entry["latencyP50Ms"] <= 150 and entry["triggers"] == ["Orders to ERP"]
    code, out, _ = d.run("endpoints", "list")
    header, line = out.splitlines()[:2]
    assert header.split()[:6] == ["ID", "STATE", "URL", "OK", "1H", "OK"]
    assert "75 %" in line and "Orders to ERP" in line and " ms / " in line
