"""Claiming and recording, on SQLite and on a real PostgreSQL (started for the test when the server
binaries are installed): order, due times, per-host room, lease recovery, and concurrent claimers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from shopctrl_desktop.domain.outcome import AttemptResult
from shopctrl_desktop.domain.retry import RetryPolicy
from shopctrl_desktop.store import claim as claims
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import AlertRow, DeliveryAttemptRow, QueueItemRow, utcnow
from tests.helpers.factories import add_items, item_row, make_action
from tests.helpers.postgres import PostgresCluster, throwaway_postgres


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-") as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def anydb(request, app_paths):
    if request.param == "sqlite":
        database = Database(f"sqlite:///{app_paths.data_dir / 'claim.sqlite3'}")
    else:
        database = request.getfixturevalue("postgres").new_database()
    yield database
    database.dispose()


def _claim(db, owner="A", limit=100, lease=30.0, **kw):
    with db.session() as s:
        return claims.claim_due(s, owner, limit, utcnow(), lease, **kw)


def _ok(status=200, body="ok", headers=None):
    return AttemptResult(
        started_at=utcnow(),
        duration_ms=1.0,
        status_code=status,
        response_headers=headers or {"Content-Type": "text/plain"},
        response_body=body,
    )


def test_claim_order_due_times_and_lease(anydb, box):
    action = make_action(anydb, box, "http://a.example/hook")
    low = add_items(anydb, action, 2, priority=2)
    high = add_items(anydb, action, 2, priority=5)
    later = add_items(anydb, action, 1, priority=5, next_attempt_at=utcnow() + timedelta(hours=1))
    with anydb.session() as s:  # a retry that is due counts too
        s.execute(update(QueueItemRow).where(QueueItemRow.id == low[1]).values(status="retrying", attempts=1))
    got = _claim(anydb)
    assert [i.id for i in got] == high + low
    assert later[0] not in [i.id for i in got]
    row = item_row(anydb, high[0])
    assert row.status == "sending" and row.lease_owner == "A" and row.lease_expires_at > utcnow()
    assert _claim(anydb, owner="B") == []  # nothing is claimed twice


def test_per_host_room(anydb, box):
    a = make_action(anydb, box, "http://a.example/hook")
    b = make_action(anydb, box, "http://b.example:8080/hook")
    add_items(anydb, a, 10, priority=5)
    b_ids = add_items(anydb, b, 10, priority=1)
    got = _claim(anydb, per_host=3, host_in_hand={"a.example": 3})
    assert [i.id for i in got] == b_ids[:3]
    assert {i.host for i in got} == {"b.example:8080"}


def test_expired_lease_is_recovered_and_the_old_owner_loses_it(anydb, box):
    action = make_action(anydb, box, "http://a.example/hook")
    (item_id,) = add_items(anydb, action)
    (mine,) = _claim(anydb, owner="A", lease=-1.0)  # the lease has already run out (a killed engine)
    (theirs,) = _claim(anydb, owner="B")
    assert theirs.id == mine.id == item_id
    with anydb.session() as s:
        result = claims.record_outcomes(s, "A", [(mine, _ok())], RetryPolicy())
    assert result.lost == [item_id] and result.changes == []
    assert item_row(anydb, item_id).status == "sending"  # still B's
    with anydb.session() as s:
        result = claims.record_outcomes(s, "B", [(theirs, _ok())], RetryPolicy())
    assert [c.status for c in result.changes] == ["delivered"]
    with anydb.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(DeliveryAttemptRow)) == 2
        )  # both attempts are on record


def test_record_outcomes_statuses_times_and_alerts(anydb, box):
    action = make_action(anydb, box, "http://a.example/hook", title="ERP")
    add_items(anydb, action, 4)
    items = _claim(anydb)
    policy = RetryPolicy(kind="custom", delays=(60.0,), max_retries=10)
    outcomes = [
        (items[0], _ok()),
        (items[1], _ok(500, "boom")),
        (items[2], _ok(410, "gone")),
        (items[3], _ok(429, "slow", {"Retry-After": "600"})),
    ]
    with anydb.session() as s:
        result = claims.record_outcomes(s, "A", outcomes, policy)
    assert [c.status for c in result.changes] == ["delivered", "retrying", "failed", "retrying"]
    assert len(result.alerts) == 1
    rows = [item_row(anydb, i.id) for i in items]
    assert rows[0].finished_at is not None and rows[0].response_status == 200 and rows[0].lease_owner is None
    assert 55 <= (rows[1].next_attempt_at - rows[1].last_attempt_at).total_seconds() <= 65
    assert rows[1].response_message.startswith("HTTP 500 Internal Server Error: boom")
    assert rows[2].next_attempt_at is None and rows[2].status == "failed"
    assert 595 <= (rows[3].next_attempt_at - rows[3].last_attempt_at).total_seconds() <= 610
    with anydb.session() as s:
        alert = s.scalars(select(AlertRow)).one()
        assert alert.item_id == items[2].id and "ERP" in alert.title and "410" in alert.message


def test_concurrent_claimers_never_share_an_item(anydb, box):
    action = make_action(anydb, box, "http://a.example/hook")
    ids = set(add_items(anydb, action, 300))
    taken: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def claimer(owner: str) -> None:
        try:
            mine = taken.setdefault(owner, [])
            while True:
                got = _claim(anydb, owner=owner, limit=7)
                if not got:
                    return
                mine.extend(i.id for i in got)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(f"engine-{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    everything = [i for got in taken.values() for i in got]
    assert len(everything) == len(set(everything)) == len(ids)
    assert set(everything) == ids


async def test_two_engines_on_one_database_send_each_item_once(anydb, box):
    from tests.helpers.engine_harness import fast_settings, running_engine
    from tests.helpers.receivers import Receiver

    receiver = await Receiver().start()
    try:
        action = make_action(anydb, box, receiver.url())
        ids = add_items(anydb, action, 120)
        settings = fast_settings(concurrency=4, per_host_concurrency=4)
        async with running_engine(anydb, box, settings) as (_one, first):
            async with running_engine(anydb, box, settings) as (_two, second):
                await receiver.wait_for(len(ids), timeout=30)
        sent = [int(r.header("X-ShopCtrl-Delivery")) for r in receiver.requests]
        assert sorted(sent) == ids  # every item once, none twice
        assert first.changes and second.changes  # both engines took part
    finally:
        await receiver.stop()
    with anydb.session() as s:
        assert s.scalar(select(func.count()).where(QueueItemRow.status == "delivered")) == len(ids)


def test_record_many_outcomes_keeps_every_value(anydb, box):
    """More outcomes than one statement takes (SQLite sends them as multi-row VALUES lists padded to a few
    sizes): every attempt and item update lands once, with its exact values; padding adds nothing."""
    action = make_action(anydb, box, "http://a.example/hook")
    add_items(anydb, action, 700)
    items = _claim(anydb, limit=700)
    assert len(items) == 700
    outcomes = []
    for n, item in enumerate(items):
        if n % 7 == 3:
            res = AttemptResult(started_at=utcnow(), duration_ms=30000.0, error=f"timed out after 30 s #{n}")
        else:
            body = f'{{"n": {n}, "quote": "\\"", "text": "Grüße 😀 \'x\'"}}'
            res = _ok(200 if n % 2 else 503, body, {"Content-Type": "application/json", "X-N": str(n)})
        outcomes.append((item, res))
    with anydb.session() as s:
        result = claims.record_outcomes(s, "A", outcomes, RetryPolicy())
    assert len(result.changes) == 700 and not result.lost
    with anydb.session() as s:
        attempts = {a.item_id: a for a in s.scalars(select(DeliveryAttemptRow))}
        rows = {r.id: r for r in s.scalars(select(QueueItemRow))}
    assert len(attempts) == 700
    for (item, res), change in zip(outcomes, result.changes, strict=True):
        attempt, row = attempts[item.id], rows[item.id]
        assert attempt.number == 1 and attempt.status_code == res.status_code and attempt.error == res.error
        assert attempt.response_body == res.response_body
        assert attempt.duration_ms == res.duration_ms
        assert abs((attempt.started_at - res.started_at).total_seconds()) < 1e-3
        if res.status_code is None:
            assert attempt.response_headers_json is None
        else:
            assert json.loads(attempt.response_headers_json) == res.response_headers
        assert row.status == change.status and row.attempts == 1 and row.lease_owner is None
        assert row.response_status == res.status_code and row.response_message == change.message
        assert row.status == ("delivered" if res.ok else "retrying")


def test_record_outcomes_where_a_whole_column_is_empty(anydb, box):
    """Every attempt a connection error: status code, headers, body and finish time are NULL in every row
    of the group (on PostgreSQL each column travels as one array; an array of only NULLs must still land)."""
    action = make_action(anydb, box, "http://a.example/hook")
    add_items(anydb, action, 3)
    items = _claim(anydb)
    outcomes = [
        (item, AttemptResult(started_at=utcnow(), duration_ms=1.5, error="connection refused"))
        for item in items
    ]
    with anydb.session() as s:
        result = claims.record_outcomes(s, "A", outcomes, RetryPolicy(kind="custom", delays=(60.0,)))
    assert [c.status for c in result.changes] == ["retrying"] * 3
    with anydb.session() as s:
        attempts = list(s.scalars(select(DeliveryAttemptRow)))
        rows = list(s.scalars(select(QueueItemRow)))
    assert len(attempts) == 3 and all(a.status_code is None and a.response_body is None for a in attempts)
    assert all(a.error == "connection refused" and a.duration_ms == 1.5 for a in attempts)
    assert all(r.status == "retrying" and r.finished_at is None and r.response_status is None for r in rows)
    assert all(r.attempts == 1 and r.lease_owner is None and r.next_attempt_at is not None for r in rows)
