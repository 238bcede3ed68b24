"""Rows for delivery tests, inserted directly (no listener, no dispatcher needed)."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import datetime

from sqlalchemy import insert

from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import EventRow, QueueItemRow, utcnow
from shopctrl_desktop.store.secrets import SecretBox
from shopctrl_desktop.store.triggers import get_trigger, save_trigger

_trigger_numbers = itertools.count(1)  # unique titles (id() of a freed object can repeat)


def make_action(
    db: Database, box: SecretBox, url: str, *, title: str | None = None, **fields
) -> WebhookAction:
    """Store a trigger with one Call Webhook action; returns the action with its id."""
    action = WebhookAction(url=url, **fields)
    with db.session() as s:
        trigger_id = save_trigger(
            s,
            box,
            Trigger(
                title=title or f"Trigger for {url} #{next(_trigger_numbers)}",
                event="OrderChanged",
                actions=(action,),
            ),
        )
        stored = get_trigger(s, box, trigger_id)
    assert stored is not None
    return stored.actions[0]


def add_items(
    db: Database,
    action: WebhookAction,
    count: int = 1,
    *,
    priority: int | None = None,
    body: str | None = None,
    next_attempt_at: datetime | None = None,
    headers: dict[str, str] | None = None,
    url: str | None = None,
) -> list[int]:
    """Queue ``count`` items for ``action`` (one event row per call); returns their ids in order."""
    from shopctrl_desktop.store.queue import host_of

    now = utcnow()
    target = url or action.url
    with db.session() as s:
        trigger_id, title = _trigger_of(s, action.id)
        event = EventRow(
            event="OrderChanged",
            occurred_at=now,
            entity_type="Order",
            entity_id="1001",
            entity_data_json="{}",
            data_json="{}",
        )
        s.add(event)
        s.flush()
        rows = [
            {
                "trigger_id": trigger_id,
                "action_id": action.id,
                "event_id": event.id,
                "trigger_title": title,
                "event_name": "OrderChanged",
                "entity_type": "Order",
                "entity_id": str(1000 + n),
                "priority": int(action.priority if priority is None else priority),
                "status": "queued",
                "method": action.method,
                "url": target,
                "host": host_of(target),
                "headers_json": json.dumps(
                    headers
                    if headers is not None
                    else {
                        "Content-Type": f"{action.payload_mime_type}; charset=utf-8",
                        "X-ShopCtrl-Trigger": "OrderChanged",
                    }
                ),
                "body": body if body is not None else json.dumps({"Trigger": "OrderChanged", "n": n}),
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": next_attempt_at or now,
            }
            for n in range(count)
        ]
        result = s.execute(
            insert(QueueItemRow).returning(QueueItemRow.id, sort_by_parameter_order=True), rows
        )
        return [r[0] for r in result]


def _trigger_of(session, action_id: int | None) -> tuple[int | None, str]:  # type: ignore[no-untyped-def]
    from shopctrl_desktop.store.models import WebhookActionRow

    row = session.get(WebhookActionRow, action_id) if action_id is not None else None
    return (row.trigger_id, row.trigger.title) if row else (None, "")


def item_row(db: Database, item_id: int) -> QueueItemRow:
    with db.session() as s:
        row = s.get(QueueItemRow, item_id)
        assert row is not None
        s.expunge(row)
        return row


def with_fields(action: WebhookAction, **fields) -> WebhookAction:
    return replace(action, **fields)


def record_attempts(
    db: Database,
    action: WebhookAction,
    results: list[tuple[int | None, float]],
    *,
    started_at: datetime | None = None,
    url: str | None = None,
    breaker: bool = False,
) -> list[int]:
    """Queue one item per ``(status code or None for no answer, duration ms)`` and record that attempt through
    the engine's record path (store/claim.py ``claim_due`` + ``record_outcomes``; with ``breaker`` also the
    circuit breaker's ``Circuits.after_record``, which opens the circuit after 5 failures); returns the ids."""
    from datetime import timedelta

    from shopctrl_desktop.domain.outcome import AttemptResult
    from shopctrl_desktop.domain.retry import RetryPolicy
    from shopctrl_desktop.store.claim import claim_due, record_outcomes

    ids = add_items(db, action, len(results), url=url)
    when = started_at or utcnow()
    with db.session() as s:
        claimed = {
            c.id: c for c in claim_due(s, "factory", len(ids) + 10, utcnow() + timedelta(seconds=1), 60)
        }
        outcomes = [
            (
                claimed[item_id],
                AttemptResult(
                    started_at=when,
                    duration_ms=ms,
                    status_code=code,
                    error=None if code is not None else "Connection refused",
                ),
            )
            for item_id, (code, ms) in zip(ids, results, strict=True)
            if item_id in claimed
        ]
        recorded = record_outcomes(s, "factory", outcomes, RetryPolicy())
        if breaker:
            from shopctrl_desktop.domain.breaker import BreakerPolicy
            from shopctrl_desktop.store.circuits import Circuits, TurnNews

            Circuits(BreakerPolicy()).after_record(s, outcomes, when, recorded, TurnNews())
    return ids
