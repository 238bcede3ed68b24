"""Turning a decoded ``POST /events`` body into validated IncomingEvents, or problems a person understands.

Pure Python (no aiohttp): the listener, ``send-event`` checks and tests share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shopctrl_desktop.domain.events import (
    EventType,
    build_entity_data,
    closest_event_names,
    find_event,
    primary_entity,
)
from shopctrl_desktop.domain.model import IncomingEvent
from shopctrl_desktop.domain.strict_json import unstorable_values

MAX_BATCH = 1000
MAX_ID_LENGTH = 200
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one event: HTTP status (400 or 422), the field, the array index."""

    status: int
    field: str | None
    index: int | None
    message: str
    closest: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"field": self.field, "index": self.index, "message": self.message}
        if self.status == 422:
            data["closest"] = list(self.closest)
        return data


@dataclass
class ParseOutcome:
    events: list[IncomingEvent] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    too_many: int | None = None  # the batch size when it is over MAX_BATCH

    @property
    def status(self) -> int:
        if self.too_many is not None:
            return 413
        if not self.problems:
            return 202
        return 400 if any(p.status == 400 for p in self.problems) else 422


_known_names: dict[str, EventType] = {}


def _find_event(name: str) -> EventType | None:
    """find_event with a cache of the names clients actually send (find_event normalises with a regular
    expression: a noticeable share of the listener's time at thousands of events a second)."""
    found = _known_names.get(name)
    if found is None:
        found = find_event(name)
        if found is not None and len(_known_names) < 10_000:
            _known_names[name] = found
    return found


def _where(index: int | None, name: str | None) -> str:
    if index is None:
        return name or "the event"
    return f"events[{index}].{name}" if name else f"events[{index}]"


def parse_body(
    payload: Any, *, now: datetime | None = None, max_batch: int = MAX_BATCH, suspicious: bool = False
) -> ParseOutcome:
    """Validate everything first; the caller stores nothing unless ``outcome.status == 202``.

    ``suspicious`` (from ``strict_json.loads``): the payload may hold values strict JSON cannot carry (NaN,
    1e400, lone surrogates, numbers beyond 64 bits); each is a 400 naming its field — such an event can never
    be stored or sent, so it is never answered with "send again"."""
    outcome = ParseOutcome()
    if isinstance(payload, list):
        if len(payload) > max_batch:
            outcome.too_many = len(payload)
            return outcome
        if not payload:
            outcome.problems.append(Problem(400, None, None, "the array holds no events"))
            return outcome
        items: list[tuple[int | None, Any]] = list(enumerate(payload))
    elif isinstance(payload, dict):
        items = [(None, payload)]
    else:
        outcome.problems.append(
            Problem(400, None, None, "the body must be one event object or a JSON array of event objects")
        )
        return outcome
    received = now or datetime.now(UTC)
    for index, raw in items:
        if suspicious and _unstorable(raw, index, outcome.problems):
            continue
        event = _parse_one(raw, index, received, outcome.problems)
        if event is not None:
            outcome.events.append(event)
        if len(outcome.problems) >= MAX_PROBLEMS:
            break
    return outcome


def _unstorable(raw: Any, index: int | None, problems: list[Problem]) -> bool:
    """Add a 400 for each value in ``raw`` that strict JSON cannot carry; True if there was one."""
    before = len(problems)
    for path, reason in unstorable_values(raw):
        problems.append(Problem(400, path or None, index, f"{_where(index, path or None)} {reason}"))
        if len(problems) >= MAX_PROBLEMS:
            break
    return len(problems) > before


def _parse_one(raw: Any, index: int | None, now: datetime, problems: list[Problem]) -> IncomingEvent | None:
    if not isinstance(raw, dict):
        problems.append(Problem(400, None, index, f"{_where(index, None)} must be a JSON object"))
        return None
    before = len(problems)

    def bad(name: str, message: str) -> None:
        problems.append(Problem(400, name, index, f"{_where(index, name)} {message}"))

    name = raw.get("event")
    event_type = None
    if name is None:
        bad("event", 'is missing (the event\'s system or display name, e.g. "OrderChanged")')
    elif not isinstance(name, str) or not name.strip():
        bad("event", "must be a non-empty text (the event's system or display name)")
    else:
        event_type = _find_event(name)
        if event_type is None:
            closest = tuple(closest_event_names(name))
            hint = f"; did you mean {', '.join(closest)}?" if closest else ""
            problems.append(
                Problem(
                    422, "event", index, f"{_where(index, 'event')}: unknown event {name!r}{hint}", closest
                )
            )

    external_id: str | None = None
    raw_id = raw.get("id")
    if raw_id is not None:
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int | float):
            bad("id", "must be a text or a number")
        else:
            if isinstance(raw_id, float) and raw_id.is_integer():
                raw_id = int(raw_id)
            external_id = str(raw_id)
            if not external_id.strip():
                bad("id", "must not be empty")
            elif len(external_id) > MAX_ID_LENGTH:
                bad("id", f"is longer than {MAX_ID_LENGTH} characters")

    shop_id = raw.get("shopId")
    if shop_id is not None and (
        isinstance(shop_id, bool) or not isinstance(shop_id, int) or not 0 <= shop_id < 2**63
    ):
        bad("shopId", "must be a whole number (0 or more) or null")
        shop_id = None

    occurred_at = now
    raw_when = raw.get("occurredAt")
    if raw_when is not None:
        parsed = _parse_time(raw_when)
        if parsed is None:
            bad("occurredAt", 'must be an ISO-8601 date and time, e.g. "2026-11-28T10:00:00Z"')
        else:
            occurred_at = parsed

    data = raw.get("data")
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        bad("data", "must be a JSON object (the entity snapshot)")
    given = raw.get("entityData")
    if given is not None and not isinstance(given, dict):
        bad("entityData", "must be a JSON object or null")

    if len(problems) > before or event_type is None:
        return None
    entity_data = build_entity_data(event_type, data, given, shop_id=shop_id)
    entity_type, entity_id, entity_code = primary_entity(event_type, data, entity_data)
    return IncomingEvent(
        event=event_type.system_name,
        shop_id=shop_id,
        occurred_at=occurred_at,
        data=data,
        entity_data=entity_data,
        entity_type=entity_type,
        entity_id=entity_id[:100] if entity_id else None,
        entity_code=entity_code[:200] if entity_code else None,
        external_id=external_id,
    )


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
