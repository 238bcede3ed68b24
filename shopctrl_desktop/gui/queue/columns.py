"""The queue table's columns and how a row reads in each of them (plain Python: no Qt here)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import IntEnum

from shopctrl_desktop.domain.events import find_event
from shopctrl_desktop.domain.model import ItemStatus, Priority
from shopctrl_desktop.domain.queue import WAITING_STATUSES, status_values
from shopctrl_desktop.store.browse import QueueRow

_THIS_YEAR = datetime.now().year


class Column(IntEnum):
    """The queue table's columns, in model order (the user may move them in the header)."""

    ID = 0
    CREATED = 1
    PRIORITY = 2
    STATUS = 3
    TRIGGER = 4
    EVENT = 5
    ENTITY = 6
    URL = 7
    ATTEMPTS = 8
    NEXT_ATTEMPT = 9
    LAST_RESPONSE = 10
    DURATION = 11


_TITLES = {
    Column.ID: "ID",
    Column.CREATED: "Created",
    Column.PRIORITY: "Priority",
    Column.STATUS: "Status",
    Column.TRIGGER: "Trigger",
    Column.EVENT: "Event",
    Column.ENTITY: "Entity",
    Column.URL: "URL",
    Column.ATTEMPTS: "Attempts",
    Column.NEXT_ATTEMPT: "Next attempt",
    Column.LAST_RESPONSE: "Last response",
    Column.DURATION: "Duration",
}
#: Header titles, in column order.
COLUMNS = tuple(_TITLES[column] for column in Column)
#: Foreground, background of the status cell.
STATUS_COLOURS = {
    ItemStatus.QUEUED.value: ("#1f4e9c", "#e3ecfb"),
    ItemStatus.SENDING.value: ("#5b2a9a", "#efe6fa"),
    ItemStatus.DELIVERED.value: ("#1d6b32", "#e2f4e6"),
    ItemStatus.RETRYING.value: ("#8a5300", "#fdf0d9"),
    ItemStatus.FAILED.value: ("#a61b1b", "#fbe3e3"),
    ItemStatus.CANCELLED.value: ("#5f6368", "#eeeeee"),
}
#: Rows carry statuses as plain strings (as read from the database).
_WAITING = frozenset(status_values(WAITING_STATUSES))


def format_time(value: datetime | None) -> str:
    """Local time, compact: the year only when it is not this year (the tooltip has the full date)."""
    if value is None:
        return ""
    local = value.astimezone()
    if local.year == _THIS_YEAR:
        return local.strftime("%b %d %H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def format_full_time(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if value is not None else ""


def format_duration(ms: float | None) -> str:
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"


def priority_label(value: int) -> str:
    try:
        return Priority(value).label
    except ValueError:
        return str(value)


def event_label(event_name: str) -> str:
    """The event's display name ("Order changed") as the triggers show it; an unknown name as stored."""
    event = find_event(event_name)
    return event.display_name if event is not None else event_name


def status_label(status: str) -> str:
    """A status as every page shows it: "Delivered", "Retrying" (the database keeps "delivered")."""
    return status.capitalize()


def is_waiting(row: QueueRow) -> bool:
    """The row's item still waits to be sent (its next attempt time means something)."""
    return row.status in _WAITING


def _next_attempt(row: QueueRow) -> str:
    return format_time(row.next_attempt_at) if is_waiting(row) else ""


_TEXT: dict[Column, Callable[[QueueRow], str]] = {
    Column.ID: lambda row: str(row.id),
    Column.CREATED: lambda row: format_time(row.created_at),
    Column.PRIORITY: lambda row: priority_label(row.priority),
    Column.STATUS: lambda row: status_label(row.status),
    Column.TRIGGER: lambda row: row.trigger_title,
    Column.EVENT: lambda row: event_label(row.event_name),
    Column.ENTITY: lambda row: row.entity,
    Column.URL: lambda row: row.url,
    Column.ATTEMPTS: lambda row: str(row.attempts),
    Column.NEXT_ATTEMPT: _next_attempt,
    Column.LAST_RESPONSE: lambda row: row.last_response.replace("\n", " ")[:300],
    Column.DURATION: lambda row: format_duration(row.duration_ms),
}
#: Indexed by the plain column number a Qt index carries (one tuple index per painted cell).
_TEXT_BY_NUMBER = tuple(_TEXT[column] for column in Column)


def display_text(row: QueueRow, col: int) -> str:
    """The text of column ``col`` (a :class:`Column`) for ``row`` (also the tooltip of the long columns)."""
    return _TEXT_BY_NUMBER[col](row) if 0 <= col < len(_TEXT_BY_NUMBER) else ""
