"""Run a plain callable on a worker thread and hand its result back to the GUI thread by signal.

Anki's pattern: ``run_in_background(fn, on_done, on_error)``. ``fn`` opens its own short-lived
Session (``with ctx.db.session() as s``): Sessions never cross threads, and results are plain values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

#: Long work (id lists over a million rows, CSV export) never waits behind a queue of small reads.
_POOL: QThreadPool | None = None
#: Tasks in flight; keeps their signal objects alive until the result reached the GUI thread.
_LIVE: dict[_Task, _Relay] = {}


def pool() -> QThreadPool:
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        _POOL.setMaxThreadCount(3)
    return _POOL


class Progress:
    """Handed to the callable when it asks for one: report progress and check for cancellation."""

    def __init__(self, signals: _Signals) -> None:
        self._signals = signals
        self.cancelled = False

    def report(self, done: int, total: int) -> None:
        self._signals.progressed.emit(done, total)


class _Signals(QObject):
    succeeded = Signal(object)
    failed = Signal(str)
    progressed = Signal(int, int)


class _Relay(QObject):
    """Lives in the GUI thread, so the queued signals run the callbacks there."""

    def __init__(
        self,
        task: _Task,
        on_success: Callable[[Any], None] | None,
        on_failure: Callable[[str], None] | None,
        on_progress: Callable[[int, int], None] | None,
    ) -> None:
        super().__init__()
        self._task = task
        self._on_success = on_success
        self._on_failure = on_failure
        self._on_progress = on_progress

    @Slot(object)
    def on_succeeded(self, result: object) -> None:
        _LIVE.pop(self._task, None)
        if self._on_success is not None:
            self._on_success(result)

    @Slot(str)
    def on_failed(self, message: str) -> None:
        _LIVE.pop(self._task, None)
        if self._on_failure is not None:
            self._on_failure(message)

    @Slot(int, int)
    def on_progressed(self, done: int, total: int) -> None:
        if self._on_progress is not None:
            self._on_progress(done, total)


class _Task(QRunnable):
    def __init__(self, fn: Callable[..., Any], with_progress: bool) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.signals = _Signals()
        self.progress = Progress(self.signals) if with_progress else None

    def run(self) -> None:
        try:
            result = self.fn(self.progress) if self.progress is not None else self.fn()
        except Exception as exc:  # noqa: BLE001 - reported to the GUI as words
            log.exception("background task failed")
            self.signals.failed.emit(str(exc) or type(exc).__name__)
        else:
            self.signals.succeeded.emit(result)


def run_in_background(
    fn: Callable[..., Any],
    on_success: Callable[[Any], None] | None = None,
    on_failure: Callable[[str], None] | None = None,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    with_progress: bool = False,
    owner: QObject | None = None,
) -> Progress | None:
    """Start ``fn`` on the pool; callbacks run on the GUI thread. Returns the Progress (to cancel) if asked.

    ``owner`` (the widget the callbacks touch): when it is deleted first, the callbacks are dropped.
    """
    task = _Task(fn, with_progress or on_progress is not None)
    relay = _Relay(task, on_success, on_failure, on_progress)
    if owner is not None:
        relay.setParent(owner)
        relay.destroyed.connect(lambda *_: _LIVE.pop(task, None))
    task.signals.succeeded.connect(relay.on_succeeded)
    task.signals.failed.connect(relay.on_failed)
    task.signals.progressed.connect(relay.on_progressed)
    _LIVE[task] = relay
    pool().start(task)
    return task.progress


def wait_for_background(timeout_ms: int = 30_000) -> bool:
    """Quit and tests: let running tasks finish (they hold database sessions)."""
    return pool().waitForDone(timeout_ms)
