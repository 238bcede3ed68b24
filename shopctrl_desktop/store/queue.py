"""The webhook queue: enqueue (see store/ingest.py), read items and attempts, cancel, retry, resend, counts.

Claiming due items for delivery (leases, ``FOR UPDATE SKIP LOCKED``) lives in store/claim.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, insert, inspect, select, update
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.audit import AuditAction, FieldChange, Subject, SubjectKind
from shopctrl_desktop.domain.breaker import endpoint_key, host_variants
from shopctrl_desktop.domain.model import ItemStatus, Priority
from shopctrl_desktop.domain.queue import (
    CANCELLABLE_STATUSES,
    LIVE_STATUSES,
    RETRYABLE_STATUSES,
    QueueCounts,
    status_values,
)
from shopctrl_desktop.domain.superseding import SUPERSEDING_STATUSES, superseding_item
from shopctrl_desktop.store.audit import record
from shopctrl_desktop.store.ingest import IngestResult, begin_write, enqueue_batches, enqueue_events, host_of
from shopctrl_desktop.store.models import DeliveryAttemptRow, QueueItemRow, utcnow

__all__ = [
    "Attempt",
    "EndpointCounts",
    "IngestResult",
    "QueueItem",
    "attempts_for",
    "begin_write",
    "cancel_item",
    "enqueue_batches",
    "enqueue_events",
    "failed_for_retry",
    "get_item",
    "host_of",
    "list_items",
    "queue_counts",
    "resend_item",
    "retry_failed",
    "retry_failed_ids",
    "retry_item",
    "superseded_by",
]

_ITEMS = cast(Table, QueueItemRow.__table__)
_RETRYABLE = status_values(RETRYABLE_STATUSES)
_CANCELLABLE = status_values(CANCELLABLE_STATUSES)
_LIVE = status_values(LIVE_STATUSES)
_SUPERSEDING = status_values(SUPERSEDING_STATUSES)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@dataclass(frozen=True)
class QueueItem:
    id: int
    status: str
    trigger_id: int | None
    trigger_title: str
    action_id: int | None
    event_id: int
    event_name: str
    entity_type: str
    entity_id: str | None
    entity_code: str | None
    priority: int
    unique_key: str | None
    method: str
    url: str
    host: str
    headers: dict[str, str]
    body: str
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    finished_at: datetime | None
    response_status: int | None
    response_message: str | None
    duration_ms: float | None
    skipped_count: int

    def to_json(self, *, with_request: bool = False) -> dict[str, Any]:
        """camelCase fields of ``queue list --json`` (SPEC 8)."""
        data: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "trigger": self.trigger_title,
            "triggerId": self.trigger_id,
            "actionId": self.action_id,
            "event": self.event_name,
            "eventId": self.event_id,
            "entityType": self.entity_type,
            "entityId": self.entity_id,
            "entityCode": self.entity_code,
            "url": self.url,
            "method": self.method,
            "priority": Priority(self.priority).json_name,
            "attempts": self.attempts,
            "createdAt": _iso(self.created_at),
            "lastAttemptAt": _iso(self.last_attempt_at),
            "nextAttemptAt": _iso(self.next_attempt_at),
            "finishedAt": _iso(self.finished_at),
            "responseStatus": self.response_status,
            "responseMessage": self.response_message,
            "durationMs": self.duration_ms,
            "skippedDuplicates": self.skipped_count,
        }
        if with_request:
            data["headers"] = self.headers
            data["body"] = self.body
        return data


@dataclass(frozen=True)
class Attempt:
    id: int
    item_id: int
    number: int
    started_at: datetime
    duration_ms: float
    status_code: int | None
    response_headers: dict[str, str] | None
    response_body: str | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "startedAt": _iso(self.started_at),
            "durationMs": self.duration_ms,
            "statusCode": self.status_code,
            "responseHeaders": self.response_headers,
            "responseBody": self.response_body,
            "error": self.error,
        }


def queue_item(row: QueueItemRow) -> QueueItem:
    return QueueItem(
        id=row.id,
        status=row.status,
        trigger_id=row.trigger_id,
        trigger_title=row.trigger_title,
        action_id=row.action_id,
        event_id=row.event_id,
        event_name=row.event_name,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        entity_code=row.entity_code,
        priority=row.priority,
        unique_key=row.unique_key,
        method=row.method,
        url=row.url,
        host=row.host,
        headers=json.loads(row.headers_json or "{}"),
        body=row.body,
        attempts=row.attempts,
        created_at=row.created_at,
        last_attempt_at=row.last_attempt_at,
        next_attempt_at=row.next_attempt_at,
        finished_at=row.finished_at,
        response_status=row.response_status,
        response_message=row.response_message,
        duration_ms=row.duration_ms,
        skipped_count=row.skipped_count,
    )


def list_items(
    session: Session,
    status: str | Iterable[str] | None = None,
    *,
    trigger_id: int | None = None,
    limit: int = 1000,
    offset: int = 0,
    newest_first: bool = False,
) -> list[QueueItem]:
    """Items in send order (highest priority first, then oldest), or newest first."""
    query = _filtered(select(QueueItemRow), status, trigger_id)
    if newest_first:
        query = query.order_by(QueueItemRow.id.desc())
    else:
        query = query.order_by(QueueItemRow.priority.desc(), QueueItemRow.id)
    return [queue_item(r) for r in session.scalars(query.limit(limit).offset(offset))]


def _filtered(query: Any, status: str | Iterable[str] | None, trigger_id: int | None) -> Any:
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        query = query.where(QueueItemRow.status.in_([ItemStatus(s).value for s in statuses]))
    if trigger_id is not None:
        query = query.where(QueueItemRow.trigger_id == trigger_id)
    return query


def count_items(
    session: Session, status: str | Iterable[str] | None = None, *, trigger_id: int | None = None
) -> int:
    """How many items :func:`list_items` would list without a limit."""
    query = _filtered(select(func.count()).select_from(QueueItemRow), status, trigger_id)
    return int(session.scalar(query) or 0)


def get_item(session: Session, item_id: int) -> QueueItem | None:
    row = session.get(QueueItemRow, item_id)
    return queue_item(row) if row else None


def attempts_for(session: Session, item_id: int) -> list[Attempt]:
    rows = session.scalars(
        select(DeliveryAttemptRow)
        .where(DeliveryAttemptRow.item_id == item_id)
        .order_by(DeliveryAttemptRow.number)
    )
    return [
        Attempt(
            id=r.id,
            item_id=r.item_id,
            number=r.number,
            started_at=r.started_at,
            duration_ms=r.duration_ms,
            status_code=r.status_code,
            response_headers=json.loads(r.response_headers_json) if r.response_headers_json else None,
            response_body=r.response_body,
            error=r.error,
        )
        for r in rows
    ]


def _record_item(
    session: Session, action: AuditAction, item_id: int, title: str, *changes: FieldChange
) -> None:
    record(session, action, Subject(SubjectKind.ITEM, item_id, title), changes)


def cancel_item(session: Session, item_id: int) -> bool:
    """Cancel a waiting item (CANCELLABLE_STATUSES). False when it is not waiting (sending, finished, unknown).
    Recorded in the audit trail."""
    row = session.execute(
        update(_ITEMS)
        .where(_ITEMS.c.id == item_id, _ITEMS.c.status.in_(_CANCELLABLE))
        .values(status=ItemStatus.CANCELLED.value, finished_at=utcnow(), next_attempt_at=None)
        .returning(_ITEMS.c.trigger_title)
    ).first()
    if row is None:
        return False
    _record_item(session, AuditAction.ITEM_CANCELLED, item_id, row.trigger_title)
    return True


def not_superseded() -> ColumnElement[bool]:
    """SQL: the item has no newer item of its unique key that supersedes it (domain/superseding.py). A retry
    never brings a superseded item back: it would send old data after new."""
    newer = _ITEMS.alias("newer")
    superseded = (
        select(newer.c.id)
        .where(
            newer.c.unique_key == _ITEMS.c.unique_key,
            newer.c.id > _ITEMS.c.id,
            newer.c.status.in_(_SUPERSEDING),
        )
        .exists()
    )
    return ~(_ITEMS.c.unique_key.is_not(None) & superseded)


def superseded_by(session: Session, item_id: int) -> int | None:
    """The newest item of ``item_id``'s unique key when it supersedes ``item_id``; else None."""
    key = session.scalar(select(_ITEMS.c.unique_key).where(_ITEMS.c.id == item_id))
    if key is None:
        return None
    newest = session.scalar(
        select(func.max(_ITEMS.c.id)).where(_ITEMS.c.unique_key == key, _ITEMS.c.status.in_(_SUPERSEDING))
    )
    return superseding_item(item_id, newest)


def retry_item(session: Session, item_id: int) -> bool:
    """ "Retry now": an item in RETRYABLE_STATUSES (failed, retrying, cancelled) becomes due at once, its retry
    schedule started afresh (domain/retry.py ``attempts_this_round``). False otherwise, and for an item a newer
    one of its unique key superseded (:func:`superseded_by`). Recorded in the audit trail."""
    row = session.execute(
        update(_ITEMS)
        .where(_ITEMS.c.id == item_id, _ITEMS.c.status.in_(_RETRYABLE), not_superseded())
        .values(**_due_again())
        .returning(_ITEMS.c.trigger_title)
    ).first()
    if row is None:
        return False
    _record_item(session, AuditAction.ITEM_RETRIED, item_id, row.trigger_title)
    return True


def _due_again() -> dict[str, Any]:
    """Values of a manual retry: queued, due now, a fresh retry schedule from the attempts made so far."""
    return {
        "status": ItemStatus.QUEUED.value,
        "next_attempt_at": utcnow(),
        "finished_at": None,
        "round_start_attempts": _ITEMS.c.attempts,
    }


class EndpointCounts(dict[str, int]):
    """Items per endpoint (domain/breaker.py ``endpoint_key``), with their total."""

    @property
    def total(self) -> int:
        return sum(self.values())


def failed_for_retry(
    session: Session,
    ids: Iterable[int] | None = None,
    *,
    since: datetime | None = None,
    endpoint: str | None = None,
) -> list[tuple[int, str]]:
    """``(id, endpoint)`` of the failed items a bulk retry would queue again, oldest first: every failed
    item (or those among ``ids``), failed at or after ``since``, sent to ``endpoint`` (any URL of it).
    Items superseded by a newer item of their unique key are left out (domain/superseding.py)."""
    query = select(_ITEMS.c.id, _ITEMS.c.url).where(
        _ITEMS.c.status == ItemStatus.FAILED.value, not_superseded()
    )
    if since is not None:
        query = query.where(_ITEMS.c.finished_at >= since)
    key = endpoint_key(endpoint) if endpoint is not None else None
    if key is not None:
        query = query.where(_ITEMS.c.host.in_(host_variants(key)))
    query = query.order_by(_ITEMS.c.id)
    rows: list[tuple[int, str]] = []
    if ids is None:
        chunks: list[Any] = [query]
    else:
        wanted = list(ids)
        chunks = [query.where(_ITEMS.c.id.in_(wanted[i : i + 500])) for i in range(0, len(wanted), 500)]
    for chunk in chunks:
        for item_id, url in session.execute(chunk):
            found = endpoint_key(url)
            if key is None or found == key:
                rows.append((int(item_id), found))
    rows.sort()
    return rows


def retry_failed(
    session: Session,
    ids: Iterable[int] | None = None,
    *,
    since: datetime | None = None,
    endpoint: str | None = None,
    dry_run: bool = False,
) -> EndpointCounts:
    """Every failed item (filtered as :func:`failed_for_retry`) becomes due at once, with a fresh retry
    schedule; returns how many per endpoint (``.total``: all). ``dry_run``: only count, change nothing.
    One audit entry lists the items retried (none when there were none). For 100,000 items in the
    background, in chunks with progress: store/bulk.py."""
    found = failed_for_retry(session, ids, since=since, endpoint=endpoint)
    if dry_run:
        counts = EndpointCounts()
        for _, key in found:
            counts[key] = counts.get(key, 0) + 1
        return counts
    endpoint_of = dict(found)
    retried = retry_failed_ids(session, list(endpoint_of))
    counts = EndpointCounts()
    for item_id in retried:
        counts[endpoint_of[item_id]] = counts.get(endpoint_of[item_id], 0) + 1
    return counts


def retry_failed_ids(session: Session, ids: list[int]) -> list[int]:
    """The still-failed items among ``ids`` become due at once (fresh retry schedule); returns their ids.
    One audit entry lists them (none when there were none)."""
    query = (
        update(_ITEMS)
        .where(_ITEMS.c.status == ItemStatus.FAILED.value, not_superseded())
        .values(**_due_again())
        .returning(_ITEMS.c.id)
    )
    retried: list[int] = []
    for start in range(0, len(ids), 500):
        retried.extend(session.scalars(query.where(_ITEMS.c.id.in_(ids[start : start + 500]))))
    if retried:
        retried.sort()
        record_bulk(session, AuditAction.ITEMS_RETRIED, "failed item", retried)
    return retried


def record_bulk(
    session: Session, action: AuditAction, noun: str, ids: list[int], *changes: FieldChange
) -> None:
    """One audit entry for many items: "<n> <noun>s", the ids listed."""
    name = f"{len(ids)} {noun}" + ("s" if len(ids) != 1 else "")
    record(
        session, action, Subject(SubjectKind.ITEMS, None, name), [FieldChange("items", None, ids), *changes]
    )


def resend_item(session: Session, item_id: int) -> int | None:
    """A new queued item with the same request as ``item_id`` (any status); returns its id. Recorded in the
    audit trail (the original item, the new item's id)."""
    row = session.get(QueueItemRow, item_id)
    if row is None:
        return None
    now = utcnow()
    values = {
        attr.key: getattr(row, attr.key) for attr in inspect(QueueItemRow).column_attrs if attr.key != "id"
    }
    values.update(
        status=ItemStatus.QUEUED.value,
        unique_key=None,
        attempts=0,
        created_at=now,
        last_attempt_at=None,
        next_attempt_at=now,
        finished_at=None,
        lease_expires_at=None,
        lease_owner=None,
        response_status=None,
        response_message=None,
        duration_ms=None,
        skipped_count=0,
        round_start_attempts=0,
    )
    new_id = int(session.execute(insert(_ITEMS).returning(_ITEMS.c.id), [values]).scalar_one())
    _record_item(
        session, AuditAction.ITEM_RESENT, item_id, row.trigger_title, FieldChange("newItem", None, new_id)
    )
    return new_id


def queue_counts(session: Session, *, finished: bool = True) -> QueueCounts:
    """Items per status. ``finished=False`` counts only the LIVE_STATUSES (queued, sending, retrying,
    failed; delivered and cancelled come back as 0): with millions of delivered items a full count takes
    a noticeable fraction of a second."""
    query = select(QueueItemRow.status, func.count())
    if not finished:
        query = query.where(QueueItemRow.status.in_(_LIVE))
    rows = session.execute(query.group_by(QueueItemRow.status))
    counts = {status: int(n) for status, n in rows}
    return QueueCounts(**{s.value: counts.get(s.value, 0) for s in ItemStatus})


#: How old the delivered/cancelled figures of reported counts may get (the live ones are always fresh).
FINISHED_COUNT_SECONDS = 30.0
CHEAP_COUNT_ROWS = 100_000  # fewer finished items than this: a full count on every read (a few ms)


class QueueCounter:
    """Counts for a status display: the live statuses (queued, sending, retrying, failed) on every read;
    delivered and cancelled — a count over every finished item, a noticeable fraction of a second with
    millions of them — at most every ``finished_interval`` seconds, the last full count's in between.
    While a full count is cheap (the last one found fewer than ``cheap_rows`` finished items: most shops'
    queues) every read is a full count, exact at once — a rule on the data, not on a timing.

    A reader that delivers items itself (the delivery engine) adds them with :meth:`note_delivered`, so its
    delivered figure stays current between full counts (it may be off by the few items whose commit and
    note straddled the last full count, until the next one). One per reader; not shared between threads."""

    def __init__(
        self, finished_interval: float = FINISHED_COUNT_SECONDS, cheap_rows: int = CHEAP_COUNT_ROWS
    ) -> None:
        self.finished_interval = finished_interval
        self.cheap_rows = cheap_rows
        self._finished: tuple[float, int, int] | None = None  # (monotonic time, delivered, cancelled)
        self._delivered_since = 0  # noted since the last full count

    def note_delivered(self, count: int) -> None:
        self._delivered_since += count

    def expire(self) -> None:
        """The next read is a full count (a final report: exact, whatever was noted)."""
        self._finished = None

    def read(self, session: Session) -> QueueCounts:
        now = time.monotonic()
        if (
            self._finished is None
            or now - self._finished[0] > self.finished_interval
            or self._finished[1] + self._finished[2] < self.cheap_rows
        ):
            full = queue_counts(session)
            self._finished = (now, full.delivered, full.cancelled)
            self._delivered_since = 0
            return full
        live = queue_counts(session, finished=False)
        delivered = self._finished[1] + self._delivered_since
        return replace(live, delivered=delivered, cancelled=self._finished[2])
