"""The small callback protocol through which the engine reports progress (the GUI turns it into signals).

Callbacks are called on the engine's thread with plain values only (ids, strings, and the immutable
:class:`ItemChange` / :class:`QueueCounts` of domain/queue.py).
"""

from __future__ import annotations

from typing import Protocol

from shopctrl_desktop.domain.queue import ItemChange, QueueCounts


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
