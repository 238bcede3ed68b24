"""The engine's automatic daily backup of a SQLite database: ``<data dir>/backups/shopctrl-YYYY-MM-DD.sqlite3``,
taken when the newest is from an earlier day (UTC), the last :data:`~shopctrl_desktop.domain.backups.KEEP_DAILY` kept.

Off the hot path: the copy runs on its own thread, a few pages per step with a short pause between steps,
inside one read transaction (SQLite WAL: readers never block the writers), so intake and delivery carry on.
Stopping the engine abandons a backup in progress (the previous files stay as they were).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from shopctrl_desktop.domain.backups import (
    backup_day,
    backup_due,
    backups_to_delete,
    daily_backup_name,
)
from shopctrl_desktop.store.backup import BackupError, backup_sqlite_file

log = logging.getLogger(__name__)

FIRST_CHECK_DELAY = 60.0  # seconds after the engine started: never competes with start-up
CHECK_INTERVAL = 3600.0  # then once an hour
PAGES_PER_STEP = 256  # 1 MiB of 4 KiB pages
PAUSE_BETWEEN_STEPS = 0.005


def backup_folder(data_dir: Path) -> Path:
    return data_dir / "backups"


def take_daily_backup_if_due(
    database: Path, folder: Path, now: datetime, *, stop: Callable[[], bool] | None = None
) -> Path | None:
    """Back up ``database`` into ``folder`` when one is due, then delete the ones beyond the newest kept.
    Returns the new backup, None when none was due."""
    if not backup_due((p.name for p in folder.iterdir()) if folder.is_dir() else (), now.date()):
        return None
    target = backup_sqlite_file(
        database,
        folder / daily_backup_name(now.date()),
        pages=PAGES_PER_STEP,
        pause=PAUSE_BETWEEN_STEPS,
        stop=stop,
    )
    for name in backups_to_delete(p.name for p in folder.iterdir()):
        if backup_day(name) is not None:
            (folder / name).unlink(missing_ok=True)
    return target


async def run_daily_backups(
    database: Path, data_dir: Path, stopping: threading.Event, *, first_delay: float | None = None
) -> None:
    """The engine's task: check now and then, back up on a worker thread when due; ends when cancelled."""
    folder = backup_folder(data_dir)
    await asyncio.sleep(FIRST_CHECK_DELAY if first_delay is None else first_delay)
    loop = asyncio.get_running_loop()
    while not stopping.is_set():
        try:
            taken = await loop.run_in_executor(
                None,
                lambda: take_daily_backup_if_due(database, folder, datetime.now(UTC), stop=stopping.is_set),
            )
            if taken is not None:
                log.info("daily backup written to %s", taken)
        except (BackupError, OSError) as exc:
            if not stopping.is_set():
                log.warning("the daily backup failed: %s", exc)
        await asyncio.sleep(CHECK_INTERVAL)
