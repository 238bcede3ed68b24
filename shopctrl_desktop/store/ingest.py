"""Event intake in one transaction: store events idempotently, match triggers, render, enqueue.

Written for throughput: the dispatcher hands over the events of many listener requests at once
(group commit), and this module does the work per *batch* — one duplicate lookup, one trigger lookup
per event name, one multi-row insert for events and one for queue items — instead of per event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, selectinload

from shopctrl_desktop.domain.conditions import condition_matches
from shopctrl_desktop.domain.model import (
    WAITING_STATUSES,
    AlertSeverity,
    IncomingEvent,
    ItemStatus,
    StoredEvent,
    Trigger,
    WebhookAction,
)
from shopctrl_desktop.domain.payload import RenderError, render_body, request_headers
from shopctrl_desktop.store.alerts import create_alert
from shopctrl_desktop.store.models import EventRow, QueueItemRow, Shop, TriggerRow, utcnow
from shopctrl_desktop.store.secrets import SecretBox
from shopctrl_desktop.store.triggers import trigger_from_row

log = logging.getLogger(__name__)

_CHUNK = 500  # values per IN (...) list, well below every backend's parameter limit
_EVENTS = EventRow.__table__
_ITEMS = QueueItemRow.__table__


@dataclass
class IngestResult:
    """The answer to one listener request (SPEC 2.3) plus what the engine reports to observers."""

    accepted: int = 0  # events newly stored
    duplicates: int = 0  # events whose id was already seen (acknowledged, nothing queued)
    queued: int = 0  # new queue items in status queued
    event_ids: list[int] = field(default_factory=list)  # in request order; a duplicate gets the stored id
    new_item_ids: list[int] = field(default_factory=list)
    updated_item_ids: list[int] = field(default_factory=list)  # waiting items that took a newer payload
    failed_item_ids: list[int] = field(default_factory=list)  # render errors
    alert_ids: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "queued": self.queued,
            "eventIds": self.event_ids,
        }


def begin_write(session: Session) -> None:
    """Start the transaction as a writer. On SQLite (WAL) a deferred transaction that reads first and
    writes later fails with SQLITE_BUSY when another connection committed in between; BEGIN IMMEDIATE
    takes the write lock up front (and waits busy_timeout for it) instead."""
    conn = session.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def host_of(url: str) -> str:
    """``host[:port]`` of a URL, lower case, without credentials (the per-host delivery limit's key)."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return ""
    return netloc.rpartition("@")[2].lower()


def unique_key(action_id: int | None, entity_type: str, entity_id: str | None) -> str | None:
    if action_id is None or entity_id is None:
        return None
    return f"{action_id}:{entity_type}:{entity_id}"


def enqueue_events(session: Session, box: SecretBox, events: Sequence[IncomingEvent]) -> IngestResult:
    """Contract entry point: one request's events (the caller commits)."""
    return enqueue_batches(session, box, [events])[0]


def enqueue_batches(
    session: Session, box: SecretBox, batches: Sequence[Sequence[IncomingEvent]]
) -> list[IngestResult]:
    """Several requests' events in one transaction (the caller commits); one IngestResult per request."""
    begin_write(session)
    now = utcnow()
    results = [IngestResult() for _ in batches]
    flat = [(b, ev) for b, batch in enumerate(batches) for ev in batch]

    # 1. idempotency: ids already stored, and repeats inside this very transaction
    known = _existing_external_ids(session, {ev.external_id for _, ev in flat if ev.external_id is not None})
    new_rows: list[dict[str, Any]] = []
    new_events: list[tuple[int, IncomingEvent]] = []
    # per flat position: index into new_rows, or ("dup", external id)
    slots: list[tuple[int, int | None, str | None]] = []
    pending_ids: dict[str, int] = {}
    for b, ev in flat:
        ext = ev.external_id
        if ext is not None and (ext in known or ext in pending_ids):
            results[b].duplicates += 1
            slots.append((b, None, ext))
            continue
        if ext is not None:
            pending_ids[ext] = len(new_rows)
        slots.append((b, len(new_rows), None))
        new_events.append((b, ev))
        new_rows.append(
            {
                "external_id": ext,
                "event": ev.event,
                "shop_id": ev.shop_id,
                "occurred_at": ev.occurred_at,
                "received_at": now,
                "entity_type": ev.entity_type,
                "entity_id": ev.entity_id,
                "entity_code": ev.entity_code,
                "entity_data_json": json.dumps(ev.entity_data, ensure_ascii=False),
                "data_json": json.dumps(ev.data, ensure_ascii=False),
            }
        )
    new_ids = _insert_returning_ids(session, _EVENTS, new_rows)
    for b, index, ext in slots:
        if index is not None:
            results[b].accepted += 1
            results[b].event_ids.append(new_ids[index])
        else:
            assert ext is not None
            results[b].event_ids.append(known[ext] if ext in known else new_ids[pending_ids[ext]])
    if not new_events:
        return results

    # 2. shops are learned from events
    _ensure_shops(session, {ev.shop_id for _, ev in new_events if ev.shop_id is not None}, now)

    # 3. triggers -> one item per Call Webhook action
    triggers = _enabled_triggers(session, box, {ev.event for _, ev in new_events})
    planned = _plan_items(new_events, new_ids, triggers)
    if planned:
        _store_items(session, planned, results, now)
    return results


@dataclass
class _Planned:
    batch: int
    trigger: Trigger
    action: WebhookAction
    event: StoredEvent
    key: str | None


def _plan_items(
    new_events: list[tuple[int, IncomingEvent]],
    new_ids: list[int],
    triggers: dict[str, Sequence[Trigger]],
) -> list[_Planned]:
    planned: list[_Planned] = []
    for (b, ev), event_id in zip(new_events, new_ids, strict=True):
        matching = [t for t in triggers[ev.event] if t.shop_id is None or t.shop_id == ev.shop_id]
        if not matching:
            continue
        stored = StoredEvent(
            id=event_id,
            event=ev.event,
            shop_id=ev.shop_id,
            occurred_at=ev.occurred_at,
            data=ev.data,
            entity_data=ev.entity_data,
            entity_type=ev.entity_type,
            entity_id=ev.entity_id,
            entity_code=ev.entity_code,
        )
        for trigger in matching:
            if trigger.condition is not None and not _condition_holds(trigger, ev.data):
                continue
            for action in trigger.actions:
                key = (
                    unique_key(action.id, ev.entity_type, ev.entity_id) if action.unique_queue_items else None
                )
                planned.append(_Planned(b, trigger, action, stored, key))
    return planned


def _condition_holds(trigger: Trigger, data: dict[str, Any]) -> bool:
    try:
        return condition_matches(trigger.condition, data)
    except Exception as exc:  # noqa: BLE001 - a broken stored condition must not stop the intake
        log.warning("trigger %r: condition cannot be evaluated (%s); not firing", trigger.title, exc)
        return False


@dataclass
class _Target:
    """Where the newest plan of one unique key (or one plain plan) goes: a new item or a waiting one."""

    plan: _Planned
    first_batch: int
    existing_id: int | None = None
    skipped: int = 0


def _store_items(
    session: Session, planned: list[_Planned], results: list[IngestResult], now: datetime
) -> None:
    waiting = _waiting_items(session, {p.key for p in planned if p.key is not None})
    by_key: dict[str, _Target] = {}
    new_targets: list[_Target] = []
    for plan in planned:
        target = by_key.get(plan.key) if plan.key is not None else None
        if target is not None:  # the uniqueness rule: the waiting item takes the newest payload
            target.plan = plan
            target.skipped += 1
            continue
        if plan.key is not None and plan.key in waiting:
            by_key[plan.key] = _Target(plan, plan.batch, existing_id=waiting[plan.key], skipped=1)
            continue
        target = _Target(plan, plan.batch)
        new_targets.append(target)
        if plan.key is not None:
            by_key[plan.key] = target

    headers_cache: dict[tuple[int | None, str], str] = {}
    rows: list[dict[str, Any]] = []
    owners: list[tuple[_Target, str | None]] = []
    for target in new_targets:
        row, error = _item_row(target.plan, target.skipped, now, headers_cache)
        rows.append(row)
        owners.append((target, error))
    for target in by_key.values():
        if target.existing_id is None:
            continue
        row, error = _item_row(target.plan, target.skipped, now, headers_cache)
        if error is None:
            done = session.execute(
                update(_ITEMS)
                .where(_ITEMS.c.id == target.existing_id, _ITEMS.c.status.in_(WAITING_STATUSES))
                .values(
                    event_id=target.plan.event.id,
                    entity_code=target.plan.event.entity_code,
                    headers_json=row["headers_json"],
                    body=row["body"],
                    skipped_count=_ITEMS.c.skipped_count + target.skipped,
                )
            )
            if done.rowcount:  # type: ignore[attr-defined]
                results[target.first_batch].updated_item_ids.append(target.existing_id)
                continue
            # picked up by a delivery engine meanwhile (shared database): queue a new item instead
            row["skipped_count"] = target.skipped - 1
        else:  # the waiting item keeps its payload; this event gets its own failed item
            row["skipped_count"] = 0
        rows.append(row)
        owners.append((target, error))

    ids = _insert_returning_ids(session, _ITEMS, rows)
    for item_id, (target, error) in zip(ids, owners, strict=True):
        result = results[target.first_batch]
        if error is None:
            result.queued += 1
            result.new_item_ids.append(item_id)
            continue
        plan = target.plan
        result.failed_item_ids.append(item_id)
        result.alert_ids.append(
            create_alert(
                session,
                AlertSeverity.ERROR,
                f"Payload of trigger \u201c{plan.trigger.title}\u201d cannot be rendered",
                f"Trigger: {plan.trigger.title}\nEvent: {plan.event.event} (event {plan.event.id})\n"
                f"URL: {plan.action.url}\n{error}",
                item_id=item_id,
                trigger_id=plan.trigger.id,
            )
        )


def _item_row(
    plan: _Planned, skipped: int, now: datetime, headers_cache: dict[tuple[int | None, str], str]
) -> tuple[dict[str, Any], str | None]:
    action, ev = plan.action, plan.event
    cache_key = (action.id, ev.event)
    headers = headers_cache.get(cache_key)
    if headers is None:
        headers = headers_cache[cache_key] = json.dumps(request_headers(action, ev.event))
    error: str | None = None
    try:
        body = render_body(plan.trigger, action, ev)
    except RenderError as exc:
        body, error = "", str(exc)
    row = {
        "trigger_id": plan.trigger.id,
        "action_id": action.id,
        "event_id": ev.id,
        "trigger_title": plan.trigger.title,
        "event_name": ev.event,
        "entity_type": ev.entity_type,
        "entity_id": ev.entity_id,
        "entity_code": ev.entity_code,
        "priority": int(action.priority),
        "unique_key": plan.key,
        "status": ItemStatus.QUEUED.value if error is None else ItemStatus.FAILED.value,
        "method": action.method,
        "url": action.url,
        "host": host_of(action.url),
        "headers_json": headers,
        "body": body,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now if error is None else None,
        "finished_at": None if error is None else now,
        "response_message": None if error is None else error,
        "skipped_count": skipped,
    }
    return row, error


def _insert_returning_ids(session: Session, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [r[0] for r in session.execute(stmt, rows)]


def _existing_external_ids(session: Session, ids: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    wanted = list(ids)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = select(_EVENTS.c.external_id, _EVENTS.c.id).where(_EVENTS.c.external_id.in_(chunk))
        found.update((ext, event_id) for ext, event_id in session.execute(query))
    return found


def _waiting_items(session: Session, keys: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    wanted = list(keys)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = (
            select(_ITEMS.c.unique_key, _ITEMS.c.id)
            .where(_ITEMS.c.unique_key.in_(chunk), _ITEMS.c.status.in_(WAITING_STATUSES))
            .order_by(_ITEMS.c.id)
        )
        for key, item_id in session.execute(query):
            found.setdefault(key, item_id)  # the oldest waiting item keeps the place in the queue
    return found


def _ensure_shops(session: Session, shop_ids: set[int], now: datetime) -> None:
    if not shop_ids:
        return
    existing = set(session.scalars(select(Shop.id).where(Shop.id.in_(list(shop_ids)))))
    missing = sorted(shop_ids - existing)
    if missing:
        session.execute(
            insert(Shop.__table__), [{"id": s, "name": f"Shop {s}", "created_at": now} for s in missing]
        )


def _enabled_triggers(session: Session, box: SecretBox, names: set[str]) -> dict[str, list[Trigger]]:
    """Enabled triggers of these events, every scope (the shop is matched per event)."""
    found: dict[str, list[Trigger]] = {name: [] for name in names}
    query = (
        select(TriggerRow)
        .options(selectinload(TriggerRow.actions))
        .where(TriggerRow.event.in_(list(names)), TriggerRow.enabled.is_(True))
        .order_by(TriggerRow.id)
    )
    for row in session.scalars(query):
        found[row.event].append(trigger_from_row(row, box))
    return found
