"""Claiming due queue items under a lease, and recording attempt outcomes in groups.

Claim: due = ``queued``/``retrying`` with ``next_attempt_at <= now``, plus ``sending`` items whose lease
expired (a crashed or killed engine); highest priority first, then oldest. One write transaction per
claim: on SQLite ``BEGIN IMMEDIATE`` (one writer at a time, so no two engines take the same row); on
PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED`` so several engines share one database and no item is sent
twice at the same time. The ``UPDATE`` re-checks the due condition either way.

Record: one transaction for many outcomes (two statements on SQLite and PostgreSQL: claim_sqlite.py,
claim_postgres.py) — attempt rows, item status/attempts/times/response, the next
attempt time from the RetryPolicy, and an Error alert for each item that failed for good. An item whose
lease was lost (another engine took it over) keeps its attempt row but is not changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, NamedTuple, cast

from sqlalchemy import Integer, Select, Table, bindparam, case, func, insert, or_, select, union_all, update
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.model import AlertSeverity, ItemStatus, Priority
from shopctrl_desktop.domain.outcome import BODY_LIMIT, AttemptResult, decide
from shopctrl_desktop.domain.queue import FINAL_STATUSES, WAITING_STATUSES, ItemChange, status_values
from shopctrl_desktop.domain.retry import RetryPolicy
from shopctrl_desktop.domain.superseding import SUPERSEDING_STATUSES, superseded_message, superseding_item
from shopctrl_desktop.store import claim_postgres as pg
from shopctrl_desktop.store import claim_sqlite as fast
from shopctrl_desktop.store.alerts import create_alert
from shopctrl_desktop.store.endpoint_stats import add_attempts
from shopctrl_desktop.store.ingest import begin_write
from shopctrl_desktop.store.ingest_sql import UNIQUE_KEY_LOCKS, IntakeSql
from shopctrl_desktop.store.models import DeliveryAttemptRow, QueueItemRow, WebhookActionRow, utcnow

_ITEMS = cast(Table, QueueItemRow.__table__)
_ATTEMPTS = cast(Table, DeliveryAttemptRow.__table__)
SENDING = ItemStatus.SENDING.value
_WAITING = status_values(WAITING_STATUSES)
_STATUS_VALUES = {status: status.value for status in ItemStatus}  # Enum.value costs a descriptor call
_FINAL = frozenset(status_values(FINAL_STATUSES))
_SUPERSEDING = status_values(SUPERSEDING_STATUSES)


class ClaimedItem(NamedTuple):
    """What the sender needs of one claimed item (no ORM row leaves the session's thread).

    Immutable; a named tuple because thousands are made a second and they live until their attempt is
    recorded: a tuple is the cheapest to create, and one holding only strings, numbers and an all-string
    dict drops out of the garbage collector's tracking (the frozen dataclass it replaced cost ~3x to make
    and was traversed by every collection). Items of one action share one ``headers`` dict (parsed once,
    see :func:`_headers`): never change it in place.
    """

    id: int
    attempts: int  # made before this claim
    priority: int
    method: str
    url: str
    host: str
    headers: dict[str, str]
    body: str
    action_id: int | None
    trigger_id: int | None
    trigger_title: str
    event_name: str

    def __repr__(self) -> str:  # headers may carry credentials, the body customer data
        return (
            f"ClaimedItem(id={self.id}, attempts={self.attempts}, priority={self.priority}, "
            f"method={self.method!r}, url={self.url!r}, action_id={self.action_id})"
        )


@dataclass
class RecordResult:
    changes: list[ItemChange] = field(default_factory=list)
    alerts: list[tuple[int, str, str]] = field(default_factory=list)  # (alert id, severity, title)
    lost: list[int] = field(default_factory=list)  # items whose lease another engine had taken
    retry_delays: dict[int, float] = field(default_factory=dict)  # item id -> seconds until its retry


def _waiting_back(now: datetime) -> dict[str, object]:
    """Values that put a ``sending`` item back to due without counting an attempt."""
    return {
        "status": case((_ITEMS.c.attempts > 0, ItemStatus.RETRYING.value), else_=ItemStatus.QUEUED.value),
        "lease_owner": None,
        "lease_expires_at": None,
        "next_attempt_at": now,
    }


def recover_expired_leases(session: Session, now: datetime | None = None) -> int:
    """``sending`` items whose lease expired go back to due; returns how many."""
    now = now or utcnow()
    result = session.execute(
        update(_ITEMS)
        .where(
            _ITEMS.c.status == SENDING,
            or_(_ITEMS.c.lease_expires_at.is_(None), _ITEMS.c.lease_expires_at <= now),
        )
        .values(**_waiting_back(now))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release_owner(session: Session, owner_prefix: str, now: datetime | None = None) -> int:
    """The ``sending`` items of an engine known to be gone (``serve``'s supervisor saw its process exit) go
    back to due at once instead of after their lease; returns how many."""
    pattern = owner_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    result = session.execute(
        update(_ITEMS)
        .where(_ITEMS.c.status == SENDING, _ITEMS.c.lease_owner.like(pattern, escape="\\"))
        .values(**_waiting_back(now or utcnow()))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release_items(session: Session, owner: str, ids: Iterable[int], now: datetime | None = None) -> int:
    """Give claimed items back unsent (engine stopping): due again at once, no attempt counted."""
    wanted = list(ids)
    if not wanted:
        return 0
    result = session.execute(
        update(_ITEMS)
        .where(_ITEMS.c.id.in_(wanted), _ITEMS.c.status == SENDING, _ITEMS.c.lease_owner == owner)
        .values(**_waiting_back(now or utcnow()))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def extend_leases(session: Session, owner: str, ids: Iterable[int], until: datetime) -> int:
    """Heartbeat for items still in hand (waiting for a slot or being sent)."""
    wanted = list(ids)
    total = 0
    for start in range(0, len(wanted), 500):
        result = session.execute(
            update(_ITEMS)
            .where(_ITEMS.c.id.in_(wanted[start : start + 500]), _ITEMS.c.lease_owner == owner)
            .values(lease_expires_at=until)
        )
        total += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return total


def lease_seconds_for(session: Session, margin: float = 5.0) -> float:
    """A lease longer than any action's timeout (items in hand are also kept alive by heartbeats)."""
    longest = session.scalar(select(func.max(WebhookActionRow.timeout_seconds)))
    return float(longest or 30.0) + margin


def _build_candidates(postgresql: bool) -> Select[Any]:
    """Due item ids (and hosts) in claim order: priority DESC, then id; built once, bound per call.

    SQLite cannot serve ``status IN (…) ORDER BY priority DESC, id`` from the (status, priority, id) index
    and sorts every waiting row instead (≈15 ms at 20,000 items). One index range per (status, priority)
    — five priorities, two waiting statuses — each already in id order and stopping at ``scan`` rows,
    makes it a merge of at most 10 × ``scan`` rows. PostgreSQL gets the plain query with
    ``FOR UPDATE SKIP LOCKED`` (row locks cannot be taken through a UNION).
    """
    due = (
        _ITEMS.c.next_attempt_at <= bindparam("p_now", type_=_ITEMS.c.next_attempt_at.type),
        _ITEMS.c.host.not_in(bindparam("p_full", expanding=True)),
    )
    scan = bindparam("p_scan", type_=Integer)
    if postgresql:
        return (
            select(_ITEMS.c.id, _ITEMS.c.host)
            .where(_ITEMS.c.status.in_(_WAITING), *due)
            .order_by(_ITEMS.c.priority.desc(), _ITEMS.c.id)
            .limit(scan)
            .with_for_update(skip_locked=True)
        )
    parts = [
        select(_ITEMS.c.id, _ITEMS.c.host, _ITEMS.c.priority)
        .where(_ITEMS.c.status == status, _ITEMS.c.priority == int(priority), *due)
        .order_by(_ITEMS.c.id)
        .limit(scan)
        .subquery()
        for priority in sorted(Priority, reverse=True)
        for status in _WAITING
    ]
    merged = union_all(*(select(p.c.id, p.c.host, p.c.priority) for p in parts)).subquery()
    return select(merged.c.id, merged.c.host).order_by(merged.c.priority.desc(), merged.c.id).limit(scan)


# Built once: SQLAlchemy then finds the compiled SQL in its cache instead of rebuilding ten subqueries.
_CANDIDATES = {False: _build_candidates(False), True: _build_candidates(True)}
_CLAIM = (
    update(_ITEMS)
    .where(
        _ITEMS.c.id.in_(bindparam("p_ids", expanding=True)),
        _ITEMS.c.status.in_(_WAITING),
        _ITEMS.c.next_attempt_at <= bindparam("p_now", type_=_ITEMS.c.next_attempt_at.type),
    )
    .values(
        status=SENDING,
        lease_owner=bindparam("p_owner", type_=_ITEMS.c.lease_owner.type),
        lease_expires_at=bindparam("p_until", type_=_ITEMS.c.lease_expires_at.type),
    )
    .returning(
        _ITEMS.c.id,
        _ITEMS.c.attempts,
        _ITEMS.c.priority,
        _ITEMS.c.method,
        _ITEMS.c.url,
        _ITEMS.c.host,
        _ITEMS.c.headers_json,
        _ITEMS.c.body,
        _ITEMS.c.action_id,
        _ITEMS.c.trigger_id,
        _ITEMS.c.trigger_title,
        _ITEMS.c.event_name,
    )
)
_OWNED = select(_ITEMS.c.id).where(
    _ITEMS.c.id.in_(bindparam("p_ids", expanding=True)),
    _ITEMS.c.status == SENDING,
    _ITEMS.c.lease_owner == bindparam("p_owner", type_=_ITEMS.c.lease_owner.type),
)
#: An item update also clears the lease.
_RECORD_COLUMNS = (*fast.RECORD_COLUMNS, "lease_owner", "lease_expires_at")
_RECORD = (
    update(_ITEMS)
    .where(_ITEMS.c.id == bindparam("iid"))
    .values({name: bindparam(name, type_=_ITEMS.c[name].type) for name in _RECORD_COLUMNS})
)
_INSERT_ATTEMPTS = insert(_ATTEMPTS)


def _same(value: datetime | None) -> datetime | None:
    return value


def _not_serializable(value: object) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# json.dumps builds a new C encoder on every call; one kept encoder halves the cost per outcome.
# (json.encoder has c_make_encoder = None where CPython's _json accelerator is missing.)
_HEADERS_ENCODER = (
    c_make_encoder(None, _not_serializable, encode_basestring_ascii, None, ": ", ", ", False, False, True)
    if c_make_encoder is not None
    else None
)


def _dump_headers(headers: dict[str, str]) -> str:
    """``json.dumps(headers)``, byte for byte."""
    if _HEADERS_ENCODER is None:
        return json.dumps(headers)
    return "".join(_HEADERS_ENCODER(headers, 0))


@lru_cache(maxsize=256)
def _headers(raw: str | None) -> dict[str, str]:
    """``headers_json`` parsed once per distinct text: the items of one action carry the same headers,
    and re-parsing them for every claimed item was a measurable share of the database thread's time."""
    return json.loads(raw or "{}")  # type: ignore[no-any-return]


def _update_params(row: list[Any]) -> dict[str, Any]:
    params = dict(zip(("iid", *fast.RECORD_COLUMNS), row, strict=True))
    params.update(lease_owner=None, lease_expires_at=None)
    return params


def _eligible(
    rows: Iterable[Any], limit: int, per_host: int | None, host_in_hand: Mapping[str, int] | None
) -> list[int]:
    """The first ``limit`` candidate ids (claim order) whose host stays within ``per_host``."""
    in_hand = dict(host_in_hand or {})
    chosen: list[int] = []
    for item_id, host in rows:
        if per_host is not None:
            if in_hand.get(host, 0) >= per_host:
                continue
            in_hand[host] = in_hand.get(host, 0) + 1
        chosen.append(item_id)
        if len(chosen) >= limit:
            break
    return chosen


def claim_due(
    session: Session,
    owner: str,
    limit: int,
    now: datetime,
    lease_seconds: float,
    *,
    per_host: int | None = None,
    host_in_hand: Mapping[str, int] | None = None,
    recover: bool = True,
) -> list[ClaimedItem]:
    """Claim up to ``limit`` due items for ``owner`` (ordered priority DESC, id).

    With ``per_host``, no host gets more than ``per_host - host_in_hand[host]`` new items, and hosts with
    no room are skipped in SQL, so one slow endpoint cannot fill the batch.
    """
    if limit <= 0:
        return []
    begin_write(session)
    if recover:
        recover_expired_leases(session, now)
    full = [h for h, n in (host_in_hand or {}).items() if n >= per_host] if per_host is not None else []
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    # Read just ``limit`` candidates first; only when the per-host cap skipped some of them (and there are
    # more) read a wider window. Both give the first ``limit`` eligible items in claim order.
    wide = min(max(limit * 4, 64), 2000)
    scans = [limit] if per_host is None else sorted({min(limit, wide), wide})
    chosen: list[int] = []
    for scan in scans:
        if sqlite:
            rows: list[Any] = list(fast.candidates(conn, now, full, scan))
        else:
            postgresql = conn.dialect.name == "postgresql"
            params = {"p_now": now, "p_full": full, "p_scan": scan}
            rows = list(conn.execute(_CANDIDATES[postgresql], params))
        chosen = _eligible(rows, limit, per_host, host_in_hand)
        if len(chosen) >= limit or len(rows) < scan:
            break
    if not chosen:
        return []
    until = now + timedelta(seconds=lease_seconds)
    if sqlite:
        claimed: Iterable[Sequence[Any]] = fast.claim(conn, chosen, owner, now, until)
    else:
        params = {"p_ids": chosen, "p_now": now, "p_owner": owner, "p_until": until}
        claimed = conn.execute(_CLAIM, params)
    # positional, in field order: id, attempts, priority, method, url, host, headers, body, action_id,
    # trigger_id, trigger_title, event_name (keywords cost a named tuple a dict per item)
    items = [
        ClaimedItem(r[0], r[1], r[2], r[3], r[4], r[5], _headers(r[6]), r[7] or "", r[8], r[9], r[10], r[11])
        for r in claimed
    ]
    items.sort(key=lambda it: (-it.priority, it.id))
    return items


def _alert_text(item: ClaimedItem, reason: str, summary: str) -> tuple[str, str]:
    title = f"Delivery failed: {item.trigger_title or 'deleted trigger'}"
    message = (
        f'Trigger "{item.trigger_title}" ({item.event_name}) could not deliver queue item {item.id} '
        f"to {item.method} {item.url}: {reason}. Last answer: {summary}"
    )
    return title, message


class _FailureFacts(NamedTuple):
    round_start: dict[int, int]  # item id -> attempts made before its last manual retry (only when > 0)
    superseded_by: dict[int, int]  # item id -> the newer item of its unique key that supersedes it


def _failure_facts(session: Session, failed_ids: list[int]) -> _FailureFacts:
    """What deciding a failed attempt needs beyond the attempt: the item's retry round (a manual retry starts
    a fresh schedule) and whether a newer item of its unique key supersedes it (domain/superseding.py).

    Read only for failures, so a batch of deliveries costs nothing more. On PostgreSQL the unique keys are
    locked first (the intake's advisory locks, store/ingest_sql.py): an intake that is queueing a newer item
    for one of these keys right now commits before this reads, and a later one finds this item ``retrying``
    and cancels it itself — so across engines an older payload is never retried after a newer one queued."""
    facts = _FailureFacts({}, {})
    keys: dict[int, str] = {}
    for start in range(0, len(failed_ids), 500):
        rows = session.execute(
            select(_ITEMS.c.id, _ITEMS.c.round_start_attempts, _ITEMS.c.unique_key).where(
                _ITEMS.c.id.in_(failed_ids[start : start + 500])
            )
        )
        for item_id, round_start, key in rows:
            if round_start:
                facts.round_start[item_id] = round_start
            if key is not None:
                keys[item_id] = key
    if not keys:
        return facts
    wanted = set(keys.values())
    IntakeSql(session).lock_keys(UNIQUE_KEY_LOCKS, wanted)
    newest: dict[str, int] = {}
    listed = sorted(wanted)
    for start in range(0, len(listed), 500):
        newest.update(
            (key, newest_id)
            for key, newest_id in session.execute(
                select(_ITEMS.c.unique_key, func.max(_ITEMS.c.id))
                .where(
                    _ITEMS.c.unique_key.in_(listed[start : start + 500]), _ITEMS.c.status.in_(_SUPERSEDING)
                )
                .group_by(_ITEMS.c.unique_key)
            )
        )
    for item_id, key in keys.items():
        newer = superseding_item(item_id, newest.get(key))
        if newer is not None:
            facts.superseded_by[item_id] = newer
    return facts


def record_outcomes(
    session: Session,
    owner: str,
    outcomes: Sequence[tuple[ClaimedItem, AttemptResult]],
    policy: RetryPolicy,
    now: datetime | None = None,
) -> RecordResult:
    """Record many attempts in one transaction (the caller commits)."""
    result = RecordResult()
    if not outcomes:
        return result
    now = now or utcnow()
    begin_write(session)
    ids = [item.id for item, _ in outcomes]
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    owned: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        if sqlite:
            owned |= fast.owned(conn, chunk, owner)
        else:
            owned.update(conn.scalars(_OWNED, {"p_ids": chunk, "p_owner": owner}))
    postgresql = conn.dialect.name == "postgresql"
    when = fast.sqlite_time if sqlite else pg.naive_utc if postgresql else _same
    finished_at = when(now)
    attempt_rows: list[list[Any]] = []
    item_updates: list[list[Any]] = []
    alerts_to_make = []
    changes = result.changes
    dumps = _dump_headers
    failed_ids = [item.id for item, res in outcomes if not res.ok and item.id in owned]
    facts = _failure_facts(session, failed_ids) if failed_ids else _FailureFacts({}, {})
    for item, res in outcomes:
        item_id = item.id
        number = item.attempts + 1
        status_code = res.status_code
        body = res.response_body
        started_at = when(res.started_at)
        attempt_rows.append(
            [
                item_id,
                number,
                started_at,
                res.duration_ms,
                status_code,
                dumps(res.response_headers) if status_code is not None else None,
                body[:BODY_LIMIT] if body is not None else None,
                res.error,
            ]
        )
        if item_id not in owned:
            result.lost.append(item_id)
            continue
        status, delay, message, alert_reason = decide(res, number, policy, facts.round_start.get(item_id, 0))
        if status is ItemStatus.RETRYING and item_id in facts.superseded_by:
            status, delay, message = (
                ItemStatus.CANCELLED,
                None,
                superseded_message(facts.superseded_by[item_id]),
            )
        status_value = _STATUS_VALUES[status]
        item_updates.append(
            [
                item_id,
                status_value,
                number,
                started_at,
                when(now + timedelta(seconds=delay)) if delay is not None else None,
                finished_at if status_value in _FINAL else None,
                status_code,
                message,
                res.duration_ms,
            ]
        )
        if delay is not None:
            result.retry_delays[item_id] = delay
        changes.append(ItemChange(item_id, status, number, status_code, message))
        if alert_reason is not None:
            alerts_to_make.append((item, alert_reason, message))
    if sqlite:
        fast.record(conn, attempt_rows, item_updates)
    elif postgresql:
        pg.record(conn, attempt_rows, item_updates)
    else:
        if attempt_rows:
            conn.execute(
                _INSERT_ATTEMPTS, [dict(zip(fast.ATTEMPT_COLUMNS, row, strict=True)) for row in attempt_rows]
            )
        if item_updates:
            conn.execute(_RECORD, [_update_params(row) for row in item_updates])
    add_attempts(conn, outcomes)  # the Endpoints page's per-minute figures: one upsert for the batch
    for item, reason, summary in alerts_to_make:
        title, message = _alert_text(item, reason, summary)
        alert_id = create_alert(session, AlertSeverity.ERROR, title, message, item.id, item.trigger_id)
        result.alerts.append((alert_id, AlertSeverity.ERROR.value, title))
    return result
