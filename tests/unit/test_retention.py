"""Retention (issue 13 item 1): finished items go after their period with their attempts, then the event
snapshots no item refers to; waiting items and recent ones stay; `purge --dry-run` says exactly what a purge
deletes; a new SQLite file gives the space back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from shopctrl_desktop.cli import main
from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.domain.retention import cutoffs
from shopctrl_desktop.engine.retention_task import purge_once
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import DeliveryAttemptRow, EventRow, QueueItemRow
from shopctrl_desktop.store.retention import count_due, purge_batch

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
OLD, RECENT = NOW - timedelta(days=40), NOW - timedelta(days=10)
VERY_OLD = NOW - timedelta(days=100)


def add(
    session, status: ItemStatus, finished: datetime | None, *, event: EventRow | None = None
) -> QueueItemRow:
    if event is None:
        event = EventRow(
            event="OrderChanged",
            occurred_at=finished or NOW,
            received_at=(finished or NOW) - timedelta(seconds=1),
            entity_type="Order",
            entity_data_json=json.dumps({"Email": "ann@example.com"}),
        )
        session.add(event)
        session.flush()
    item = QueueItemRow(
        event_id=event.id,
        status=status.value,
        url="https://erp.example/hook",
        finished_at=finished,
        attempts=1,
    )
    session.add(item)
    session.flush()
    session.add(DeliveryAttemptRow(item_id=item.id, number=1, started_at=finished or NOW, response_body="ok"))
    return item


def fill(db: Database) -> dict[str, int]:
    with db.session() as s:
        ids = {
            "old delivered": add(s, ItemStatus.DELIVERED, OLD).id,
            "old cancelled": add(s, ItemStatus.CANCELLED, OLD).id,
            "recent delivered": add(s, ItemStatus.DELIVERED, RECENT).id,
            "old failed": add(s, ItemStatus.FAILED, OLD).id,  # failed are kept 90 days
            "very old failed": add(s, ItemStatus.FAILED, VERY_OLD).id,
            "old retrying": add(s, ItemStatus.RETRYING, None).id,
        }
        shared = add(s, ItemStatus.DELIVERED, OLD)  # its event is also a waiting item's: the event stays
        add(s, ItemStatus.QUEUED, None, event=s.get(EventRow, shared.event_id))
        ids["shared"] = shared.id
        lone = EventRow(event="OrderChanged", occurred_at=OLD, received_at=OLD, entity_type="Order")
        s.add(lone)  # an old event no trigger matched
    return ids


def count(db: Database, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_cutoffs() -> None:
    cut = cutoffs(NOW, 30, 90)
    assert cut.by_status[ItemStatus.DELIVERED] == NOW - timedelta(days=30) == cut.events_before
    assert cut.by_status[ItemStatus.FAILED] == NOW - timedelta(days=90)
    assert ItemStatus.RETRYING not in cut.by_status and ItemStatus.QUEUED not in cut.by_status
    assert not cutoffs(NOW, 0, 0).any


def test_purge_deletes_exactly_what_is_due_and_the_dry_run_said_so(db) -> None:
    ids = fill(db)
    cut = cutoffs(NOW, 30, 90)
    with db.sessions() as s:
        due = count_due(s, cut)
    assert due.by_status == {"delivered": 2, "cancelled": 1, "failed": 1}
    assert (due.items, due.attempts) == (4, 4)
    events_before = count(db, EventRow)
    total_items = 0
    while True:
        with db.session() as s:
            done = purge_batch(s, cut, batch=2)  # several small batches
        if done.nothing:
            break
        total_items += done.items
    assert total_items == 4
    with db.session() as s:
        left = set(s.scalars(select(QueueItemRow.id)))
    assert (
        ids["old delivered"] not in left and ids["very old failed"] not in left and ids["shared"] not in left
    )
    assert {ids["recent delivered"], ids["old failed"], ids["old retrying"]} <= left
    assert count(db, DeliveryAttemptRow) == len(left)
    # gone: the events of the 4 purged items except the shared one, and the lone old event
    assert count(db, EventRow) == events_before - due.events
    assert due.events == 4


def test_the_engines_turn_purges_everything_due_and_stops_when_asked(db) -> None:
    fill(db)
    assert purge_once(db, Settings(), NOW, stop=lambda: True).nothing  # asked to stop before the first batch
    done = purge_once(db, Settings(keep_delivered_days=30, keep_failed_days=90), NOW)
    assert (done.items, done.events) == (4, 4)
    assert purge_once(db, Settings(), NOW).nothing


def test_purge_command_dry_run_changes_nothing_and_a_new_file_gives_space_back(tmp_path, capsys) -> None:
    paths = resolve_paths(tmp_path / "data").ensure()
    db = Database(f"sqlite:///{paths.database_file}")
    with db.sessions() as s:
        assert s.scalar(text("PRAGMA auto_vacuum")) == 2  # INCREMENTAL from the start
    with db.session() as s:
        for _ in range(300):  # ~3 MB of old customer data
            item = add(s, ItemStatus.DELIVERED, datetime.now(UTC) - timedelta(days=60))
            item.body = "x" * 10_000
    db.dispose()
    size = paths.database_file.stat().st_size
    assert main(["--data-dir", str(paths.data_dir), "purge", "--dry-run"]) == 0
    assert "would delete 300 delivered (300 attempts) and 300 event snapshots" in capsys.readouterr().out
    assert count(Database(f"sqlite:///{paths.database_file}"), QueueItemRow) == 300
    assert main(["--data-dir", str(paths.data_dir), "purge"]) == 0
    assert "deleted 300 delivered" in capsys.readouterr().out
    assert paths.database_file.stat().st_size < size / 2


def test_a_batch_walks_the_index_and_never_sorts_every_due_item(db) -> None:
    """With a million items due, a batch that sorted every due id took 0.7 s (benchmarks/purge.py): each
    query a batch makes must stop after the batch's rows — no temporary B-tree for an ORDER BY."""
    from sqlalchemy import event

    fill(db)
    selects: list[tuple[str, tuple]] = []

    def remember(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        with db.session() as s:
            done = purge_batch(s, cutoffs(NOW, 30, 90), batch=2)
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    assert done.items == 2
    id_queries = [(q, p) for q, p in selects if "finished_at <" in q and "count(" not in q]
    assert id_queries, selects
    with db.engine.connect() as conn:
        for statement, parameters in id_queries:
            plan = " / ".join(
                row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            )
            assert "TEMP B-TREE" not in plan and "ix_queue_items_finished" in plan, plan


def test_all_space_is_given_back_in_steps_that_each_release_the_write_lock(tmp_path) -> None:
    """`purge` frees every page a purge left, a step of pages per write transaction: between two steps another
    connection (a running engine) gets the write lock, and at the end no free page is left."""
    from sqlalchemy import delete

    from shopctrl_desktop.store.retention import give_all_space_back

    paths = resolve_paths(tmp_path / "data").ensure()
    db = Database(f"sqlite:///{paths.database_file}")
    with db.session() as s:
        for _ in range(120):
            add(s, ItemStatus.DELIVERED, datetime.now(UTC) - timedelta(days=60)).body = "x" * 10_000
    with db.session() as s:
        s.execute(delete(DeliveryAttemptRow))
        s.execute(delete(QueueItemRow))
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA freelist_count")).scalar() > 200
    other = Database(f"sqlite:///{paths.database_file}")
    writes: list[int] = []

    def another_program_writes() -> None:  # possible only while no step holds the write lock
        with other.session() as s:
            s.execute(text("CREATE TABLE IF NOT EXISTS probe (n INTEGER)"))
            s.execute(text("INSERT INTO probe VALUES (1)"))
        writes.append(1)

    assert give_all_space_back(db, step=20, between_steps=another_program_writes)
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA freelist_count")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM probe")).scalar() == len(writes)
    assert len(writes) >= 10  # > 200 free pages, 20 a step
    db.dispose()
    other.dispose()
