"""Run a DeliveryEngine in a test and wait on what its observer reports (no sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace

from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.queue import FINAL_STATUSES, ItemChange, QueueCounts
from shopctrl_desktop.domain.retry import RetryPolicy
from shopctrl_desktop.engine.delivery import DeliveryEngine
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secrets import SecretBox

FINAL = FINAL_STATUSES


def fast_settings(**fields) -> Settings:
    """Tiny retry delays, like SHOPCTRL_RETRY_DELAYS=0.01."""
    base = Settings(retry=RetryPolicy(kind="custom", delays=(0.01,), max_retries=10))
    return replace(base, **fields)


class RecordingObserver:
    def __init__(self) -> None:
        self.changes: list[ItemChange] = []
        self.status: dict[int, str] = {}
        self.alerts: list[tuple[int, str, str]] = []
        self.counts: list[QueueCounts] = []
        self.states: list[tuple[str, str, str]] = []
        self._cond = asyncio.Condition()

    def _poke(self) -> None:
        async def notify() -> None:
            async with self._cond:
                self._cond.notify_all()

        asyncio.get_running_loop().create_task(notify())

    def items_changed(self, changes: list[ItemChange]) -> None:
        self.changes.extend(changes)
        for c in changes:
            self.status[c.item_id] = c.status
        self._poke()

    def alert_raised(self, alert_id: int, severity: str, title: str) -> None:
        self.alerts.append((alert_id, severity, title))
        self._poke()

    def counts_changed(self, counts: QueueCounts) -> None:
        self.counts.append(counts)
        self._poke()

    def state_changed(self, component: str, state: str, detail: str) -> None:
        self.states.append((component, state, detail))
        self._poke()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(predicate), timeout)

    async def wait_final(self, ids: Iterable[int], timeout: float = 15.0) -> dict[int, str]:
        wanted = list(ids)
        await self.wait_until(lambda: all(self.status.get(i) in FINAL for i in wanted), timeout)
        return {i: self.status[i] for i in wanted}


@asynccontextmanager
async def running_engine(
    db: Database, box: SecretBox, settings: Settings | None = None, **kwargs
) -> AsyncIterator[tuple[DeliveryEngine, RecordingObserver]]:
    observer = RecordingObserver()
    engine = DeliveryEngine(db, box, settings or fast_settings(), observer, **kwargs)
    await engine.start()
    try:
        yield engine, observer
    finally:
        await engine.stop(drain_timeout=2.0)
