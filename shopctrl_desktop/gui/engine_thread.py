"""A QThread that hosts the engine (listener + delivery) on its own asyncio loop.

The engine reports through the EngineObserver protocol on its own thread; ``QtEngineObserver`` re-emits
each callback as a Qt signal of ``EngineSignals``. That object lives in the GUI thread, so every
connection to a GUI slot is queued: the GUI only ever sees ids and frozen dataclasses, never ORM rows.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.queue import ItemChange, QueueCounts

log = logging.getLogger(__name__)

#: The engine's threads run this much "nicer" than the GUI thread (Linux, per thread; inherited by the
#: threads the engine starts). On a busy machine the GUI thread waited 30-80 ms in the CPU run queue behind
#: the engine, the receiver and the poster before it could paint (benchmarks/gui_queue.py, schedstat);
#: with the engine at a lower priority the scheduler runs the GUI first and the engine takes what is left.
ENGINE_NICE = 10


def lower_thread_priority(increment: int = ENGINE_NICE) -> None:
    """Lower the calling thread's CPU priority (best effort; threads it starts inherit it on Linux)."""
    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, current + increment))
        except OSError:  # not permitted (a sandbox): the engine runs at normal priority
            log.debug("could not lower the engine thread's priority", exc_info=True)


class EngineSignals(QObject):
    """The engine's progress as Qt signals (emitted from the engine thread, delivered queued)."""

    items_changed = Signal(list)  # list[ItemChange]
    alert_raised = Signal(int, str, str)  # alert id, severity, title
    counts_changed = Signal(object)  # QueueCounts
    state_changed = Signal(str, str, str)  # component, state, detail


class QtEngineObserver:
    """EngineObserver that forwards to EngineSignals; safe to call from any thread."""

    def __init__(self, signals: EngineSignals) -> None:
        self._signals = signals

    def items_changed(self, changes: list[ItemChange]) -> None:
        self._signals.items_changed.emit(list(changes))

    def alert_raised(self, alert_id: int, severity: str, title: str) -> None:
        self._signals.alert_raised.emit(alert_id, str(severity), title)

    def counts_changed(self, counts: QueueCounts) -> None:
        self._signals.counts_changed.emit(counts)

    def state_changed(self, component: str, state: str, detail: str) -> None:
        self._signals.state_changed.emit(component, state, detail)


class EngineThread(QThread):
    """Runs ``Engine(...).start()`` on a fresh asyncio loop; ``stop()`` awaits ``engine.stop()`` and joins.

    ``engine_started(listener_address)`` once the listener is bound; ``engine_failed(message)`` when the
    engine cannot start (port taken, database gone) — the window stays usable without it.
    """

    engine_started = Signal(str)
    engine_failed = Signal(str)
    engine_stopped = Signal()

    def __init__(
        self,
        ctx: AppContext,
        signals: EngineSignals | None = None,
        *,
        listen: bool = True,
        deliver: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("engine")
        self._ctx = ctx
        self.signals = signals if signals is not None else EngineSignals()
        self._listen = listen
        self._deliver = deliver
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._stop_requested = False
        self._engine: Any = None
        self.listener_address = ""

    # -- GUI thread ---------------------------------------------------------------------------------
    def request_stop(self) -> None:
        with self._lock:
            self._stop_requested = True
            if self._loop is not None and self._stop_event is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._stop_event.set)

    def stop(self, timeout_ms: int = 30_000) -> bool:
        """Stop the engine (it drains in-flight deliveries) and join the thread. True when it ended."""
        if not self.isRunning():
            return True
        self.request_stop()
        return self.wait(timeout_ms)

    def wake(self) -> None:
        """New or retried items are due now (e.g. after "Retry now")."""
        with self._lock:
            loop, engine = self._loop, self._engine
            if loop is not None and engine is not None and not loop.is_closed():
                loop.call_soon_threadsafe(engine.wake)

    # -- engine thread ------------------------------------------------------------------------------
    def run(self) -> None:
        self.setPriority(QThread.Priority.LowPriority)  # Windows/macOS; does nothing for SCHED_OTHER on Linux
        lower_thread_priority()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        except Exception as exc:  # noqa: BLE001 - reported to the window, never a silent dead thread
            log.exception("engine thread crashed")
            self.signals.state_changed.emit("delivery", "error", str(exc))
            self.engine_failed.emit(str(exc) or type(exc).__name__)
        finally:
            with self._lock:
                self._stop_event = None
                self._engine = None
                self._loop = None
            try:
                _cancel_leftovers(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()
            self.engine_stopped.emit()

    async def _main(self) -> None:
        from shopctrl_desktop.engine.service import Engine  # the engine is not imported until it runs

        ctx = self._ctx
        engine = Engine(
            ctx.db,
            ctx.box,
            ctx.settings,
            ctx.paths,
            QtEngineObserver(self.signals),
            listen=self._listen,
            deliver=self._deliver,
        )
        stop_event = asyncio.Event()
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._stop_event = stop_event
            if self._stop_requested:
                stop_event.set()
        try:
            await engine.start()
        except Exception as exc:  # noqa: BLE001
            log.warning("engine did not start: %s", exc)
            self.engine_failed.emit(str(exc) or type(exc).__name__)
            try:
                await engine.stop()
            except Exception:  # noqa: BLE001 - half-started engine, best effort
                log.debug("stopping a half-started engine failed", exc_info=True)
            return
        with self._lock:
            self._engine = engine
        self.listener_address = str(getattr(engine, "listener_address", "") or "")
        self.engine_started.emit(self.listener_address)
        try:
            await stop_event.wait()
        finally:
            with self._lock:
                self._engine = None
            await engine.stop()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
