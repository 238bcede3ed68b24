"""The small callback protocol through which the engine reports progress (the GUI turns it into signals).

Callbacks are called on the engine's thread with plain values only (ids, strings, frozen dataclasses and named tuples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol


@dataclass(frozen=True)
class QueueCounts:
    queued: int = 0
    sending: int = 0
    retrying: int = 0
    failed: int = 0
    delivered: int = 0
    cancelled: int = 0


class ItemChange(NamedTuple):
    """One queue item's new state (immutable: it crosses from the engine's thread to the GUI's)."""

    item_id: int
    status: str
    attempts: int
    response_status: int | None = None
    message: str | None = None


class EngineObserver(Protocol):
    def items_changed(self, changes: list[ItemChange]) -> None: ...
    def alert_raised(self, alert_id: int, severity: str, title: str) -> None: ...
    def counts_changed(self, counts: QueueCounts) -> None: ...
    def state_changed(self, component: str, state: str, detail: str) -> None:
        """component: "listener" | "delivery"; state: "starting" | "running" | "stopped" | "error"."""
        ...


class NullObserver:
    def items_changed(self, changes: list[ItemChange]) -> None:
        pass

    def alert_raised(self, alert_id: int, severity: str, title: str) -> None:
        pass

    def counts_changed(self, counts: QueueCounts) -> None:
        pass

    def state_changed(self, component: str, state: str, detail: str) -> None:
        pass
