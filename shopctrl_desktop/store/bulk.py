"""Bulk retry, cancel and resend of many queue items (up to 100,000 and more) in chunks.

Each chunk (``CHUNK_SIZE`` ids) is one short write transaction with its own audit entry listing the ids it
changed — so the database's write lock is never held long (the delivery engine and the intake keep going
between chunks), a cancelled operation leaves exactly the audited chunks done, and no audit entry claims items
that were not changed. Progress is reported after every chunk; cancellation is checked between chunks.

The GUI runs :func:`run_in_chunks` on a worker thread (gui/queue/bulk.py); anything with a ``session()``
context manager that commits (store/db.py ``Database``) will do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.audit import AuditAction, FieldChange
from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.domain.queue import CANCELLABLE_STATUSES, RETRYABLE_STATUSES, status_values
from shopctrl_desktop.store.models import QueueItemRow, utcnow
from shopctrl_desktop.store.queue import not_superseded, record_bulk

#: Ids per transaction: ~30-60 ms of writing on SQLite, short enough that deliveries never notice.
CHUNK_SIZE = 2000
_ITEMS = cast(Table, QueueItemRow.__table__)
_IN = 500  # ids per IN (...) list


class SessionSource(Protocol):
    def session(self) -> AbstractContextManager[Session]: ...


class BulkOperation(StrEnum):
    RETRY = "retry"  # items in RETRYABLE_STATUSES become due at once, a fresh retry schedule
    RETRY_FAILED = "retry failed"  # only failed items (a bulk "retry failed")
    CANCEL = "cancel"  # items in CANCELLABLE_STATUSES are cancelled
    RESEND = "resend"  # a new queued item with the same request, for any item

    @property
    def past(self) -> str:
        return {"retry": "Retried", "retry failed": "Retried", "cancel": "Cancelled", "resend": "Resent"}[
            self.value
        ]


@dataclass
class BulkResult:
    operation: BulkOperation
    total: int  # ids asked for
    processed: int = 0  # ids looked at (all of them unless cancelled)
    changed: list[int] = field(default_factory=list)  # items changed (retried, cancelled, resent)
    new_ids: list[int] = field(default_factory=list)  # resend: the new items
    cancelled: bool = False

    @property
    def skipped(self) -> int:
        """Ids looked at but not changed (not in a suitable status any more, or gone)."""
        return self.processed - len(self.changed)


def chunks(ids: list[int], size: int = CHUNK_SIZE) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _update_ids(
    session: Session, ids: list[int], statuses: tuple[str, ...], values: dict[str, Any], *conditions: Any
) -> list[int]:
    query = (
        update(_ITEMS)
        .where(_ITEMS.c.status.in_(statuses), *conditions)
        .values(**values)
        .returning(_ITEMS.c.id)
    )
    changed: list[int] = []
    for start in range(0, len(ids), _IN):
        changed.extend(session.scalars(query.where(_ITEMS.c.id.in_(ids[start : start + _IN]))))
    changed.sort()
    return changed


def retry_chunk(session: Session, ids: list[int], statuses: tuple[str, ...]) -> list[int]:
    values = {
        "status": ItemStatus.QUEUED.value,
        "next_attempt_at": utcnow(),
        "finished_at": None,
        "round_start_attempts": _ITEMS.c.attempts,
    }
    changed = _update_ids(session, ids, statuses, values, not_superseded())  # never old data after new
    if changed:
        record_bulk(session, AuditAction.ITEMS_RETRIED, "item", changed)
    return changed


def cancel_chunk(session: Session, ids: list[int]) -> list[int]:
    values = {"status": ItemStatus.CANCELLED.value, "finished_at": utcnow(), "next_attempt_at": None}
    changed = _update_ids(session, ids, status_values(CANCELLABLE_STATUSES), values)
    if changed:
        record_bulk(session, AuditAction.ITEMS_CANCELLED, "item", changed)
    return changed


#: Columns a resent item copies; the rest start afresh (queued, no attempts, no response).
_COPIED = (
    "trigger_id",
    "action_id",
    "event_id",
    "trigger_title",
    "event_name",
    "entity_type",
    "entity_id",
    "entity_code",
    "priority",
    "method",
    "url",
    "host",
    "headers_json",
    "body",
)


def resend_chunk(session: Session, ids: list[int]) -> tuple[list[int], list[int]]:
    """New queued items with the requests of ``ids`` (any status); returns (originals, new ids)."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    originals: list[int] = []
    columns = [_ITEMS.c[name] for name in _COPIED]
    for start in range(0, len(ids), _IN):
        part = ids[start : start + _IN]
        for row in session.execute(select(_ITEMS.c.id, *columns).where(_ITEMS.c.id.in_(part))):
            originals.append(row[0])
            values = dict(zip(_COPIED, row[1:], strict=True))
            values.update(
                status=ItemStatus.QUEUED.value,
                unique_key=None,
                attempts=0,
                round_start_attempts=0,
                created_at=now,
                next_attempt_at=now,
                skipped_count=0,
            )
            rows.append(values)
    if not rows:
        return [], []
    new_ids = [int(i) for i in session.scalars(insert(_ITEMS).returning(_ITEMS.c.id), rows)]
    record_bulk(session, AuditAction.ITEMS_RESENT, "item", originals, FieldChange("newItems", None, new_ids))
    return originals, new_ids


def apply_chunk(session: Session, operation: BulkOperation, ids: list[int]) -> tuple[list[int], list[int]]:
    """One chunk of ``operation`` in ``session``'s transaction: (changed ids, new ids)."""
    if operation is BulkOperation.RETRY:
        return retry_chunk(session, ids, status_values(RETRYABLE_STATUSES)), []
    if operation is BulkOperation.RETRY_FAILED:
        return retry_chunk(session, ids, (ItemStatus.FAILED.value,)), []
    if operation is BulkOperation.CANCEL:
        return cancel_chunk(session, ids), []
    return resend_chunk(session, ids)


def run_in_chunks(
    db: SessionSource,
    operation: BulkOperation,
    ids: list[int],
    *,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> BulkResult:
    """``operation`` on ``ids``, one transaction (and audit entry) per chunk; ``progress(done, total)`` after
    each chunk; stops between chunks once ``cancelled()`` is true (what was done stays done)."""
    result = BulkResult(operation, len(ids))
    for chunk in chunks(ids, chunk_size):
        if cancelled is not None and cancelled():
            result.cancelled = True
            break
        with db.session() as session:
            changed, new_ids = apply_chunk(session, operation, chunk)
        result.processed += len(chunk)
        result.changed += changed
        result.new_ids += new_ids
        if progress is not None:
            progress(result.processed, result.total)
    return result
