"""The delivering engine's retention turn (domain/retention.py): every ten minutes, delete what is past its
retention in batches of 500 rows, one short transaction each with a pause between them, so intake and delivery
never wait long; then give some of the freed space back to the file system (SQLite)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.retention import cutoffs
from shopctrl_desktop.engine.fault_log import RepeatingFault
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.retention import Purged, give_space_back, purge_batch

log = logging.getLogger(__name__)

FIRST_DELAY = 120.0  # seconds after the engine started
INTERVAL = 600.0
PAUSE_BETWEEN_BATCHES = 0.05


def purge_once(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    stop: Callable[[], bool] = lambda: False,
    pause: float = 0.0,
) -> Purged:
    """Everything due at ``now``, batch by batch (blocking: run it on a worker thread)."""
    import time

    cut = cutoffs(now, settings.keep_delivered_days, settings.keep_failed_days)
    total = Purged()
    while cut.any and not stop():
        with db.session() as session:
            done = purge_batch(session, cut)
        if done.nothing:
            break
        total.add(done)
        if pause:
            time.sleep(pause)
    if not total.nothing:
        give_space_back(db)
    return total


async def run_retention(db: Database, settings: Settings, *, first_delay: float = FIRST_DELAY) -> None:
    """The engine's task; ends when cancelled."""
    fault = RepeatingFault(log, "deleting data past its retention")
    stopping = False

    def stop() -> bool:
        return stopping

    await asyncio.sleep(first_delay)
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                done = await loop.run_in_executor(
                    None,
                    lambda: purge_once(
                        db, settings, datetime.now(UTC), stop=stop, pause=PAUSE_BETWEEN_BATCHES
                    ),
                )
                fault.recovered()
                if not done.nothing:
                    log.info(
                        "retention: deleted %d finished items, %d attempts and %d event snapshots",
                        done.items,
                        done.attempts,
                        done.events,
                    )
            except Exception as exc:  # noqa: BLE001 - a locked or unreachable database: next turn
                fault.failed(exc, retry=f"trying again in {INTERVAL / 60:.0f} minutes")
            await asyncio.sleep(INTERVAL)
    finally:
        stopping = True
