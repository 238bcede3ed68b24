"""Endpoints in the database: their circuit breaker rows, holding and releasing their waiting items, pause and
resume by a person, and the list that ``endpoints list`` shows (SPEC §11, docs/endpoints.md).

The rules are domain/breaker.py's; this module stores them. An endpoint gets a row the first time it fails or
is paused; endpoints without a row are healthy. Holding an endpoint's items moves only their
``next_attempt_at`` (to the next probe time, or NULL while paused): status and attempts never change, so the
queue stays exact whatever happens — a crash rolls the transaction back, a second engine sees the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.audit import AuditAction, FieldChange, Subject, SubjectKind
from shopctrl_desktop.domain.breaker import (
    Circuit,
    CircuitState,
    endpoint_key,
    host_variants,
    pause,
    resume,
    short_name,
)
from shopctrl_desktop.domain.endpoint_stats import state_rank
from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.domain.queue import WAITING_STATUSES, status_values
from shopctrl_desktop.domain.rate_limit import parse_rate
from shopctrl_desktop.domain.roles import Capability
from shopctrl_desktop.store.audit import os_user, record
from shopctrl_desktop.store.ingest import begin_write
from shopctrl_desktop.store.models import EndpointRow, QueueItemRow, TriggerRow, WebhookActionRow, utcnow
from shopctrl_desktop.store.roles import current_identity

_WAITING = status_values(WAITING_STATUSES)
_CHUNK = 500


class EndpointNotFound(LookupError):
    """No endpoint has that id or URL (the message says so in words)."""


class RateLimitNotAllowed(PermissionError):
    """Only an admin may change a rate limit (the message says so in words)."""


# ---------------------------------------------------------------------------------------- rows <-> circuits
def circuit_of(row: EndpointRow | None) -> Circuit:
    if row is None:
        return Circuit()
    return Circuit(
        state=CircuitState(row.state),
        consecutive_failures=row.consecutive_failures,
        failing_since=row.failing_since,
        opened_at=row.opened_at,
        next_probe_at=row.next_probe_at,
        wait_seconds=row.wait_seconds,
        closed_at=row.closed_at,
        paused=row.paused,
        paused_at=row.paused_at,
        last_error=row.last_error,
    )


def store_circuit(row: EndpointRow, circuit: Circuit, now: datetime) -> None:
    row.state = circuit.state.value
    row.consecutive_failures = circuit.consecutive_failures
    row.failing_since = circuit.failing_since
    row.opened_at = circuit.opened_at
    row.next_probe_at = circuit.next_probe_at
    row.wait_seconds = circuit.wait_seconds
    row.closed_at = circuit.closed_at
    row.paused = circuit.paused
    row.paused_at = circuit.paused_at
    row.last_error = (circuit.last_error or "")[:2000] or None
    row.updated_at = now


def attention_rows(session: Session) -> list[EndpointRow]:
    """Endpoints that are not plainly healthy (counting failures, open, probing or paused)."""
    return list(
        session.scalars(
            select(EndpointRow).where(
                or_(
                    EndpointRow.state != CircuitState.CLOSED.value,
                    EndpointRow.paused.is_(True),
                    EndpointRow.consecutive_failures > 0,
                )
            )
        )
    )


def lock_rows(
    session: Session, keys: Iterable[str], *, create: bool, now: datetime
) -> dict[str, EndpointRow]:
    """The rows of these endpoints, locked for this transaction (PostgreSQL ``FOR UPDATE``; SQLite's write
    transaction is already exclusive), made first when ``create``. Locked in key order (no deadlock between
    two engines locking the same endpoints)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    if create:
        dialect = session.get_bind().dialect.name
        values = [
            {
                "url": k,
                "state": "closed",
                "consecutive_failures": 0,
                "wait_seconds": 0.0,
                "paused": False,
                "last_action": "",
                "updated_at": now,
            }
            for k in wanted
        ]
        if dialect in ("sqlite", "postgresql"):
            insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
            session.execute(insert(EndpointRow).values(values).on_conflict_do_nothing(index_elements=["url"]))
        else:
            have = set(session.scalars(select(EndpointRow.url).where(EndpointRow.url.in_(wanted))))
            session.add_all(EndpointRow(**v) for v in values if v["url"] not in have)
            session.flush()
    rows = session.scalars(
        select(EndpointRow)
        .where(EndpointRow.url.in_(wanted))
        .order_by(EndpointRow.url)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.url: row for row in rows}


# ---------------------------------------------------------------------------------------- the endpoint's items
def waiting_ids(session: Session, key: str, *, lock: bool = False) -> list[int]:
    """Ids of the endpoint's waiting (queued/retrying) items. Read by host (a few values), then by key.
    ``lock``: PostgreSQL skips rows another engine is claiming right now (it gates them itself)."""
    query = select(QueueItemRow.id, QueueItemRow.url).where(
        QueueItemRow.status.in_(_WAITING), QueueItemRow.host.in_(host_variants(key))
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    return [item_id for item_id, url in session.execute(query) if endpoint_key(url) == key]


def pending_count(session: Session, key: str) -> int:
    """Items of the endpoint not finished: waiting, or in an engine's hand (about to go back)."""
    query = select(QueueItemRow.url).where(
        QueueItemRow.status.in_((*_WAITING, ItemStatus.SENDING.value)),
        QueueItemRow.host.in_(host_variants(key)),
    )
    return sum(1 for url in session.scalars(query) if endpoint_key(url) == key)


def hold_waiting(session: Session, key: str, until: datetime | None) -> int:
    """The endpoint's waiting items wait until ``until`` (None: until resumed) without spending an attempt;
    an item already due later keeps its time. Returns how many items wait for it."""
    ids = waiting_ids(session, key, lock=True)
    column = QueueItemRow.next_attempt_at
    due_earlier = column.is_not(None) if until is None else or_(column.is_(None), column < until)
    for start in range(0, len(ids), _CHUNK):
        session.execute(
            update(QueueItemRow)
            .where(
                QueueItemRow.id.in_(ids[start : start + _CHUNK]),
                QueueItemRow.status.in_(_WAITING),
                due_earlier,
            )
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )
    return len(ids)


def release_waiting(session: Session, key: str, now: datetime) -> int:
    """The endpoint is back (or resumed): every waiting item of it is due now. Returns how many."""
    ids = waiting_ids(session, key, lock=True)
    column = QueueItemRow.next_attempt_at
    for start in range(0, len(ids), _CHUNK):
        session.execute(
            update(QueueItemRow)
            .where(
                QueueItemRow.id.in_(ids[start : start + _CHUNK]),
                QueueItemRow.status.in_(_WAITING),
                or_(column.is_(None), column > now),
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(ids)


# ---------------------------------------------------------------------------------------- a person's commands
def _known_keys(session: Session) -> dict[str, int | None]:
    """Every endpoint: those with a row (their id) and those the actions use (no row yet: healthy)."""
    keys: dict[str, int | None] = {
        endpoint_key(url): None for url in session.scalars(select(WebhookActionRow.url).distinct())
    }
    for row_id, url in session.execute(select(EndpointRow.id, EndpointRow.url)):
        keys[url] = row_id
    return keys


def find_endpoint(session: Session, ident: str) -> str:
    """The endpoint named by an id (``3``) or a URL (any URL of it: query, case and default port do not
    matter). EndpointNotFound says which endpoints there are when none matches."""
    ident = ident.strip()
    known = _known_keys(session)
    if ident.isdigit():
        for key, row_id in known.items():
            if row_id == int(ident):
                return key
        raise EndpointNotFound(f"there is no endpoint {ident}; 'endpoints list' shows them")
    key = endpoint_key(ident)
    if key in known:
        return key
    raise EndpointNotFound(
        f"no action delivers to {key}; 'endpoints list' shows the endpoints (give an ID or one of their URLs)"
    )


def _subject(row: EndpointRow) -> Subject:
    return Subject(SubjectKind.ENDPOINT, row.id, short_name(row.url))


def pause_endpoint(session: Session, ident: str, now: datetime | None = None) -> tuple[str, int, bool]:
    """Pause deliveries to an endpoint: its items wait and keep their attempts. Audited. Returns (key, items
    waiting, whether it was running before)."""
    now = now or utcnow()
    begin_write(session)
    key = find_endpoint(session, ident)
    row = lock_rows(session, [key], create=True, now=now)[key]
    before = circuit_of(row)
    if before.paused:
        return key, len(waiting_ids(session, key)), False
    store_circuit(row, pause(before, now), now)
    waiting = hold_waiting(session, key, None)
    record(session, AuditAction.ENDPOINT_PAUSED, _subject(row), [FieldChange("paused", False, True)])
    return key, waiting, True


def resume_endpoint(session: Session, ident: str, now: datetime | None = None) -> tuple[str, int, bool]:
    """Resume an endpoint (paused by a person or by the breaker, or with an open circuit): closed, its waiting
    items due now. Audited. Returns (key, items released, whether it was paused or open before)."""
    now = now or utcnow()
    begin_write(session)
    key = find_endpoint(session, ident)
    row = lock_rows(session, [key], create=True, now=now)[key]
    before = circuit_of(row)
    if not before.blocked:
        return key, 0, False
    store_circuit(row, resume(before, now), now)
    released = release_waiting(session, key, now)
    record(
        session,
        AuditAction.ENDPOINT_RESUMED,
        _subject(row),
        [FieldChange("state", before.label, "healthy")],
    )
    return key, released, True


def set_rate_limit(
    session: Session, ident: str, rate: float | None, now: datetime | None = None
) -> tuple[str, float | None, bool]:
    """Limit deliveries to an endpoint to ``rate`` requests per second (None: no limit); the rate is checked
    by domain/rate_limit.py ``parse_rate`` (RateLimitError), the login by its role (RateLimitNotAllowed: admins
    only; on PostgreSQL a support login could otherwise write the row it may pause). Audited. A running engine picks it up within a
    few seconds. Returns (key, the limit before, whether it changed)."""
    now = now or utcnow()
    if rate is not None:
        rate = parse_rate(rate)
    identity = current_identity(session, os_user())
    if Capability.EDIT_SETTINGS not in identity.capabilities:
        role = identity.role.value if identity.role else "no role"
        raise RateLimitNotAllowed(
            f"only an admin can change rate limits (you are signed in as {identity.user}, {role})"
        )
    begin_write(session)
    key = find_endpoint(session, ident)
    row = lock_rows(session, [key], create=True, now=now)[key]
    before = row.rate_limit
    if before == rate:
        return key, before, False
    row.rate_limit = rate
    row.updated_at = now
    session.flush()
    record(
        session,
        AuditAction.ENDPOINT_RATE_LIMITED,
        _subject(row),
        [FieldChange("rateLimit", before, rate)],
    )
    return key, before, True


def rate_limits(session: Session) -> dict[str, float]:
    """The limited endpoints: endpoint key -> requests per second (the delivery engine reads it every few
    seconds; one small query)."""
    query = select(EndpointRow.url, EndpointRow.rate_limit).where(EndpointRow.rate_limit.is_not(None))
    return {url: float(rate) for url, rate in session.execute(query) if rate is not None}


# ---------------------------------------------------------------------------------------- the list
@dataclass(frozen=True)
class EndpointSummary:
    id: int | None  # None: no row yet (never failed, never paused)
    url: str
    state: str  # the breaker's label here; store/endpoint_stats.py endpoint_page applies the page's rule
    queued: int
    retrying: int
    failed: int
    last_error: str | None
    failing_since: datetime | None
    next_probe_at: datetime | None
    triggers: tuple[str, ...]
    rate_limit: float | None = None  # requests per second; None: no limit
    failed_last_hour: int = 0  # items that failed for good in the last hour (domain/endpoint_stats.py)

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat().replace("+00:00", "Z") if value else None

        return {
            "id": self.id,
            "url": self.url,
            "state": self.state,
            "queued": self.queued,
            "retrying": self.retrying,
            "failed": self.failed,
            "lastError": self.last_error,
            "failingSince": iso(self.failing_since),
            "nextProbeAt": iso(self.next_probe_at),
            "triggers": list(self.triggers),
            "rateLimit": self.rate_limit,
        }


def list_endpoints(session: Session) -> list[EndpointSummary]:
    """Every endpoint the actions use or that has a row, with its item counts; failing ones first."""
    rows = {row.url: row for row in session.scalars(select(EndpointRow))}
    triggers: dict[str, set[str]] = {}
    for url, title in session.execute(
        select(WebhookActionRow.url, TriggerRow.title).join(
            TriggerRow, WebhookActionRow.trigger_id == TriggerRow.id
        )
    ):
        triggers.setdefault(endpoint_key(url), set()).add(title)
    counts: dict[str, dict[str, int]] = {}
    wanted = (ItemStatus.QUEUED.value, ItemStatus.RETRYING.value, ItemStatus.FAILED.value)
    for url, status, n in session.execute(
        select(QueueItemRow.url, QueueItemRow.status, func.count())
        .where(QueueItemRow.status.in_(wanted))
        .group_by(QueueItemRow.url, QueueItemRow.status)
    ):
        per = counts.setdefault(endpoint_key(url), {})
        per[status] = per.get(status, 0) + int(n)
    recently_failed: dict[str, int] = {}
    for url, n in session.execute(
        select(QueueItemRow.url, func.count())
        .where(
            QueueItemRow.status == ItemStatus.FAILED.value,
            QueueItemRow.finished_at >= utcnow() - timedelta(hours=1),
        )
        .group_by(QueueItemRow.url)
    ):
        key = endpoint_key(url)
        recently_failed[key] = recently_failed.get(key, 0) + int(n)
    result = []
    for key in {*rows, *triggers, *counts}:
        row = rows.get(key)
        circuit = circuit_of(row)
        per = counts.get(key, {})
        result.append(
            EndpointSummary(
                id=row.id if row else None,
                url=key,
                state=circuit.label,
                queued=per.get("queued", 0),
                retrying=per.get("retrying", 0),
                failed=per.get("failed", 0),
                last_error=circuit.last_error,
                failing_since=circuit.failing_since,
                next_probe_at=circuit.next_probe_at if circuit.blocked else None,
                triggers=tuple(sorted(triggers.get(key, ()))),
                rate_limit=row.rate_limit if row else None,
                failed_last_hour=recently_failed.get(key, 0),
            )
        )
    result.sort(key=lambda s: (state_rank(s.state), s.url))
    return result
