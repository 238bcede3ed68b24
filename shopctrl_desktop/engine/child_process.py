"""The engine (listener + delivery) in a child process of the desktop app, reporting over a pipe.

Why a process: on a thread of the GUI process every Python bytecode the engine ran (parsing, rendering,
SQLAlchemy, aiohttp) competed for the GIL with the GUI thread's painting; the window stalled 80-120 ms
while delivering 500 items/s (benchmarks/gui_queue.py, docs/gui.md). In its own process the engine has its
own interpreter and runs at a lower CPU priority, and the GUI process only relays a few messages a second.

The GUI side (``gui/engine_thread.py``) starts :func:`run_engine_child` with ``multiprocessing``'s *spawn*
context (the same on every platform and in the PyInstaller bundle) and an :class:`EngineSpec` of plain
values; the child rebuilds the database, the secret box and the engine from them. Messages are plain
tuples (see :data:`EVENTS`); the child sends them in batches, at most every :data:`BATCH_INTERVAL`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import signal
import socket
import threading
import time
from dataclasses import astuple, dataclass, field
from typing import Any

from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.queue import ItemChange, QueueCounts
from shopctrl_desktop.paths import AppPaths
from shopctrl_desktop.runtime import tune_process
from shopctrl_desktop.store.secrets import SecretBox

log = logging.getLogger(__name__)

#: How much "nicer" the engine process runs than the GUI (all its threads inherit it). On a busy machine the
#: GUI thread waited 30-80 ms in the CPU run queue behind the engine before it could paint; at a lower
#: priority the scheduler runs the GUI first and the engine takes what is left (delivery still keeps up).
ENGINE_NICE = 10

#: The child sends what happened at most this often, as one batch (one wake-up of the GUI process's relay
#: thread instead of one per callback); consecutive item changes are merged into one ``items`` message.
BATCH_INTERVAL = 0.05

# Child -> GUI messages (tuples, first element the kind):
#   ("started", listener_address)     ("failed", message)        the engine is up / could not start
#   ("items", [ItemChange tuple, …])  ("alert", id, severity, title)
#   ("counts", QueueCounts tuple)     ("state", component, state, detail)
#   ("log", record dict)              a log record, handled by the GUI process's logging
#   ("crashed", message)              the engine failed while running
#   ("stopped",)                      the engine stopped cleanly; the process exits next
# GUI -> child commands: "wake" (items are due now), "stop" (drain and exit). End of file means "stop".
EVENTS = ("started", "failed", "items", "alert", "counts", "state", "log", "crashed", "stopped")
WAKE, STOP = "wake", "stop"
# ... and the operating system's reachability (gui/network_watch.py): deliveries pause while offline
NETWORK_ONLINE, NETWORK_OFFLINE = "network-online", "network-offline"


@dataclass(frozen=True)
class EngineSpec:
    """Everything the child needs, as values that pickle (never a Database, a session or a Qt object).

    The secret box crosses as its key (``SecretBox`` pickles as key + source), in the pipe multiprocessing
    opens to the child — never on disk or in the command line."""

    paths: AppPaths
    settings: Settings
    database_url: str
    box: SecretBox
    listen: bool = True
    deliver: bool = True
    nice: int = ENGINE_NICE
    log_levels: dict[str, int] = field(default_factory=dict)  # logger name ("" = root) -> level
    # serve --workers N (engine/supervisor.py): a child of the supervisor rather than of the window
    observe: bool = True  # report items, counts and states (the window shows them); serve: nobody listens
    housekeeping: bool = True  # backup, retention, certificate watch (one process of a serve does them)
    listen_socket: socket.socket | None = None  # bound by the supervisor, shared by its intake processes
    wake_socket: socket.socket | None = None  # a delivery process: wake-ups from the intake processes
    wake_ports: tuple[int, ...] = ()  # an intake process: where the delivery processes wait for wake-ups
    stop_on_sigterm: bool = False  # serve: SIGTERM stops cleanly (systemd signals every process)


def log_levels_of_this_process() -> dict[str, int]:
    """The root level and every explicitly set logger level, for the child to log what the GUI would."""
    levels = {"": logging.getLogger().getEffectiveLevel()}
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            levels[name] = logger.level
    return levels


# --- child side ----------------------------------------------------------------------------------------
class _Outbox:
    """Collects messages from any thread; a sender thread ships them in batches over the pipe."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._send_loop, name="engine-outbox", daemon=True)
        self._thread.start()

    def put(self, message: tuple[Any, ...]) -> None:
        self._queue.put(message)

    def close(self, timeout: float = 10.0) -> None:
        """Send what is left, then stop the sender thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _send_loop(self) -> None:
        closing = False
        while not closing:
            first = self._queue.get()
            batch: list[tuple[Any, ...]] = []
            message = first
            while True:
                if message is None:
                    closing = True
                elif batch and message[0] == "items" and batch[-1][0] == "items":
                    batch[-1] = ("items", batch[-1][1] + message[1])
                else:
                    batch.append(message)
                try:
                    message = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    self._conn.send(batch)
                except (OSError, ValueError):  # the GUI process is gone: nobody to tell
                    return
            if not closing:
                time.sleep(BATCH_INTERVAL)


class PipeObserver:
    """EngineObserver that turns each callback into a plain message for the GUI process."""

    def __init__(self, outbox: _Outbox) -> None:
        self._outbox = outbox

    def items_changed(self, changes: list[ItemChange]) -> None:
        self._outbox.put(("items", [tuple(c) for c in changes]))

    def alert_raised(self, alert_id: int, severity: str, title: str) -> None:
        self._outbox.put(("alert", int(alert_id), str(severity), str(title)))

    def counts_changed(self, counts: QueueCounts) -> None:
        self._outbox.put(("counts", astuple(counts)))

    def state_changed(self, component: str, state: str, detail: str) -> None:
        self._outbox.put(("state", str(component), str(state), str(detail)))


class _ForwardingHandler(logging.Handler):
    """Sends each record (message already formatted, traceback as text) to the GUI process's logging."""

    def __init__(self, outbox: _Outbox) -> None:
        super().__init__()
        self._outbox = outbox
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exc_text = record.exc_text
            if record.exc_info and not exc_text:
                exc_text = self._formatter.formatException(record.exc_info)
            self._outbox.put(
                (
                    "log",
                    {
                        "name": record.name,
                        "levelno": record.levelno,
                        "levelname": record.levelname,
                        "msg": record.getMessage(),
                        "exc_text": exc_text,
                        "created": record.created,
                        "msecs": record.msecs,
                        "pathname": record.pathname,
                        "filename": record.filename,
                        "module": record.module,
                        "lineno": record.lineno,
                        "funcName": record.funcName,
                        "threadName": f"engine:{record.threadName}",
                        "processName": record.processName,
                        "process": record.process,
                    },
                )
            )
        except Exception:  # noqa: BLE001 - logging must never break the engine
            self.handleError(record)


def _forward_logging(outbox: _Outbox, levels: dict[str, int]) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_ForwardingHandler(outbox))
    root.setLevel(levels.get("", logging.INFO))
    for name, level in levels.items():
        if name:
            logging.getLogger(name).setLevel(level)


def lower_process_priority(increment: int) -> None:
    """Lower this process's CPU priority, every thread of it (best effort; later threads inherit it)."""
    if increment <= 0 or not hasattr(os, "setpriority"):
        return  # Windows: the process runs at normal priority
    try:
        task_dir = f"/proc/{os.getpid()}/task"
        if os.path.isdir(task_dir):  # Linux: a nice value belongs to a thread, so set each one's
            for tid in (int(name) for name in os.listdir(task_dir)):
                current = os.getpriority(os.PRIO_PROCESS, tid)
                os.setpriority(os.PRIO_PROCESS, tid, min(19, current + increment))
        else:
            os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + increment))
    except OSError:  # not permitted (a sandbox), or a thread ended meanwhile
        log.debug("could not lower the engine process's priority", exc_info=True)


def run_engine_child(spec: EngineSpec, events: Any, commands: Any) -> None:
    """The child process's main: run the engine until "stop" (or the GUI process goes away)."""
    # Ctrl+C in a terminal reaches the whole process group: the GUI process decides when the engine stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_process()  # a process entry, like `serve` (runtime.py)
    outbox = _Outbox(events)
    _forward_logging(outbox, spec.log_levels)
    try:
        asyncio.run(_run(spec, outbox, commands))
    except BaseException as exc:  # noqa: BLE001 - reported to the window, never a silent dead process
        log.exception("engine process crashed")
        outbox.put(("crashed", str(exc) or type(exc).__name__))
    else:
        outbox.put(("stopped",))
    finally:
        outbox.close()
        events.close()


async def _run(spec: EngineSpec, outbox: _Outbox, commands: Any) -> None:
    from shopctrl_desktop.engine.service import Engine
    from shopctrl_desktop.engine.wake_channel import WakeSender, receive_wakes
    from shopctrl_desktop.store.db import Database

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    started = threading.Event()
    engine_box: list[Engine] = []

    def on_wake() -> None:
        if engine_box and engine_box[0].running:
            log.debug("woken by the window")
            engine_box[0].wake()

    network: list[bool | None] = [None]  # the last reachability the window reported

    def on_network() -> None:
        if engine_box and network[0] is not None:
            engine_box[0].set_network_online(network[0])

    def read_commands() -> None:  # a thread: pipes are not awaitable on every platform
        while True:
            try:
                command = commands.recv()
            except (EOFError, OSError):  # the GUI process is gone or closed its end: stop
                command = STOP
            try:
                if command == STOP:
                    loop.call_soon_threadsafe(stop.set)
                    return
                if command == WAKE and started.is_set():
                    loop.call_soon_threadsafe(on_wake)
                if command in (NETWORK_ONLINE, NETWORK_OFFLINE):
                    network[0] = command == NETWORK_ONLINE
                    if started.is_set():
                        loop.call_soon_threadsafe(on_network)
            except RuntimeError:  # the loop is closed: the engine has stopped already
                return

    threading.Thread(target=read_commands, name="engine-commands", daemon=True).start()
    if spec.stop_on_sigterm and hasattr(signal, "SIGTERM"):
        try:
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows: the supervisor's "stop" is the only way
            pass
    waker = WakeSender(spec.wake_ports) if spec.wake_ports else None
    db = Database(spec.database_url, migrate=False)  # the parent process opened and migrated it
    try:
        engine = Engine(
            db,
            spec.box,
            spec.settings,
            spec.paths,
            PipeObserver(outbox) if spec.observe else None,
            listen=spec.listen,
            deliver=spec.deliver,
            housekeeping=spec.housekeeping,
            listen_socket=spec.listen_socket,
            waker=waker.wake if waker is not None else None,
        )
        try:
            await engine.start()
        except Exception as exc:  # noqa: BLE001 - port taken, database gone: the window explains it
            log.warning("engine did not start: %s", exc)
            outbox.put(("failed", str(exc) or type(exc).__name__))
            try:
                await engine.stop()
            except Exception:  # noqa: BLE001 - half-started engine, best effort
                log.debug("stopping a half-started engine failed", exc_info=True)
            return
        # Started at the GUI's priority (on a busy machine a nice child took 20 s to import and bind), it
        # delivers at a lower one.
        lower_process_priority(spec.nice)
        engine_box.append(engine)
        started.set()
        on_network()  # reported before the engine ran
        wakes = await receive_wakes(spec.wake_socket, engine.wake) if spec.wake_socket is not None else None
        outbox.put(("started", str(engine.listener_address or "")))
        await stop.wait()
        if wakes is not None:
            wakes.close()
        await engine.stop()
    finally:
        if waker is not None:
            waker.close()
        db.dispose()
