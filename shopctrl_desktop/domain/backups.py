"""Which automatic backups exist, when the next one is due and which ones are kept (pure: the clock is given).

The engine keeps one backup a day in the data directory's ``backups/`` folder, named
``shopctrl-YYYY-MM-DD.sqlite3`` after the (UTC) day it was taken; the newest :data:`KEEP_DAILY` are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

KEEP_DAILY = 7
_NAME = re.compile(r"^shopctrl-(\d{4})-(\d{2})-(\d{2})\.sqlite3$")


def daily_backup_name(day: date) -> str:
    return f"shopctrl-{day.isoformat()}.sqlite3"


def backup_day(name: str) -> date | None:
    """The day an automatic backup's file name carries; None for any other file."""
    match = _NAME.match(name)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def latest_backup(names: Iterable[str]) -> str | None:
    """The newest automatic backup among ``names``; None when there is none."""
    dated = [(day, name) for name in names if (day := backup_day(name)) is not None]
    return max(dated)[1] if dated else None


def backup_due(names: Iterable[str], today: date) -> bool:
    """A backup is due when there is none for ``today`` or later: the newest is from an earlier day."""
    newest = latest_backup(names)
    day = backup_day(newest) if newest is not None else None
    return day is None or day < today


def backups_to_delete(names: Iterable[str], keep: int = KEEP_DAILY) -> list[str]:
    """The automatic backups beyond the newest ``keep`` (oldest first); other files are never listed."""
    dated = sorted((day, name) for name in names if (day := backup_day(name)) is not None)
    return [name for _day, name in dated[: max(0, len(dated) - keep)]]
