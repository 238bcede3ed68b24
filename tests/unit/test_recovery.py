"""Recovery tools (SPEC §11, issue 12 item 5): bulk retry of failed items with since/endpoint filters and a
dry run (store and CLI), the chunked bulk runner (retry, cancel, resend; progress, cancel between chunks,
audit per chunk), and a manual retry that starts the retry schedule afresh — through the real engine and a
real HTTP server on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from shopctrl_desktop.domain.breaker import endpoint_key
from shopctrl_desktop.store import queue
from shopctrl_desktop.store.alerts import list_alerts
from shopctrl_desktop.store.bulk import BulkOperation, run_in_chunks
from shopctrl_desktop.store.models import AuditEntryRow, QueueItemRow, utcnow
from tests.helpers.engine_harness import fast_settings, running_engine
from tests.helpers.factories import add_items, make_action
from tests.helpers.receivers import Receiver, sequence
from tests.unit.test_cli import make_dir  # noqa: F401 - the fixture


def fail(db, ids, *, finished_ago: float = 0.0, attempts: int = 11) -> None:
    with db.session() as s:
        s.execute(
            update(QueueItemRow)
            .where(QueueItemRow.id.in_(ids))
            .values(
                status="failed",
                attempts=attempts,
                finished_at=utcnow() - timedelta(seconds=finished_ago),
                next_attempt_at=None,
            )
        )


def statuses(db, ids) -> dict[int, str]:
    with db.session() as s:
        rows = s.execute(select(QueueItemRow.id, QueueItemRow.status).where(QueueItemRow.id.in_(ids)))
        return {item_id: status for item_id, status in rows}


def audit_actions(db) -> list[tuple[str, str]]:
    """The audit entries of queue items (not the triggers the test made)."""
    with db.session() as s:
        rows = s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.id))
        return [(r.action, r.subject_name) for r in rows if r.action.startswith("item")]


def two_endpoints(db, box):
    erp = make_action(db, box, "https://erp.example/api/orders", title="Orders to ERP")
    shop = make_action(db, box, "https://shop.example:8443/hook", title="Orders to shop")
    old = add_items(db, erp, 3)
    recent_erp = add_items(db, erp, 4)
    recent_shop = add_items(db, shop, 2)
    waiting = add_items(db, erp, 1)
    fail(db, old, finished_ago=3 * 3600)
    fail(db, recent_erp + recent_shop, finished_ago=60)
    return old, recent_erp, recent_shop, waiting


def test_retry_failed_filters_by_since_and_endpoint_and_dry_run_changes_nothing(db, box):
    old, recent_erp, recent_shop, waiting = two_endpoints(db, box)
    erp_key, shop_key = "https://erp.example/api/orders", "https://shop.example:8443/hook"
    since = utcnow() - timedelta(hours=1)
    with db.session() as s:
        counts = queue.retry_failed(s, dry_run=True)
        assert counts == {erp_key: 7, shop_key: 2} and counts.total == 9
        assert queue.retry_failed(s, since=since, dry_run=True) == {erp_key: 4, shop_key: 2}
        # any URL of the endpoint: other case, default port, a query
        assert queue.retry_failed(s, endpoint="HTTPS://ERP.example:443/api/orders?x=1", dry_run=True) == {
            erp_key: 7
        }
    assert set(statuses(db, old + recent_erp + recent_shop).values()) == {"failed"}
    assert audit_actions(db) == []  # a dry run records nothing

    with db.session() as s:
        counts = queue.retry_failed(s, since=since, endpoint="https://erp.example/api/orders")
    assert counts == {erp_key: 4}
    after = statuses(db, old + recent_erp + recent_shop + waiting)
    assert [after[i] for i in recent_erp] == ["queued"] * 4
    assert {after[i] for i in old + recent_shop} == {"failed"} and after[waiting[0]] == "queued"
    assert audit_actions(db) == [("items.retried", "4 failed items")]


def test_cli_queue_retry_failed_dry_run_and_filters(make_dir):  # noqa: F811
    d = make_dir()
    d.run("triggers", "list")  # creates the database
    db, box = d.open()
    _old, recent_erp, recent_shop, _ = two_endpoints(db, box)
    since = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    code, out, _ = d.run("queue", "retry", "--failed", "--since", since, "--dry-run")
    assert code == 0 and "dry run: 6 failed item(s)" in out and "nothing changed" in out
    assert "erp.example/api/orders" in out and "shop.example:8443/hook" in out
    assert set(statuses(db, recent_erp + recent_shop).values()) == {"failed"}

    code, out, _ = d.run("queue", "retry", "--failed", "--endpoint", "https://shop.example:8443/hook")
    assert code == 0 and "2 failed item(s) to https://shop.example:8443/hook queued again" in out
    assert set(statuses(db, recent_shop).values()) == {"queued"}

    code, _, err = d.run("queue", "retry", "--failed", "--since", "yesterday")
    assert code != 0 and "is not a time" in err and "Traceback" not in err
    code, _, err = d.run("queue", "retry", "5", "--dry-run")
    assert code != 0 and "go with --failed" in err


def test_cli_refuses_in_words_to_retry_a_superseded_item(make_dir):  # noqa: F811
    d = make_dir()
    d.run("triggers", "list")
    db, box = d.open()
    action = make_action(db, box, "https://erp.example/api", unique_queue_items=True)
    older, newer = add_items(db, action, 2)
    with db.session() as s:
        s.execute(update(QueueItemRow).values(unique_key="1:Order:1001"))
        s.execute(update(QueueItemRow).where(QueueItemRow.id == older).values(status="cancelled"))
        s.execute(update(QueueItemRow).where(QueueItemRow.id == newer).values(status="retrying", attempts=2))
    code, _, err = d.run("queue", "retry", str(older))
    assert code == 1 and f"item {older} is superseded by #{newer}" in err and "Traceback" not in err
    code, out, _ = d.run("queue", "retry", str(newer))
    assert code == 0 and "fresh retry schedule" in out


def test_bulk_runner_works_in_chunks_reports_progress_and_stops_when_cancelled(db, box):
    action = make_action(db, box, "https://erp.example/api")
    ids = add_items(db, action, 25)
    fail(db, ids[:20])
    reports: list[tuple[int, int]] = []

    def cancel_after_two() -> bool:
        return len(reports) >= 2

    result = run_in_chunks(
        db,
        BulkOperation.RETRY_FAILED,
        ids,
        chunk_size=5,
        progress=lambda d, t: reports.append((d, t)),
        cancelled=cancel_after_two,
    )
    assert result.cancelled and reports == [(5, 25), (10, 25)] and result.changed == ids[:10]
    assert [statuses(db, ids)[i] for i in ids[:12]] == ["queued"] * 10 + ["failed"] * 2
    assert audit_actions(db) == [("items.retried", "5 items")] * 2  # one entry per chunk that was done

    result = run_in_chunks(db, BulkOperation.CANCEL, ids, chunk_size=10)
    assert not result.cancelled and result.processed == 25
    assert len(result.changed) == 15 and result.skipped == 10  # the 10 failed ones cannot be cancelled
    result = run_in_chunks(db, BulkOperation.RESEND, ids[:3], chunk_size=2)
    assert len(result.new_ids) == 3 and min(result.new_ids) > max(ids)
    assert set(statuses(db, result.new_ids).values()) == {"queued"}
    assert [a for a in audit_actions(db) if a[0] != "items.retried"] == [
        ("items.cancelled", "10 items"),
        ("items.cancelled", "5 items"),
        ("items.resent", "2 items"),
        ("items.resent", "1 item"),
    ]


async def test_a_manual_retry_of_a_failed_item_starts_its_retry_schedule_afresh(db, box):
    # 11 failures use up the schedule (1 try + 10 retries); after the manual retry 5 more fail, then it works
    receiver = await Receiver(responder=sequence(*([500] * 16), 200)).start()
    try:
        action = make_action(db, box, receiver.url())
        [item] = add_items(db, action, 1)
        settings = fast_settings(
            circuit_failures=1000
        )  # this test is about the retry schedule, not the breaker
        async with running_engine(db, box, settings) as (engine, observer):
            await observer.wait_until(lambda: observer.status.get(item) == "failed")
            assert len(receiver.requests) == 11
            with db.session() as s:
                assert queue.retry_item(s, item)
            observer.status.pop(item)
            engine.wake()
            await observer.wait_until(lambda: observer.status.get(item) in ("delivered", "failed"))
        assert observer.status[item] == "delivered"  # before the fix: failed after one more try
        assert len(receiver.requests) == 17
        with db.session() as s:
            row = s.get(QueueItemRow, item)
            assert row.attempts == 17 and row.round_start_attempts == 11
            assert [a.number for a in queue.attempts_for(s, item)] == list(range(1, 18))  # the log counts on
    finally:
        await receiver.stop()


async def test_a_manual_retry_gives_up_after_a_full_schedule_again(db, box):
    receiver = await Receiver(responder=sequence(500)).start()
    try:
        action = make_action(db, box, receiver.url())
        [item] = add_items(db, action, 1)
        async with running_engine(db, box, fast_settings(circuit_failures=1000)) as (engine, observer):
            await observer.wait_until(lambda: observer.status.get(item) == "failed")
            with db.session() as s:
                assert queue.retry_item(s, item)
            observer.status.pop(item)
            engine.wake()
            await observer.wait_until(lambda: observer.status.get(item) == "failed")
        assert len(receiver.requests) == 22
        with db.session() as s:
            assert s.get(QueueItemRow, item).attempts == 22
        assert observer.alerts[-1][1] == "error"
        with db.session() as s:
            last = list_alerts(s, limit=1)[0]
        assert "gave up after 11 attempts (10 retries) since it was retried by hand" in last.message
    finally:
        await receiver.stop()


def test_endpoint_key_is_what_retry_failed_groups_by(db, box):
    action = make_action(db, box, "http://127.0.0.1:9/x?token=1")
    ids = add_items(db, action, 2)
    fail(db, ids)
    with db.session() as s:
        assert queue.retry_failed(s, dry_run=True) == {endpoint_key("http://127.0.0.1:9/x"): 2}
