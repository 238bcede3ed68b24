"""Event intake in one transaction: store events idempotently, match triggers, render, enqueue.

Written for throughput: the dispatcher hands over the events of many listener requests at once
(group commit), and this module does the work per *group* — one duplicate lookup, one trigger lookup,
one multi-row insert for events and one for queue items — instead of per event. The statements
themselves live in store/ingest_sql.py.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from shopctrl_desktop.domain.conditions import condition_matches
from shopctrl_desktop.domain.model import (
    AlertSeverity,
    IncomingEvent,
    ItemStatus,
    MimeType,
    Priority,
    SignatureScheme,
    StoredEvent,
    Trigger,
    WebhookAction,
)
from shopctrl_desktop.domain.payload import RenderError, render_body, request_headers
from shopctrl_desktop.store.alerts import create_alert
from shopctrl_desktop.store.ingest_sql import EVENTS, ITEMS, IntakeSql
from shopctrl_desktop.store.models import utcnow
from shopctrl_desktop.store.secrets import SecretBox

log = logging.getLogger(__name__)

_dumps = json.JSONEncoder(ensure_ascii=False).encode


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
    """Start the transaction as a writer (BEGIN IMMEDIATE on SQLite); see IntakeSql.begin_write."""
    IntakeSql(session).begin_write()


@functools.lru_cache(maxsize=4096)
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
    sql = IntakeSql(session)
    sql.begin_write()
    now = utcnow()
    results = [IngestResult() for _ in batches]
    flat = [(b, ev) for b, batch in enumerate(batches) for ev in batch]

    # 1. idempotency: ids already stored, and repeats inside this very transaction
    known = sql.existing_external_ids({ev.external_id for _, ev in flat if ev.external_id is not None})
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
                "entity_data_json": _dumps(ev.entity_data),
                "data_json": _dumps(ev.data),
            }
        )
    new_ids = sql.insert(EVENTS, new_rows)
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
    sql.ensure_shops({ev.shop_id for _, ev in new_events if ev.shop_id is not None}, now)

    # 3. triggers -> one item per Call Webhook action
    triggers = _enabled_triggers(sql, {ev.event for _, ev in new_events})
    planned = _plan_items(new_events, new_ids, triggers)
    if planned:
        _store_items(session, sql, planned, results, now)
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
    triggers: Mapping[str, Sequence[Trigger]],
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
    session: Session, sql: IntakeSql, planned: list[_Planned], results: list[IngestResult], now: datetime
) -> None:
    waiting = sql.waiting_items({p.key for p in planned if p.key is not None})
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
            if sql.update_waiting_item(target.existing_id, row, target.skipped):
                results[target.first_batch].updated_item_ids.append(target.existing_id)
                continue
            # picked up by a delivery engine meanwhile (shared database): queue a new item instead
            row["skipped_count"] = target.skipped - 1
        else:  # the waiting item keeps its payload; this event gets its own failed item
            row["skipped_count"] = 0
        rows.append(row)
        owners.append((target, error))

    ids = sql.insert(ITEMS, rows)
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


_ITEM_DEFAULTS: dict[str, Any] = {
    "last_attempt_at": None,
    "lease_expires_at": None,
    "lease_owner": None,
    "response_status": None,
    "duration_ms": None,
}


def _item_row(
    plan: _Planned, skipped: int, now: datetime, headers_cache: dict[tuple[int | None, str], str]
) -> tuple[dict[str, Any], str | None]:
    action, ev = plan.action, plan.event
    cache_key = (action.id, ev.event)
    headers = headers_cache.get(cache_key)
    if headers is None:
        headers = headers_cache[cache_key] = _dumps(request_headers(action, ev.event))
    error: str | None = None
    try:
        body = render_body(plan.trigger, action, ev)
    except RenderError as exc:
        body, error = "", str(exc)
    row = {
        **_ITEM_DEFAULTS,
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


_trigger_cache: dict[tuple[Any, ...], Trigger] = {}


def _enabled_triggers(sql: IntakeSql, names: set[str]) -> dict[str, list[Trigger]]:
    """Enabled triggers of these events, every scope (the shop is matched per event).

    Read on every call — so an edit in the GUI or another process counts from the next event on — and
    turned into Trigger objects only when a row changed. Secrets are not decrypted: rendering never needs
    them (delivery adds auth and signatures at send time).
    """
    trigger_rows, actions = sql.enabled_trigger_rows(names)
    found: dict[str, list[Trigger]] = {name: [] for name in names}
    for row in trigger_rows:
        key = (tuple(row.values()), *(tuple(a.values()) for a in actions[row["id"]]))
        trigger = _trigger_cache.get(key)
        if trigger is None:
            if len(_trigger_cache) > 1000:
                _trigger_cache.clear()
            trigger = _trigger_cache[key] = Trigger(
                id=row["id"],
                title=row["title"],
                event=row["event"],
                shop_id=row["shop_id"],
                enabled=bool(row["enabled"]),
                condition=json.loads(row["condition_json"]) if row["condition_json"] else None,
                actions=tuple(_action_without_secrets(a) for a in actions[row["id"]]),
            )
        found[row["event"]].append(trigger)
    return found


def _action_without_secrets(row: dict[str, Any]) -> WebhookAction:
    return WebhookAction(
        id=row["id"],
        url=row["url"],
        method=row["method"],
        priority=Priority(row["priority"]),
        unique_queue_items=bool(row["unique_queue_items"]),
        signature_scheme=SignatureScheme(row["signature_scheme"]),
        ca_certificate=row["ca_certificate"],
        timeout_seconds=row["timeout_seconds"],
        username=row["username"],
        headers=json.loads(row["headers_json"] or "{}"),
        payload_mime_type=MimeType(row["payload_mime_type"]),
        payload_body=row["payload_body"] or "",
    )
