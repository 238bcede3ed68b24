"""The GUI's handle on the engine (listener + delivery), which runs in a child process.

``EngineThread`` is a QThread: its ``run()`` starts the engine in a child process
(``engine/child_process.py``, multiprocessing *spawn*) and relays what the child reports as the Qt signals
of ``EngineSignals``. That object lives in the GUI thread, so every connection to a GUI slot is queued: the
GUI only ever sees ids and frozen dataclasses, never ORM rows. ``wake()`` and ``request_stop()`` send
commands down a pipe. Why a process and not a thread: docs/gui.md, "stalls".
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from multiprocessing.connection import wait as wait_for_ready
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.queue import ItemChange, QueueCounts
from shopctrl_desktop.engine.child_process import (
    ENGINE_NICE,
    NETWORK_OFFLINE,
    NETWORK_ONLINE,
    STOP,
    WAKE,
    EngineSpec,
    log_levels_of_this_process,
    run_engine_child,
)

log = logging.getLogger(__name__)

__all__ = ["ENGINE_NICE", "EngineSignals", "EngineThread", "lower_thread_priority"]

#: After "stop", the engine drains (in-flight requests, then deliveries: 10 s each at most); a child still
#: running after this long is terminated, then killed, so the window never hangs on it.
STOP_GRACE = 30.0
KILL_GRACE = 5.0


def lower_thread_priority(increment: int = ENGINE_NICE) -> None:
    """Lower the calling thread's CPU priority (best effort; threads it starts inherit it on Linux)."""
    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, current + increment))
        except OSError:  # not permitted (a sandbox): the relay runs at normal priority
            log.debug("could not lower the relay thread's priority", exc_info=True)


class EngineSignals(QObject):
    """The engine's progress as Qt signals (emitted from the engine thread, delivered queued)."""

    items_changed = Signal(list)  # list[ItemChange]
    alert_raised = Signal(int, str, str)  # alert id, severity, title
    counts_changed = Signal(object)  # QueueCounts
    state_changed = Signal(str, str, str)  # component, state, detail


class EngineThread(QThread):
    """Runs the engine in a child process and relays its progress; ``stop()`` lets it drain, then joins.

    ``engine_started(listener_address)`` once the listener is bound; ``engine_failed(message)`` when the
    engine cannot start (port taken, database gone) or its process ends unexpectedly — the window stays
    usable without it; ``engine_stopped()`` always comes last.
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
        self._commands: Any = None  # our end of the command pipe while the child runs
        self._stop_requested = False
        self._network: str | None = None  # the last reachability reported, sent again to a child that starts
        self.engine_pid: int | None = None  # the child process, while it runs
        self.listener_address = ""

    # -- GUI thread ---------------------------------------------------------------------------------
    def request_stop(self) -> None:
        with self._lock:
            self._stop_requested = True
            self._send(STOP)

    def stop(self, timeout_ms: int = 30_000) -> bool:
        """Stop the engine (it drains in-flight deliveries) and join the thread. True when it ended."""
        if not self.isRunning():
            return True
        self.request_stop()
        return self.wait(timeout_ms)

    def wake(self) -> None:
        """New or retried items are due now (e.g. after "Retry now")."""
        with self._lock:
            self._send(WAKE)

    def set_network_online(self, online: bool) -> None:
        """The operating system's reachability (gui/network_watch.py): deliveries pause while offline."""
        with self._lock:
            self._network = NETWORK_ONLINE if online else NETWORK_OFFLINE
            self._send(self._network)

    def _send(self, command: str) -> None:  # with self._lock held
        if self._commands is not None:
            try:
                self._commands.send(command)
            except (OSError, ValueError):  # the child is gone; run() reports that
                log.debug("engine command %r not delivered", command, exc_info=True)

    # -- relay thread -------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._run_child()
        except Exception as exc:  # noqa: BLE001 - reported to the window, never a silent dead thread
            log.exception("engine relay crashed")
            self._report_failure(str(exc) or type(exc).__name__)
        finally:
            with self._lock:
                self._commands = None
            self.engine_pid = None
            self.engine_stopped.emit()

    def _run_child(self) -> None:
        ctx = self._ctx
        spec = EngineSpec(
            paths=ctx.paths,
            settings=ctx.settings,
            database_url=ctx.db.url,
            box=ctx.box,
            listen=self._listen,
            deliver=self._deliver,
            log_levels=log_levels_of_this_process(),
        )
        mp = multiprocessing.get_context("spawn")  # no fork of a Qt process; the same in the bundle
        events_in, events_out = mp.Pipe(duplex=False)
        commands_in, commands_out = mp.Pipe(duplex=False)
        process = mp.Process(
            target=run_engine_child, args=(spec, events_out, commands_in), name="shopctrl-engine", daemon=True
        )
        with self._lock:
            if self._stop_requested:  # stopped before it started: nothing to run
                return
            process.start()
            self._commands = commands_out
            if self._network is not None:
                self._send(self._network)
        self.engine_pid = process.pid
        # After the start: the child lowers its own priority by ENGINE_NICE from the GUI's (which it inherits
        # from this thread); the relay only wakes for a batch of messages, and runs nicer than the GUI too.
        self.setPriority(QThread.Priority.LowPriority)  # Windows/macOS; does nothing for SCHED_OTHER on Linux
        lower_thread_priority()
        events_out.close()  # the child's ends: EOF reaches us when the child exits
        commands_in.close()
        try:
            outcome = self._relay(process, events_in)
        finally:
            with self._lock:
                self._commands = None
            commands_out.close()
            events_in.close()
            process.join(KILL_GRACE)
            if process.is_alive():
                process.kill()
                process.join(KILL_GRACE)
        if outcome is None:
            self._report_failure(f"the engine process ended unexpectedly (exit code {process.exitcode})")
        elif outcome:
            self._report_failure(outcome)

    def _relay(self, process: Any, events: Any) -> str | None:
        """Emit what the child reports until it ends; returns "" when it stopped cleanly, a message when it
        crashed after starting, None when it ended without a word (killed)."""
        stop_since: float | None = None
        terminated = False
        while True:
            ready = wait_for_ready([events, process.sentinel], timeout=0.5)
            if events in ready:
                try:
                    batch = events.recv()
                except (EOFError, OSError):
                    return None
                for message in batch:
                    outcome = self._dispatch(message)
                    if outcome is not None:
                        return outcome
                continue
            if process.sentinel in ready:  # ended; its last words (if any) were read above
                return None
            if self._stop_requested:
                stop_since = stop_since if stop_since is not None else time.monotonic()
                waited = time.monotonic() - stop_since
                if waited > STOP_GRACE and not terminated:
                    log.error("the engine did not stop within %.0f s; terminating it", STOP_GRACE)
                    process.terminate()
                    terminated = True
                elif waited > STOP_GRACE + KILL_GRACE:
                    process.kill()

    def _dispatch(self, message: tuple[Any, ...]) -> str | None:
        """Emit one message as a signal; a final message returns the outcome ("" stopped, else crashed)."""
        kind = message[0]
        signals = self.signals
        if kind == "items":
            signals.items_changed.emit([ItemChange(*change) for change in message[1]])
        elif kind == "counts":
            signals.counts_changed.emit(QueueCounts(*message[1]))
        elif kind == "state":
            signals.state_changed.emit(message[1], message[2], message[3])
        elif kind == "alert":
            signals.alert_raised.emit(message[1], message[2], message[3])
        elif kind == "log":
            record = logging.makeLogRecord(message[1])
            logging.getLogger(record.name).handle(record)
        elif kind == "started":
            self.listener_address = message[1]
            self.engine_started.emit(message[1])
        elif kind == "failed":
            self.engine_failed.emit(message[1])
        elif kind == "crashed":
            return str(message[1])
        elif kind == "stopped":
            return ""
        return None

    def _report_failure(self, message: str) -> None:
        log.error("engine: %s", message)
        self.signals.state_changed.emit("delivery", "error", message)
        if self._listen:
            self.signals.state_changed.emit("listener", "error", message)
        self.engine_failed.emit(message)
