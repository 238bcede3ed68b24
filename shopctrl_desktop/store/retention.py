"""Deleting what retention says goes (domain/retention.py), in small batches that never hold the database for
long: finished items with their attempts, then event snapshots no item refers to. SQLite then gives the
space back to the file system when the database was created for it (``auto_vacuum = INCREMENTAL``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import and_, delete, exists, func, or_, select, text
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.retention import BATCH, Cutoffs
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import DeliveryAttemptRow, EventRow, QueueItemRow


@dataclass
class Purged:
    items: int = 0
    attempts: int = 0
    events: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def add(self, other: Purged) -> None:
        self.items += other.items
        self.attempts += other.attempts
        self.events += other.events
        for status, n in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + n

    @property
    def nothing(self) -> bool:
        return not (self.items or self.events)


def _items_due(cut: Cutoffs):  # type: ignore[no-untyped-def]
    return or_(
        *(
            and_(QueueItemRow.status == status.value, QueueItemRow.finished_at < moment)
            for status, moment in cut.by_status.items()
        )
    )


def _events_due(cut: Cutoffs):  # type: ignore[no-untyped-def]
    assert cut.events_before is not None
    return and_(
        EventRow.received_at < cut.events_before,
        ~exists().where(QueueItemRow.event_id == EventRow.id),
    )


def count_due(session: Session, cut: Cutoffs) -> Purged:
    """What a purge would delete now (``purge --dry-run``); events counted as of now, before their items go."""
    result = Purged()
    if not cut.any:
        return result
    rows = session.execute(
        select(QueueItemRow.status, func.count()).where(_items_due(cut)).group_by(QueueItemRow.status)
    ).all()
    result.by_status = {status: n for status, n in rows}
    result.items = sum(result.by_status.values())
    result.attempts = (
        session.scalar(
            select(func.count())
            .select_from(DeliveryAttemptRow)
            .join(QueueItemRow, QueueItemRow.id == DeliveryAttemptRow.item_id)
            .where(_items_due(cut))
        )
        or 0
    )
    # events that go once their items have gone: old enough, and no item that stays refers to them
    staying = and_(QueueItemRow.event_id == EventRow.id, ~_items_due(cut))
    assert cut.events_before is not None
    result.events = (
        session.scalar(
            select(func.count())
            .select_from(EventRow)
            .where(EventRow.received_at < cut.events_before, ~exists().where(staying))
        )
        or 0
    )
    return result


def _due_item_ids(session: Session, cut: Cutoffs, batch: int) -> list[int]:
    """Up to ``batch`` ids of due items, oldest first per status: each status is one walk along the
    ``(status, finished_at)`` index that stops after ``batch`` rows. (One query over the three statuses
    ordered by id made SQLite collect and sort every due id for each batch: 0.7 s a batch with a million
    due, the purge at 500 items/s — benchmarks/purge.py.)"""
    ids: list[int] = []
    for status, moment in cut.by_status.items():
        if len(ids) >= batch:
            break
        ids += session.scalars(
            select(QueueItemRow.id)
            .where(QueueItemRow.status == status.value, QueueItemRow.finished_at < moment)
            .order_by(QueueItemRow.finished_at)
            .limit(batch - len(ids))
        )
    return ids


def purge_batch(session: Session, cut: Cutoffs, *, batch: int = BATCH) -> Purged:
    """Delete up to ``batch`` items that are due (with their attempts), else up to ``batch`` events no item
    refers to; one call is one short transaction's work. Nothing left: ``Purged().nothing``."""
    result = Purged()
    if not cut.any:
        return result
    ids = _due_item_ids(session, cut, batch)
    if ids:
        for status, n in session.execute(
            select(QueueItemRow.status, func.count())
            .where(QueueItemRow.id.in_(ids))
            .group_by(QueueItemRow.status)
        ).all():
            result.by_status[status] = n
        result.attempts = session.execute(
            delete(DeliveryAttemptRow).where(DeliveryAttemptRow.item_id.in_(ids))
        ).rowcount  # type: ignore[attr-defined]
        result.items = session.execute(delete(QueueItemRow).where(QueueItemRow.id.in_(ids))).rowcount  # type: ignore[attr-defined]
        return result
    event_ids = list(
        session.scalars(select(EventRow.id).where(_events_due(cut)).order_by(EventRow.id).limit(batch))
    )
    if event_ids:
        result.events = session.execute(delete(EventRow).where(EventRow.id.in_(event_ids))).rowcount  # type: ignore[attr-defined]
    return result


def give_space_back(db: Database, pages: int = 2000) -> bool:
    """SQLite: return up to ``pages`` free pages to the file system when the database was created with
    ``auto_vacuum = INCREMENTAL`` (then a passive checkpoint moves the shorter file out of the WAL, without
    waiting for readers); False when it was not (``purge --vacuum`` rewrites it once) or on PostgreSQL (its
    autovacuum reuses the space)."""
    if not db.is_sqlite:
        return False
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if conn.execute(text("PRAGMA auto_vacuum")).scalar() != 2:
            return False
        # executescript steps the pragma to its end; execute() would free a single page
        conn.connection.dbapi_connection.executescript(  # type: ignore[union-attr]
            f"PRAGMA incremental_vacuum({int(pages)}); PRAGMA wal_checkpoint(PASSIVE);"
        )
    return True


def give_all_space_back(
    db: Database, step: int = 2000, between_steps: Callable[[], None] | None = None
) -> bool:
    """SQLite: every free page back to the file system, ``step`` pages per write transaction — a running
    engine's intake and delivery get the write lock between steps (one step of all ~200,000 pages a million
    purged items leave held it for a minute). False as :func:`give_space_back`."""
    if not give_space_back(db, pages=step):
        return False
    while True:
        with db.engine.connect() as conn:
            free = int(conn.execute(text("PRAGMA freelist_count")).scalar() or 0)
        if free == 0:
            return True
        if between_steps is not None:
            between_steps()
        give_space_back(db, pages=step)
