"""Read-only SQL for the queue browser: id lists under a filter, row pages by id, item detail, export.

The GUI's table model keeps only the ids (Anki's browser pattern) and asks for the few rows it shows.
Everything here takes a short-lived Session and returns plain frozen dataclasses, never ORM rows.
"""

from __future__ import annotations

import json
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.domain.outcome import response_line
from shopctrl_desktop.domain.secret_headers import is_secret_header
from shopctrl_desktop.store.models import DeliveryAttemptRow, QueueItemRow, TriggerRow, WebhookActionRow
from shopctrl_desktop.store.roles import may_read_secrets

MASK = "••••••"


@dataclass(frozen=True)
class QueueFilter:
    """What the Queue page's filter bar asks for; an empty filter matches everything."""

    statuses: tuple[str, ...] = ()
    trigger_title: str | None = None
    event: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text: str = ""

    @property
    def is_empty(self) -> bool:
        return self == QueueFilter()


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue table."""

    id: int
    created_at: datetime | None
    priority: int
    status: str
    trigger_title: str
    event_name: str
    entity_type: str
    entity_id: str | None
    entity_code: str | None
    url: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    response_status: int | None
    response_message: str | None
    duration_ms: float | None

    @property
    def entity(self) -> str:
        label = self.entity_code or self.entity_id or ""
        return f"{self.entity_type} {label}".strip()

    @property
    def last_response(self) -> str:
        return response_line(self.response_status, self.response_message)


@dataclass(frozen=True)
class AttemptView:
    number: int
    started_at: datetime
    duration_ms: float
    status_code: int | None
    response_headers: dict[str, str]
    response_body: str | None
    error: str | None


@dataclass(frozen=True)
class ItemDetail:
    row: QueueRow
    method: str
    headers: dict[str, str]  # masked for display
    body: str
    unique_key: str | None
    skipped_count: int
    finished_at: datetime | None
    event_id: int
    trigger_id: int | None
    action_id: int | None
    basic_auth_user: str | None
    signature_scheme: str | None
    attempts: tuple[AttemptView, ...] = field(default_factory=tuple)


_ROW_COLUMNS = (
    QueueItemRow.id,
    QueueItemRow.created_at,
    QueueItemRow.priority,
    QueueItemRow.status,
    QueueItemRow.trigger_title,
    QueueItemRow.event_name,
    QueueItemRow.entity_type,
    QueueItemRow.entity_id,
    QueueItemRow.entity_code,
    QueueItemRow.url,
    QueueItemRow.attempts,
    QueueItemRow.next_attempt_at,
    QueueItemRow.last_attempt_at,
    QueueItemRow.response_status,
    QueueItemRow.response_message,
    QueueItemRow.duration_ms,
)


def _row(values: Any) -> QueueRow:
    return QueueRow(*tuple(values))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filter_clauses(flt: QueueFilter) -> list[ColumnElement[bool]]:
    q = QueueItemRow
    clauses: list[ColumnElement[bool]] = []
    if flt.statuses:
        clauses.append(q.status.in_(list(flt.statuses)))
    if flt.trigger_title:
        clauses.append(q.trigger_title == flt.trigger_title)
    if flt.event:
        clauses.append(q.event_name == flt.event)
    if flt.created_from is not None:
        clauses.append(q.created_at >= flt.created_from)
    if flt.created_to is not None:
        clauses.append(q.created_at < flt.created_to)
    text = flt.text.strip()
    if text:
        if text.startswith("#") and text[1:].isdigit():
            clauses.append(q.id == int(text[1:]))
        else:
            pattern = f"%{_like_escape(text)}%"
            options: list[ColumnElement[bool]] = [
                q.trigger_title.ilike(pattern, escape="\\"),
                q.url.ilike(pattern, escape="\\"),
                q.entity_id.ilike(pattern, escape="\\"),
                q.entity_code.ilike(pattern, escape="\\"),
                q.event_name.ilike(pattern, escape="\\"),
                q.response_message.ilike(pattern, escape="\\"),
            ]
            if text.isdigit():
                options.append(q.id == int(text))
            clauses.append(or_(*options))
    return clauses


def _where(flt: QueueFilter, after_id: int = 0) -> ColumnElement[bool]:
    clauses = filter_clauses(flt)
    if after_id:
        clauses.append(QueueItemRow.id > after_id)
    return and_(true(), *clauses)


def item_ids(session: Session, flt: QueueFilter, *, after_id: int = 0, batch: int = 100_000) -> array[int]:
    """Ids of the items matching ``flt``, ascending (the model shows them newest first).

    ``after_id`` fetches only the items newer than the ones already shown (live updates). The ids are read
    straight from the DBAPI cursor: a million of them take ~0.5 s this way and ~1.5 s through Row objects.
    """
    stmt = select(QueueItemRow.id).where(_where(flt, after_id)).order_by(QueueItemRow.id)
    ids: array[int] = array("q")
    result = session.connection().execute(stmt)
    cursor = result.cursor
    try:
        while True:
            chunk = cursor.fetchmany(batch)
            if not chunk:
                break
            ids.extend([r[0] for r in chunk])
    finally:
        result.close()
    return ids


def newest_ids(session: Session, flt: QueueFilter, limit: int) -> array[int]:
    """The ``limit`` newest matching ids, ascending: what the table shows before the full list is loaded."""
    stmt = select(QueueItemRow.id).where(_where(flt)).order_by(QueueItemRow.id.desc()).limit(limit)
    ids = array("q", session.scalars(stmt))
    ids.reverse()
    return ids


def matching_ids(session: Session, flt: QueueFilter, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` match ``flt`` now (live updates: a changed item may enter or leave a filtered view)."""
    out: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        out.update(session.scalars(select(QueueItemRow.id).where(_where(flt), QueueItemRow.id.in_(chunk))))
    return out


def fetch_rows(session: Session, ids: Sequence[int]) -> dict[int, QueueRow]:
    """The rows for ``ids`` (missing ids are simply absent: deleted meanwhile)."""
    out: dict[int, QueueRow] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        for r in session.execute(select(*_ROW_COLUMNS).where(QueueItemRow.id.in_(chunk))):
            out[r[0]] = _row(r)
    return out


def filter_choices(session: Session) -> tuple[list[str], list[str]]:
    """Trigger titles and event names to offer in the filter bar (configured ones plus what the queue holds)."""
    titles = set(session.scalars(select(TriggerRow.title)))
    events = set(session.scalars(select(TriggerRow.event)))
    # DISTINCT over a million rows is a scan; the trigger table is what people filter by in practice,
    # so only recent history is sampled for titles/events of deleted triggers.
    recent = (
        select(QueueItemRow.trigger_title, QueueItemRow.event_name)
        .order_by(QueueItemRow.id.desc())
        .limit(5000)
    )
    for title, event in session.execute(recent):
        if title:
            titles.add(title)
        if event:
            events.add(event)
    return sorted(titles, key=str.lower), sorted(events, key=str.lower)


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    masked: dict[str, str] = {}
    for name, value in headers.items():
        if is_secret_header(name):
            if name.lower() == "authorization" and " " in value:
                masked[name] = f"{value.split(' ', 1)[0]} {MASK}"
            else:
                masked[name] = MASK
        else:
            masked[name] = value
    return masked


def _loads(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def item_detail(session: Session, item_id: int) -> ItemDetail | None:
    item = session.get(QueueItemRow, item_id)
    if item is None:
        return None
    row = _row(session.execute(select(*_ROW_COLUMNS).where(QueueItemRow.id == item_id)).one())
    user: str | None = None
    scheme: str | None = None
    if item.action_id is not None:
        # only the public columns: a login without access to secrets (support) may not name a secret
        # column; whether the action signs is then not shown
        action = session.execute(
            select(WebhookActionRow.username, WebhookActionRow.signature_scheme).where(
                WebhookActionRow.id == item.action_id
            )
        ).first()
        if action is not None:
            user = action.username or None
            if may_read_secrets(session) and session.scalar(
                select(WebhookActionRow.hmac_secret_enc.is_not(None)).where(
                    WebhookActionRow.id == item.action_id
                )
            ):
                scheme = action.signature_scheme
    attempts = tuple(
        AttemptView(
            number=a.number,
            started_at=a.started_at,
            duration_ms=a.duration_ms,
            status_code=a.status_code,
            response_headers=_loads(a.response_headers_json),
            response_body=a.response_body,
            error=a.error,
        )
        for a in session.scalars(
            select(DeliveryAttemptRow)
            .where(DeliveryAttemptRow.item_id == item_id)
            .order_by(DeliveryAttemptRow.number)
        )
    )
    return ItemDetail(
        row=row,
        method=item.method,
        headers=mask_headers(_loads(item.headers_json)),
        body=item.body,
        unique_key=item.unique_key,
        skipped_count=item.skipped_count,
        finished_at=item.finished_at,
        event_id=item.event_id,
        trigger_id=item.trigger_id,
        action_id=item.action_id,
        basic_auth_user=user,
        signature_scheme=scheme,
        attempts=attempts,
    )


def count_matching(session: Session, flt: QueueFilter) -> int:
    stmt = select(func.count()).select_from(QueueItemRow).where(_where(flt))
    return int(session.scalar(stmt) or 0)


def failed_ids(session: Session, flt: QueueFilter) -> list[int]:
    """The failed items inside the current filter (for "Retry failed in filter")."""
    failed = ItemStatus.FAILED.value
    if flt.statuses and failed not in flt.statuses:
        return []
    clauses = [
        *filter_clauses(QueueFilter(**{**flt.__dict__, "statuses": ()})),
        QueueItemRow.status == failed,
    ]
    # In pages of 5,000 (keyset on id), yielding between them: one read of 100,000 ids held the GIL long
    # enough to stall the GUI thread for 130-180 ms (benchmarks/bulk_retry.py); in pages, under 15 ms.
    ids: list[int] = []
    while True:
        after = QueueItemRow.id > ids[-1] if ids else true()
        page = list(
            session.scalars(
                select(QueueItemRow.id).where(and_(*clauses), after).order_by(QueueItemRow.id).limit(_ID_PAGE)
            )
        )
        ids += page
        if len(page) < _ID_PAGE:
            return ids
        time.sleep(0)  # let the GUI thread run


_ID_PAGE = 5000


EXPORT_COLUMNS = (
    "id",
    "createdAt",
    "priority",
    "status",
    "trigger",
    "event",
    "entityType",
    "entityId",
    "entityCode",
    "url",
    "attempts",
    "lastAttemptAt",
    "nextAttemptAt",
    "responseStatus",
    "responseMessage",
    "durationMs",
)


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def export_batches(session: Session, flt: QueueFilter, *, batch: int = 5000) -> Iterator[list[list[str]]]:
    """The matching rows as CSV cells, oldest first, in batches (keyset pagination: no OFFSET)."""
    last = 0
    while True:
        stmt = select(*_ROW_COLUMNS).where(_where(flt, last)).order_by(QueueItemRow.id).limit(batch)
        rows = [_row(r) for r in session.execute(stmt)]
        if not rows:
            return
        last = rows[-1].id
        yield [_export_cells(r) for r in rows]


def _export_cells(r: QueueRow) -> list[str]:
    return [
        str(r.id),
        _iso(r.created_at),
        str(r.priority),
        r.status,
        r.trigger_title,
        r.event_name,
        r.entity_type,
        r.entity_id or "",
        r.entity_code or "",
        r.url,
        str(r.attempts),
        _iso(r.last_attempt_at),
        _iso(r.next_attempt_at),
        "" if r.response_status is None else str(r.response_status),
        r.response_message or "",
        "" if r.duration_ms is None else f"{r.duration_ms:.0f}",
    ]
