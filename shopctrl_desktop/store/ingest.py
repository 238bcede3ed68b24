"""Event intake in one transaction: store events idempotently, then persist what the plan says.

Which triggers fire, what each item sends and how items share a uniqueness key are the rules of
domain/planner.py; this module stores events, learns shops, inserts and updates items, and raises alerts.
Written for throughput: the intake batcher (engine/intake.py) hands over the events of many listener
requests at once (group commit), and this module does the work per *group* — one duplicate lookup, one
trigger lookup, one multi-row insert for events and one for queue items — instead of per event. The
statements themselves live in store/ingest_sql.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shopctrl_desktop.domain.model import AlertSeverity, IncomingEvent, ItemStatus, Trigger
from shopctrl_desktop.domain.payload import renders_in_process, request_headers, template_extra
from shopctrl_desktop.domain.planner import (
    ItemTarget,
    PlannedItem,
    group_by_unique_key,
    host_of,
    plan_items,
)
from shopctrl_desktop.store.alerts import create_alert
from shopctrl_desktop.store.ingest_sql import EVENT_ID_LOCKS, EVENTS, ITEMS, UNIQUE_KEY_LOCKS, IntakeSql
from shopctrl_desktop.store.models import utcnow
from shopctrl_desktop.store.secrets import SecretBox
from shopctrl_desktop.store.triggers import action_from_values, trigger_from_values

__all__ = [
    "IngestResult",
    "PreparedGroup",
    "TemplatesToRender",
    "begin_write",
    "enqueue_batches",
    "enqueue_events",
    "host_of",
    "prepare_batches",
]

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

    def json_body(self) -> bytes:
        """The listener's 202 body, ``{"accepted":…,"duplicates":…,"queued":…,"eventIds":[…]}`` (formatted
        directly: it is the hot path's answer)."""
        return b'{"accepted":%d,"duplicates":%d,"queued":%d,"eventIds":[%s]}' % (
            self.accepted,
            self.duplicates,
            self.queued,
            ",".join(map(str, self.event_ids)).encode(),
        )


RenderKey = tuple[int, int | None, int | None]  # (event id, trigger id, action id)


@dataclass
class PreparedGroup:
    """What the intake reads and plans BEFORE its write transaction, so payload templates render outside
    it (engine/render_pool.py): the triggers (used again by the transaction, so plan and storage agree),
    event ids reserved for the group when a template fires (templates may print ``EventId``), and the
    templated plans; the caller fills ``bodies`` with each one's ``(body, error)``."""

    triggers: dict[str, list[Trigger]]
    event_ids: list[int] | None = None  # per event of the group, in order; None: the database assigns them
    templated: list[PlannedItem] = field(default_factory=list)
    bodies: dict[RenderKey, tuple[str, str | None]] = field(default_factory=dict)

    def jobs(self) -> list[tuple[tuple[int | None, int | None], str, str, Any, dict[str, Any]]]:
        """``((trigger id, action id), body, mime, data, extra)`` per templated plan, in order."""
        return [
            (
                (p.trigger.id, p.action.id),
                p.action.payload_body or "",
                str(p.action.payload_mime_type),
                p.event.data,
                template_extra(p.trigger, p.action, p.event),
            )
            for p in self.templated
        ]

    def fill(self, outcomes: Sequence[tuple[str, str | None]]) -> None:
        for plan, outcome in zip(self.templated, outcomes, strict=True):
            self.bodies[_render_key(plan)] = outcome


class TemplatesToRender(Exception):  # noqa: N818 - a signal to the caller, not an error
    """Raised by :func:`enqueue_batches` with ``render_templates=False`` when a payload template fires: the
    caller rolls back, plans and renders the group outside the transaction (prepare_batches) and stores it
    again with the rendered bodies."""


def _render_key(plan: PlannedItem) -> RenderKey:
    return (plan.event.id, plan.trigger.id, plan.action.id)


def prepare_batches(session: Session, batches: Sequence[Sequence[IncomingEvent]]) -> PreparedGroup:
    """Read the triggers of a group and plan its templated renders; ends its read transaction (no lock is
    held while the templates render). Ids are reserved only when a template fires."""
    sql = IntakeSql(session)
    flat = [(b, ev) for b, batch in enumerate(batches) for ev in batch]
    try:
        triggers = _enabled_triggers(sql, {ev.event for _, ev in flat})
        prepared = PreparedGroup(triggers)
        provisional = plan_items(flat, [0] * len(flat), triggers)
        if any(not renders_in_process(p.action) for p in provisional):
            prepared.event_ids = sql.reserve_event_ids(len(flat))
            planned = plan_items(flat, prepared.event_ids, triggers)
            prepared.templated = [p for p in planned if not renders_in_process(p.action)]
    finally:
        session.rollback()
    return prepared


def begin_write(session: Session) -> None:
    """Start the transaction as a writer (BEGIN IMMEDIATE on SQLite); see IntakeSql.begin_write."""
    IntakeSql(session).begin_write()


def enqueue_events(session: Session, box: SecretBox, events: Sequence[IncomingEvent]) -> IngestResult:
    """Contract entry point: one request's events (the caller commits)."""
    return enqueue_batches(session, box, [events])[0]


def enqueue_batches(
    session: Session,
    box: SecretBox,
    batches: Sequence[Sequence[IncomingEvent]],
    prepared: PreparedGroup | None = None,
    *,
    render_templates: bool = True,
) -> list[IngestResult]:
    """Several requests' events in one transaction (the caller commits); one IngestResult per request.

    With ``prepared`` (prepare_batches, its templates rendered) the transaction renders nothing but the
    default payload; without it, templates render here, in-process (tests and one-shot tools) — or, with
    ``render_templates=False`` (the engine's intake while no template fires), a fired template raises
    :class:`TemplatesToRender` before anything renders, and the caller rolls back."""
    sql = IntakeSql(session)
    sql.begin_write()
    now = utcnow()
    results = [IngestResult() for _ in batches]
    flat = [(b, ev) for b, batch in enumerate(batches) for ev in batch]

    # 1. idempotency: ids already stored, and repeats inside this very transaction (on PostgreSQL under
    #    the ids' advisory locks: another engine storing one of them right now commits first)
    external_ids = {ev.external_id for _, ev in flat if ev.external_id is not None}
    sql.lock_keys(EVENT_ID_LOCKS, external_ids)
    known = sql.existing_external_ids(external_ids)
    new_rows: list[dict[str, Any]] = []
    new_events: list[tuple[int, IncomingEvent]] = []
    # per flat position: index into new_rows, or ("dup", external id)
    slots: list[tuple[int, int | None, str | None]] = []
    pending_ids: dict[str, int] = {}
    reserved = prepared.event_ids if prepared is not None else None
    for position, (b, ev) in enumerate(flat):
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
                **({"id": reserved[position]} if reserved is not None else {}),
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
    new_ids = sql.insert(EVENTS, new_rows, with_ids=reserved is not None)
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

    # 3. the plan (domain/planner.py): one item per Call Webhook action of every trigger that fires
    triggers = (
        prepared.triggers
        if prepared is not None
        else _enabled_triggers(sql, {ev.event for _, ev in new_events})
    )
    planned = plan_items(new_events, new_ids, triggers)
    if not render_templates and prepared is None and not all(renders_in_process(p.action) for p in planned):
        raise TemplatesToRender
    if planned:
        _store_items(session, sql, planned, results, now, prepared.bodies if prepared is not None else {})
    return results


def _store_items(
    session: Session,
    sql: IntakeSql,
    planned: list[PlannedItem],
    results: list[IngestResult],
    now: datetime,
    bodies: dict[RenderKey, tuple[str, str | None]],
) -> None:
    keys = {p.unique_key for p in planned if p.unique_key is not None}
    sql.lock_keys(UNIQUE_KEY_LOCKS, keys)  # PostgreSQL: one intake at a time decides about a key
    waiting, supersedable = sql.waiting_items(keys)
    new_targets, updates = group_by_unique_key(planned, waiting)
    newest: dict[str, int] = {}  # unique key -> the item that now carries the key's newest payload

    headers_cache: dict[tuple[int | None, str], str] = {}
    rows: list[dict[str, Any]] = []
    owners: list[tuple[ItemTarget, str | None]] = []
    for target in new_targets:
        row, error = _item_row(target.plan, target.skipped, now, headers_cache, bodies)
        rows.append(row)
        owners.append((target, error))
    for target in updates:
        assert target.existing_id is not None
        row, error = _item_row(target.plan, target.skipped, now, headers_cache, bodies)
        if error is None:
            if sql.update_waiting_item(target.existing_id, row, target.skipped):
                results[target.origin].updated_item_ids.append(target.existing_id)
                newest[target.plan.unique_key or ""] = target.existing_id
                continue
            # picked up by a delivery engine meanwhile (shared database): queue a new item instead
            row["skipped_count"] = target.skipped - 1
        else:  # the waiting item keeps its payload; this event gets its own failed item
            row["skipped_count"] = 0
        rows.append(row)
        owners.append((target, error))

    ids = sql.insert(ITEMS, rows)
    alerted: set[tuple[int | None, int | None]] = set()  # one alert per action and group, however many fail
    for item_id, (target, error) in zip(ids, owners, strict=True):
        result = results[target.origin]
        if error is None:
            result.queued += 1
            result.new_item_ids.append(item_id)
            if target.plan.unique_key is not None:
                newest[target.plan.unique_key] = item_id
            continue
        plan = target.plan
        result.failed_item_ids.append(item_id)
        if (plan.trigger.id, plan.action.id) in alerted:
            continue
        alerted.add((plan.trigger.id, plan.action.id))
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
    if supersedable:  # stale data never wins: retrying items of a key with a newer payload are cancelled
        pairs = [
            (older, newest[key]) for key, olders in supersedable.items() if key in newest for older in olders
        ]
        sql.supersede(pairs, now)


_ITEM_DEFAULTS: dict[str, Any] = {
    "last_attempt_at": None,
    "lease_expires_at": None,
    "lease_owner": None,
    "response_status": None,
    "duration_ms": None,
}


def _item_row(
    plan: PlannedItem,
    skipped: int,
    now: datetime,
    headers_cache: dict[tuple[int | None, str], str],
    bodies: dict[RenderKey, tuple[str, str | None]],
) -> tuple[dict[str, Any], str | None]:
    action, ev = plan.action, plan.event
    cache_key = (action.id, ev.event)  # the headers depend only on these: encoded once per group
    headers = headers_cache.get(cache_key)
    if headers is None:
        headers = headers_cache[cache_key] = _dumps(request_headers(action, ev.event))
    rendered = bodies.get(_render_key(plan)) if bodies else None
    body, error = rendered if rendered is not None else plan.render_body()
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
        "unique_key": plan.unique_key,
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
            trigger = _trigger_cache[key] = trigger_from_values(
                row.__getitem__, tuple(action_from_values(a.__getitem__) for a in actions[row["id"]])
            )
        found[row["event"]].append(trigger)
    return found
