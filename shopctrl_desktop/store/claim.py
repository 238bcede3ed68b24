"""Claiming due queue items under a lease, and recording attempt outcomes in groups.

Claim: due = ``queued``/``retrying`` with ``next_attempt_at <= now``, plus ``sending`` items whose lease
expired (a crashed or killed engine); highest priority first, then oldest. One write transaction per
claim: on SQLite ``BEGIN IMMEDIATE`` (one writer at a time, so no two engines take the same row); on
PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED`` so several engines share one database and no item is sent
twice at the same time. The ``UPDATE`` re-checks the due condition either way.

Record: one transaction for many outcomes — attempt rows, item status/attempts/times/response, the next
attempt time from the RetryPolicy, and an Error alert for each item that failed for good. An item whose
lease was lost (another engine took it over) keeps its attempt row but is not changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.model import WAITING_STATUSES, AlertSeverity, ItemStatus, WebhookAction
from shopctrl_desktop.domain.outcome import BODY_LIMIT, AttemptResult, decide
from shopctrl_desktop.domain.retry import RetryPolicy
from shopctrl_desktop.engine.progress import ItemChange
from shopctrl_desktop.store.alerts import create_alert
from shopctrl_desktop.store.ingest import begin_write
from shopctrl_desktop.store.models import DeliveryAttemptRow, QueueItemRow, WebhookActionRow, utcnow
from shopctrl_desktop.store.secrets import SecretBox
from shopctrl_desktop.store.triggers import action_from_row

_ITEMS = QueueItemRow.__table__
_ATTEMPTS = DeliveryAttemptRow.__table__
SENDING = ItemStatus.SENDING.value


@dataclass(frozen=True)
class ClaimedItem:
    """What the sender needs of one claimed item (no ORM row leaves the session's thread)."""

    id: int
    attempts: int  # made before this claim
    priority: int
    method: str
    url: str
    host: str
    headers: dict[str, str] = field(repr=False)
    body: str = field(repr=False)
    action_id: int | None
    trigger_id: int | None
    trigger_title: str
    event_name: str


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


def claim_due(
    session: Session,
    owner: str,
    limit: int,
    now: datetime,
    lease_seconds: float,
    *,
    per_host: int | None = None,
    host_in_hand: Mapping[str, int] | None = None,
) -> list[ClaimedItem]:
    """Claim up to ``limit`` due items for ``owner`` (ordered priority DESC, id).

    With ``per_host``, no host gets more than ``per_host - host_in_hand[host]`` new items, and hosts with
    no room are skipped in SQL, so one slow endpoint cannot fill the batch.
    """
    if limit <= 0:
        return []
    begin_write(session)
    recover_expired_leases(session, now)
    in_hand = dict(host_in_hand or {})
    query = select(_ITEMS.c.id, _ITEMS.c.host).where(
        _ITEMS.c.status.in_(WAITING_STATUSES), _ITEMS.c.next_attempt_at <= now
    )
    if per_host is not None:
        full = [h for h, n in in_hand.items() if n >= per_host]
        if full:
            query = query.where(_ITEMS.c.host.not_in(full))
    scan = limit if per_host is None else min(max(limit * 4, 64), 2000)
    query = query.order_by(_ITEMS.c.priority.desc(), _ITEMS.c.id).limit(scan)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    chosen: list[int] = []
    for item_id, host in session.execute(query):
        if per_host is not None:
            if in_hand.get(host, 0) >= per_host:
                continue
            in_hand[host] = in_hand.get(host, 0) + 1
        chosen.append(item_id)
        if len(chosen) >= limit:
            break
    if not chosen:
        return []
    until = now + timedelta(seconds=lease_seconds)
    stmt = (
        update(_ITEMS)
        .where(
            _ITEMS.c.id.in_(chosen),
            _ITEMS.c.status.in_(WAITING_STATUSES),
            _ITEMS.c.next_attempt_at <= now,
        )
        .values(status=SENDING, lease_owner=owner, lease_expires_at=until)
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
    items = [
        ClaimedItem(
            id=r.id,
            attempts=r.attempts,
            priority=r.priority,
            method=r.method,
            url=r.url,
            host=r.host,
            headers=json.loads(r.headers_json or "{}"),
            body=r.body or "",
            action_id=r.action_id,
            trigger_id=r.trigger_id,
            trigger_title=r.trigger_title,
            event_name=r.event_name,
        )
        for r in session.execute(stmt)
    ]
    items.sort(key=lambda it: (-it.priority, it.id))
    return items


def load_actions(session: Session, box: SecretBox, ids: Iterable[int | None]) -> dict[int, WebhookAction]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.scalars(select(WebhookActionRow).where(WebhookActionRow.id.in_(wanted)))
    return {row.id: action_from_row(row, box) for row in rows}


def _alert_text(item: ClaimedItem, reason: str, summary: str) -> tuple[str, str]:
    title = f"Delivery failed: {item.trigger_title or 'deleted trigger'}"
    message = (
        f'Trigger "{item.trigger_title}" ({item.event_name}) could not deliver queue item {item.id} '
        f"to {item.method} {item.url}: {reason}. Last answer: {summary}"
    )
    return title, message


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
    owned: set[int] = set()
    for start in range(0, len(ids), 500):
        owned.update(
            session.scalars(
                select(_ITEMS.c.id).where(
                    _ITEMS.c.id.in_(ids[start : start + 500]),
                    _ITEMS.c.status == SENDING,
                    _ITEMS.c.lease_owner == owner,
                )
            )
        )
    attempt_rows = []
    item_updates = []
    alerts_to_make = []
    for item, res in outcomes:
        number = item.attempts + 1
        body = res.response_body
        attempt_rows.append(
            {
                "item_id": item.id,
                "number": number,
                "started_at": res.started_at,
                "duration_ms": res.duration_ms,
                "status_code": res.status_code,
                "response_headers_json": json.dumps(res.response_headers)
                if res.status_code is not None
                else None,
                "response_body": body[:BODY_LIMIT] if body is not None else None,
                "error": res.error,
            }
        )
        if item.id not in owned:
            result.lost.append(item.id)
            continue
        decision = decide(res, number, policy)
        final = decision.status in (ItemStatus.DELIVERED, ItemStatus.FAILED)
        item_updates.append(
            {
                "iid": item.id,
                "status": decision.status.value,
                "attempts": number,
                "last_attempt_at": res.started_at,
                "next_attempt_at": (
                    now + timedelta(seconds=decision.delay_seconds)
                    if decision.delay_seconds is not None
                    else None
                ),
                "finished_at": now if final else None,
                "response_status": res.status_code,
                "response_message": decision.message,
                "duration_ms": res.duration_ms,
                "lease_owner": None,
                "lease_expires_at": None,
            }
        )
        if decision.delay_seconds is not None:
            result.retry_delays[item.id] = decision.delay_seconds
        result.changes.append(
            ItemChange(item.id, decision.status.value, number, res.status_code, decision.message)
        )
        if decision.alert_reason is not None:
            alerts_to_make.append((item, decision.alert_reason, decision.message))
    if attempt_rows:
        session.execute(insert(_ATTEMPTS), attempt_rows)
    if item_updates:
        stmt = (
            update(_ITEMS)
            .where(and_(_ITEMS.c.id == bindparam("iid")))
            .values({k: bindparam(k) for k in item_updates[0] if k != "iid"})
        )
        session.connection().execute(stmt, item_updates)
    for item, reason, summary in alerts_to_make:
        title, message = _alert_text(item, reason, summary)
        alert_id = create_alert(session, AlertSeverity.ERROR, title, message, item.id, item.trigger_id)
        result.alerts.append((alert_id, AlertSeverity.ERROR.value, title))
    return result
