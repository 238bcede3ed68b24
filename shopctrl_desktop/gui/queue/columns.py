"""The queue table's columns and how a row reads in each of them (plain Python: no Qt here)."""

from __future__ import annotations

from datetime import datetime

from shopctrl_desktop.domain.model import Priority
from shopctrl_desktop.store.browse import QueueRow

_THIS_YEAR = datetime.now().year

COLUMNS = (
    "ID",
    "Created",
    "Priority",
    "Status",
    "Trigger",
    "Event",
    "Entity",
    "URL",
    "Attempts",
    "Next attempt",
    "Last response",
    "Duration",
)
COL_ID, COL_CREATED, COL_PRIORITY, COL_STATUS = 0, 1, 2, 3
COL_ATTEMPTS, COL_NEXT, COL_RESPONSE, COL_DURATION = 8, 9, 10, 11
#: Foreground, background of the status cell.
STATUS_COLOURS = {
    "queued": ("#1f4e9c", "#e3ecfb"),
    "sending": ("#5b2a9a", "#efe6fa"),
    "delivered": ("#1d6b32", "#e2f4e6"),
    "retrying": ("#8a5300", "#fdf0d9"),
    "failed": ("#a61b1b", "#fbe3e3"),
    "cancelled": ("#5f6368", "#eeeeee"),
}


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


def display_text(row: QueueRow, col: int) -> str:
    """The text of column ``col`` for ``row`` (also its tooltip for the long columns)."""
    if col == COL_ID:
        return str(row.id)
    if col == COL_CREATED:
        return format_time(row.created_at)
    if col == COL_PRIORITY:
        return priority_label(row.priority)
    if col == COL_STATUS:
        return row.status.capitalize()
    if col == 4:
        return row.trigger_title
    if col == 5:
        return row.event_name
    if col == 6:
        return row.entity
    if col == 7:
        return row.url
    if col == COL_ATTEMPTS:
        return str(row.attempts)
    if col == COL_NEXT:
        return format_time(row.next_attempt_at) if row.status in ("queued", "retrying") else ""
    if col == COL_RESPONSE:
        return row.last_response.replace("\n", " ")[:300]
    if col == COL_DURATION:
        return format_duration(row.duration_ms)
    return ""
