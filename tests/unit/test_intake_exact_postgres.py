"""Event ids and "Queue items must be unique" are exact across engines on one PostgreSQL database: intake
transactions on separate connections that carry the same event ids or unique keys at the same moment are
serialised by the database (advisory locks, store/ingest_sql.py IntakeSql.lock_keys), never both stored."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.domain.queue import WAITING_STATUSES, status_values
from shopctrl_desktop.store import ingest_sql
from shopctrl_desktop.store.ingest import IngestResult, enqueue_batches, enqueue_events
from shopctrl_desktop.store.triggers import save_trigger
from tests.helpers.postgres import PostgresCluster, throwaway_postgres
from tests.unit.test_queue_store import order_event


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-exact-") as cluster:
        yield cluster


@pytest.fixture
def pg(postgres: PostgresCluster):
    database = postgres.new_database()
    yield database
    database.dispose()


@pytest.fixture
def two_actions(pg, box) -> None:
    """ERP: unique queue items; Log: one item per event."""
    with pg.session() as s:
        for title, unique in (("ERP", True), ("Log", False)):
            action = WebhookAction(url=f"https://{title.lower()}.example/hook", unique_queue_items=unique)
            save_trigger(s, box, Trigger(title=title, event="OrderChanged", actions=(action,)))


def _wait_for_lock_waiter(pg, wait_event: str, timeout: float = 10.0) -> None:
    """Until a backend waits for a heavyweight lock of this kind (the second intake waiting for the first:
    ``advisory``, or ``transactionid`` for a row the first inserted); fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = :wait_event"
    )
    while time.monotonic() < deadline:
        with pg.engine.connect() as conn:
            if conn.execute(query, {"wait_event": wait_event}).scalar():
                return
        time.sleep(0.01)  # polling a condition, not waiting a fixed time
    raise AssertionError(f"the second intake never waited for the first one ({wait_event} lock)")


def _run_in_thread(target) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = target()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _items(pg) -> list[tuple]:
    with pg.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT trigger_title, unique_key, status, skipped_count, event_id FROM queue_items ORDER BY id"
            )
        ).all()


@pytest.mark.usefixtures("two_actions")
@pytest.mark.parametrize(
    ("second_event", "wait_event"),
    [
        (order_event(1, ext="a", shop=None), "advisory"),
        (order_event(1, ext="b", shop=None), "advisory"),
        (order_event(2, ext="b", shop=7), "transactionid"),
    ],
    ids=["same-event-id", "same-unique-key", "same-new-shop"],
)
def test_a_second_intake_waits_for_the_first_then_counts_on_it(pg, box, second_event, wait_event) -> None:
    """The first transaction stays open; the second (another connection, another engine) must wait for it
    and then see its event (a duplicate, with the stored id), its waiting item (which takes the payload)
    or the shop it learned (kept, not inserted twice)."""
    with pg.session() as first_session:
        first = enqueue_events(
            first_session, box, [order_event(1, ext="a", shop=7 if wait_event == "transactionid" else None)]
        )

        def second_intake() -> IngestResult:
            with pg.session() as s:
                return enqueue_events(s, box, [second_event])

        thread, outcome = _run_in_thread(second_intake)
        _wait_for_lock_waiter(pg, wait_event)
    thread.join(timeout=30)
    assert not thread.is_alive() and "error" not in outcome, outcome.get("error")
    second: IngestResult = outcome["result"]

    assert (first.accepted, first.queued) == (1, 2)
    items = _items(pg)
    erp = [i for i in items if i.trigger_title == "ERP"]
    with pg.engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT external_id, id FROM events")).all())
        shops = conn.execute(text("SELECT id, name FROM shops")).all()
    if second_event.external_id == "a":  # acknowledged as a duplicate with the id stored first
        assert (second.accepted, second.duplicates, second.queued) == (0, 1, 0)
        assert second.event_ids == first.event_ids == [stored["a"]]
        assert len(items) == 2 and len(erp) == 1 and erp[0].skipped_count == 0
    elif second_event.entity_id == "1":  # a new event for the same order: the waiting ERP item takes it
        assert (second.accepted, second.duplicates, second.queued) == (1, 0, 1)  # Log's own item
        assert second.updated_item_ids == [first.new_item_ids[0]] and second.event_ids == [stored["b"]]
        assert len(erp) == 1 and erp[0].skipped_count == 1 and erp[0].event_id == stored["b"]
        assert erp[0].status in status_values(WAITING_STATUSES) and len(items) == 3
    else:  # another order of the shop the first intake has just learned
        assert (second.accepted, second.duplicates, second.queued) == (1, 0, 2)
        assert shops == [(7, "Shop 7")] and len(items) == 4


@pytest.mark.usefixtures("two_actions")
@pytest.mark.parametrize(
    "max_key_locks",
    [ingest_sql.MAX_KEY_LOCKS, 175, 8],
    ids=["per-key", "whole-class-and-per-key", "whole-class"],
)
def test_two_engines_taking_the_same_events_at_once_store_each_once(
    pg, box, monkeypatch, max_key_locks
) -> None:
    """Two connections take the same events at the same moment, in opposite orders and cut into different
    requests (200 events on one side, 150 of them on the other): each id stored once, one waiting ERP item
    per order that accounts for every event of that order, one Log item per stored event, and the answers
    add up. A group with more keys than MAX_KEY_LOCKS locks the whole class instead (175: the 200-event
    side does, the other locks its ids one by one; 8: both sides, for ids and unique keys)."""
    monkeypatch.setattr(ingest_sql, "MAX_KEY_LOCKS", max_key_locks)
    rounds, per_round, overlap, orders = 5, 200, 150, 10
    for round_no in range(rounds):
        events = [order_event(round_no * 100 + i % orders, ext=f"r{round_no}-e{i}") for i in range(per_round)]
        forward = [events[i : i + 50] for i in range(0, per_round, 50)]
        backward = [events[::-1][i : i + 30] for i in range(0, overlap, 30)]
        start = threading.Barrier(2)

        def intake(batches, start=start):
            def run() -> list[IngestResult]:
                with pg.session() as s:
                    start.wait(timeout=10)
                    return enqueue_batches(s, box, batches)

            return run

        runs = [_run_in_thread(intake(batches)) for batches in (forward, backward)]
        answers: list[tuple[list, list[IngestResult]]] = []
        for (thread, outcome), batches in zip(runs, (forward, backward), strict=True):
            thread.join(timeout=60)
            assert not thread.is_alive() and "error" not in outcome, outcome.get("error")
            answers.append((batches, outcome["result"]))

        ids_seen: dict[str, set[int]] = {}
        accepted = duplicates = queued = 0
        for batches, results in answers:
            for batch, result in zip(batches, results, strict=True):
                assert result.accepted + result.duplicates == len(batch) == len(result.event_ids)
                accepted, duplicates, queued = (
                    accepted + result.accepted,
                    duplicates + result.duplicates,
                    queued + result.queued,
                )
                for event, event_id in zip(batch, result.event_ids, strict=True):
                    ids_seen.setdefault(event.external_id, set()).add(event_id)
        assert accepted == per_round and duplicates == overlap  # each event new on exactly one side
        assert all(len(ids) == 1 for ids in ids_seen.values()) and len(ids_seen) == per_round
        assert queued == per_round + orders  # one Log item per event, one ERP item per order

    with pg.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), count(DISTINCT external_id) FROM events")).one() == (
            rounds * per_round,
            rounds * per_round,
        )
    items = _items(pg)
    assert Counter(i.trigger_title for i in items) == {"Log": rounds * per_round, "ERP": rounds * orders}
    erp = [i for i in items if i.trigger_title == "ERP"]
    assert len({i.unique_key for i in erp}) == len(erp)  # at most one (waiting) item per key
    assert {i.status for i in erp} <= set(status_values(WAITING_STATUSES))
    assert all(i.skipped_count + 1 == per_round // orders for i in erp)  # every event folded in once
