"""The intake planner: which triggers fire for an event, what each action sends, and how items group.

Pure rules, used by the intake (``store/ingest.py`` persists what the plan says), by ``render`` on the
command line and by the trigger editor's preview — so "does this trigger fire?" is answered here only.

The flow of one intake group::

    IncomingEvent --stored_event()--> StoredEvent
    events + triggers --plan_event()--> PlannedItem per firing (trigger, action), with its uniqueness key
    PlannedItems + waiting keys --group_by_unique_key()--> ItemTargets (new items, waiting items to update)
    ItemTarget.plan.render_body() --> the body, or the message why it cannot be rendered
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

from shopctrl_desktop.domain.conditions import condition_matches
from shopctrl_desktop.domain.model import (
    IncomingEvent,
    RenderedRequest,
    StoredEvent,
    Trigger,
    WebhookAction,
)
from shopctrl_desktop.domain.payload import render_body, render_request
from shopctrl_desktop.domain.templates import RenderError

log = logging.getLogger(__name__)


class EventFacts(Protocol):
    """What deciding whether a trigger fires needs of an event (an IncomingEvent or a StoredEvent)."""

    @property
    def event(self) -> str: ...
    @property
    def shop_id(self) -> int | None: ...
    @property
    def data(self) -> dict[str, Any]: ...


class Silence(StrEnum):
    """Why a trigger does not fire for an event."""

    OTHER_EVENT = "other-event"  # the trigger listens to another event type
    OTHER_SHOP = "other-shop"  # the trigger is scoped to another shop
    DISABLED = "disabled"
    CONDITION_FALSE = "condition-false"  # the condition does not hold for the event's data
    CONDITION_INVALID = "condition-invalid"  # the stored condition cannot be evaluated


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a trigger fires for an event; when it does not, every reason (not only the first)."""

    reasons: tuple[Silence, ...] = ()
    condition_error: str | None = None  # with CONDITION_INVALID: what is wrong with the condition

    @property
    def fires(self) -> bool:
        return not self.reasons


_FIRES = Verdict()


def verdict(trigger: Trigger, event: EventFacts) -> Verdict:
    """The one answer to "does this trigger fire for this event?": event type, shop scope (``None`` =
    all shops), enabled, and the condition. A condition that cannot be evaluated does not fire."""
    reasons: list[Silence] = []
    if trigger.event != event.event:
        reasons.append(Silence.OTHER_EVENT)
    if trigger.shop_id is not None and trigger.shop_id != event.shop_id:
        reasons.append(Silence.OTHER_SHOP)
    if not trigger.enabled:
        reasons.append(Silence.DISABLED)
    error: str | None = None
    if trigger.condition is not None:
        try:
            if not condition_matches(trigger.condition, event.data):
                reasons.append(Silence.CONDITION_FALSE)
        except Exception as exc:  # noqa: BLE001 - a broken stored condition must not stop the intake
            reasons.append(Silence.CONDITION_INVALID)
            error = str(exc)
    return Verdict(tuple(reasons), error) if reasons else _FIRES


def stored_event(incoming: IncomingEvent, event_id: int) -> StoredEvent:
    """The event as stored under ``event_id`` (0 for one that is only rendered, never stored)."""
    return StoredEvent(
        id=event_id,
        event=incoming.event,
        shop_id=incoming.shop_id,
        occurred_at=incoming.occurred_at,
        data=incoming.data,
        entity_data=incoming.entity_data,
        entity_type=incoming.entity_type,
        entity_id=incoming.entity_id,
        entity_code=incoming.entity_code,
    )


def unique_key(action_id: int | None, entity_type: str, entity_id: str | None) -> str | None:
    """The key under which at most one item per action and entity waits ("unique queue items")."""
    if action_id is None or entity_id is None:
        return None
    return f"{action_id}:{entity_type}:{entity_id}"


@functools.lru_cache(maxsize=4096)
def host_of(url: str) -> str:
    """``host[:port]`` of a URL, lower case, without credentials (the per-host delivery limit's key)."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return ""
    return netloc.rpartition("@")[2].lower()


@dataclass(slots=True)
class PlannedItem:
    """One queue item the intake would create: this action of this trigger fired for this event."""

    trigger: Trigger
    action: WebhookAction
    event: StoredEvent
    unique_key: str | None  # None unless the action asks for unique queue items (and the entity has an id)
    origin: int = 0  # the caller's tag for where the event came from (the intake: its request's index)

    def render_body(self) -> tuple[str, str | None]:
        """``(body, None)``, or ``("", message)`` when the payload template cannot be rendered."""
        try:
            return render_body(self.trigger, self.action, self.event), None
        except RenderError as exc:
            return "", str(exc)


def plan_event(
    incoming: IncomingEvent, event_id: int, triggers: Iterable[Trigger], origin: int = 0
) -> list[PlannedItem]:
    """The items one event creates: one per Call Webhook action of every trigger that fires.

    A trigger whose condition cannot be evaluated logs a warning and does not fire.
    """
    planned: list[PlannedItem] = []
    stored: StoredEvent | None = None
    for trigger in triggers:
        answer = verdict(trigger, incoming)
        if not answer.fires:
            if answer.condition_error is not None:
                log.warning(
                    "trigger %r: condition cannot be evaluated (%s); not firing",
                    trigger.title,
                    answer.condition_error,
                )
            continue
        if stored is None:  # built only for an event that fires something
            stored = stored_event(incoming, event_id)
        for action in trigger.actions:
            key = (
                unique_key(action.id, incoming.entity_type, incoming.entity_id)
                if action.unique_queue_items
                else None
            )
            planned.append(PlannedItem(trigger, action, stored, key, origin))
    return planned


def plan_items(
    events: Sequence[tuple[int, IncomingEvent]],
    event_ids: Sequence[int],
    triggers_by_event: Mapping[str, Sequence[Trigger]],
) -> list[PlannedItem]:
    """The items of a group of new events, in event order: ``events`` are ``(origin, event)`` pairs,
    ``event_ids`` their stored ids, ``triggers_by_event`` the candidate triggers per event type."""
    planned: list[PlannedItem] = []
    for (origin, incoming), event_id in zip(events, event_ids, strict=True):
        candidates = triggers_by_event.get(incoming.event)
        if candidates:
            planned += plan_event(incoming, event_id, candidates, origin)
    return planned


@dataclass(slots=True)
class ItemTarget:
    """Where the newest plan of one unique key (or one plan without a key) goes."""

    plan: PlannedItem  # the newest plan: its payload is what the item sends
    origin: int  # the origin of the first plan (the request that reports the item)
    existing_id: int | None = None  # a waiting item to update, or None for a new item
    skipped: int = 0  # plans this one replaced (the waiting item's payload included)


def group_by_unique_key(
    planned: Iterable[PlannedItem], waiting: Mapping[str, int]
) -> tuple[list[ItemTarget], list[ItemTarget]]:
    """The uniqueness rule: a waiting item (``waiting``: unique key -> item id) or an item planned earlier
    in the same group takes the newest payload, and counts the ones it skipped.

    Returns ``(new, updates)``: the items to create, in plan order, and the waiting items to update.
    """
    by_key: dict[str, ItemTarget] = {}
    new: list[ItemTarget] = []
    for plan in planned:
        key = plan.unique_key
        if key is None:
            new.append(ItemTarget(plan, plan.origin))
            continue
        target = by_key.get(key)
        if target is not None:
            target.plan = plan
            target.skipped += 1
        elif key in waiting:
            by_key[key] = ItemTarget(plan, plan.origin, existing_id=waiting[key], skipped=1)
        else:
            target = by_key[key] = ItemTarget(plan, plan.origin)
            new.append(target)
    return new, [t for t in by_key.values() if t.existing_id is not None]


def render_or_error(
    trigger: Trigger, action: WebhookAction, event: StoredEvent
) -> RenderedRequest | RenderError:
    """The request this action sends for this event, or the RenderError that says why it cannot be
    rendered (an answer to show, not a failure to log)."""
    try:
        return render_request(trigger, action, event)
    except RenderError as exc:
        return exc
