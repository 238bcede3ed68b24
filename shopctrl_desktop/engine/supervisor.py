"""``serve --workers N``: one supervisor process and its engine processes (docs/delivery.md "Process model").

The supervisor binds the listening socket once and hands it to every *intake* process (listener + intake);
the *delivery* processes claim, send and record, the first of them also runs the housekeeping (retention,
daily backup, certificate watch). Each child is :func:`engine.child_process.run_engine_child` — the same
child the desktop app starts — spawned with an :class:`EngineSpec` for its role. After a commit an intake
process wakes the delivery processes with a datagram (engine/wake_channel.py).

The supervisor watches the children: one that exits unexpectedly (a crash, ``kill -9``) is restarted after
a short backoff and logged in one line; the items a dead delivery process held go back to due at once. On
SIGINT/SIGTERM it tells every child to stop, waits for them, and exits 0 — or, as a single ``serve`` does,
exits 3 when they do not stop within the deadline (the children still running are killed first).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from dataclasses import dataclass, field, replace
from multiprocessing.connection import wait as wait_for
from typing import Any

from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.serve_layout import ServeLayout, share
from shopctrl_desktop.engine.child_process import (
    STOP,
    EngineSpec,
    log_levels_of_this_process,
    run_engine_child,
)
from shopctrl_desktop.engine.delivery import owner_prefix
from shopctrl_desktop.engine.listener import bind_listening_socket
from shopctrl_desktop.engine.service import DRAIN_TIMEOUT, STOP_GRACE, _StopWatchdog
from shopctrl_desktop.engine.token import load_or_create_token
from shopctrl_desktop.engine.wake_channel import bind_wake_socket
from shopctrl_desktop.paths import AppPaths
from shopctrl_desktop.store import claim as claims
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secrets import SecretBox

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0  # seconds for every child to report "started" (imports on a slow, busy machine)
FIRST_BACKOFF, MAX_BACKOFF = 0.5, 30.0  # seconds before a restart, doubling while a child keeps crashing
STABLE_AFTER = 60.0  # a child that ran this long starts the backoff afresh when it exits


class ServiceStartError(RuntimeError):
    """A child could not start (database in use, ...); the message is in words."""


@dataclass
class _Child:
    name: str  # "intake process", "intake process 2", "delivery process"
    spec: EngineSpec
    process: Any = None
    events: Any = None
    commands: Any = None
    started: bool = False
    reading: bool = False
    last_message: str = ""  # a "crashed" or "failed" report
    started_at: float = 0.0
    backoff: float = FIRST_BACKOFF
    restart_at: float | None = None
    exit_note: str = ""
    exit_seen: bool = False
    pids: list[int] = field(default_factory=list)


class Supervisor:
    def __init__(
        self, db: Database, box: SecretBox, settings: Settings, paths: AppPaths, layout: ServeLayout
    ) -> None:
        self.db = db
        self._mp = multiprocessing.get_context("spawn")  # the same on every platform and in the bundle
        self._listen_socket = bind_listening_socket(settings)  # ListenerError: port taken, remote refused
        load_or_create_token(paths)  # once, before the intake processes would race to create it
        self._wake_sockets = [bind_wake_socket() for _ in range(layout.delivery)]
        ports = tuple(s.getsockname()[1] for s in self._wake_sockets)
        host, port = self._listen_socket.getsockname()[:2]
        settings = replace(settings, listen_port=port)  # port 0 chosen once, here
        self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        base = EngineSpec(
            paths=paths,
            settings=settings,
            database_url=db.url,
            box=box,
            nice=0,
            log_levels=log_levels_of_this_process(),
            observe=False,
            stop_on_sigterm=True,
        )
        self.children: list[_Child] = []
        for n in range(layout.delivery):
            limits = replace(  # the settings' limits are the service's: each delivery process gets its share
                settings,
                concurrency=share(settings.concurrency, layout.delivery, n),
                per_host_concurrency=share(settings.per_host_concurrency, layout.delivery, n),
            )
            spec = replace(
                base,
                settings=limits,
                listen=False,
                housekeeping=n == 0,
                wake_socket=self._wake_sockets[n],
            )
            self.children.append(_Child(_numbered("delivery process", n), spec))
        for n in range(layout.intake):
            spec = replace(
                base,
                deliver=False,
                housekeeping=False,
                listen_socket=self._listen_socket,
                wake_ports=ports,
            )
            self.children.append(_Child(_numbered("intake process", n), spec))
        self._stop_in, self._stop_out = self._mp.Pipe(duplex=False)
        self._stop_requests = 0
        self._watching = False  # start() is over: an exit from now on is a crash, restarted
        self._stopping = False

    # --- start ------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start every child and wait until each reports "started". Raises ServiceStartError."""
        for child in self.children:
            self._spawn(child)
        deadline = time.monotonic() + START_TIMEOUT
        while not all(c.started for c in self.children):
            if self._stop_requests:
                return
            for child in self.children:
                if child.process.exitcode is not None and not child.started:
                    self._read_all(child)
                    raise ServiceStartError(
                        f"the {child.name} did not start: {child.last_message or _exit_words(child)}"
                    )
            if time.monotonic() > deadline:
                raise ServiceStartError(f"the engine processes did not start within {START_TIMEOUT:.0f} s")
            self._wait_once(min(1.0, max(0.0, deadline - time.monotonic())))
        self._watching = True

    def _spawn(self, child: _Child) -> None:
        events_in, events_out = self._mp.Pipe(duplex=False)
        commands_in, commands_out = self._mp.Pipe(duplex=False)
        process = self._mp.Process(
            target=run_engine_child,
            args=(child.spec, events_out, commands_in),
            name=f"shopctrl-{child.name.replace(' ', '-')}",
            daemon=True,
        )
        process.start()
        events_out.close()
        commands_in.close()
        child.process, child.events, child.commands = process, events_in, commands_out
        child.reading, child.started, child.last_message, child.exit_seen = True, False, "", False
        child.started_at = time.monotonic()
        child.pids.append(int(process.pid or 0))

    # --- run --------------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """From a signal handler: wake the supervisor's loop."""
        self._stop_requests += 1
        try:
            self._stop_out.send_bytes(b"s")
        except OSError:
            pass

    @property
    def stop_requested(self) -> bool:
        return self._stop_requests > 0

    def run_until_stopped(self) -> None:
        """Watch the children and restart those that exit, until a stop is requested."""
        while not self._stop_requests:
            now = time.monotonic()
            due = [c.restart_at for c in self.children if c.restart_at is not None]
            self._wait_once(max(0.0, min(due) - now) if due else None)
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is not None and child.restart_at <= now and not self._stop_requests:
                    child.restart_at = None
                    self._spawn(child)
                    log.warning(
                        "%s exited unexpectedly (%s); restarted (pid %s)",
                        child.name,
                        child.exit_note,
                        child.process.pid,
                    )

    def _wait_once(self, timeout: float | None) -> None:
        waitables: list[Any] = [self._stop_in]
        for child in self.children:
            if child.process is not None and child.restart_at is None:
                if child.reading:
                    waitables.append(child.events)
                if not child.exit_seen:
                    waitables.append(child.process.sentinel)
        ready = wait_for(waitables, timeout)
        if self._stop_in in ready:
            while self._stop_in.poll():
                self._stop_in.recv_bytes()
        for child in self.children:
            if child.reading and child.events in ready:
                self._read_available(child)
        for child in self.children:
            if child.process is not None and child.process.sentinel in ready:
                self._exited(child)

    def _read_available(self, child: _Child) -> None:
        try:
            while child.events.poll():
                for message in child.events.recv():
                    self._handle(child, message)
        except (EOFError, OSError):
            child.reading = False

    def _read_all(self, child: _Child) -> None:
        if child.reading:
            self._read_available(child)

    def _handle(self, child: _Child, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "log":
            record = logging.makeLogRecord(message[1])
            logging.getLogger(record.name).handle(record)
        elif kind == "started":
            child.started = True
        elif kind in ("failed", "crashed"):
            child.last_message = str(message[1])

    def _exited(self, child: _Child) -> None:
        process = child.process
        process.join(timeout=5)
        self._read_all(child)  # its last words (a traceback, "crashed") before the line about it
        if process.exitcode is None or child.exit_seen:
            return
        child.exit_seen = True
        if self._stopping or self._stop_requests:
            return  # the service is stopping anyway
        if not self._watching and not child.started:
            return  # start() reports it: the service does not start
        child.exit_note = _exit_words(child)
        if child.spec.deliver:
            self._release_items_of(process.pid)
        if time.monotonic() - child.started_at >= STABLE_AFTER:
            child.backoff = FIRST_BACKOFF
        child.restart_at = time.monotonic() + child.backoff
        child.backoff = min(MAX_BACKOFF, child.backoff * 2)
        child.reading = False
        for conn in (child.events, child.commands):
            conn.close()

    def _release_items_of(self, pid: int) -> None:
        """The items the dead delivery process was sending are due again now, not after their lease (they
        may have reached the receiver: delivery is at-least-once, the same X-ShopCtrl-Delivery id)."""
        try:
            with self.db.session() as session:
                released = claims.release_owner(session, owner_prefix(pid))
        except Exception as exc:  # noqa: BLE001 - the leases bring them back anyway
            log.warning("could not give the items of the stopped delivery process back: %s", exc)
            return
        if released:
            log.info("%d item(s) the delivery process was sending are due again", released)

    # --- stop -------------------------------------------------------------------------------------------
    def stop(self) -> int:
        """Tell every child to stop and wait for all of them; 0, or exit 3 from the watchdog."""
        watchdog = _StopWatchdog(
            DRAIN_TIMEOUT + STOP_GRACE,
            before_exit=self.kill_all,
            why="an engine process did not stop; it was killed",
        )
        handled = self._stop_requests
        self._stopping = True
        self._listen_socket.close()  # new connections are refused now, as by a single serve that stops
        for child in self.children:
            child.restart_at = None
            if child.process is not None and child.process.exitcode is None:
                try:
                    child.commands.send(STOP)
                except (OSError, ValueError):
                    child.process.terminate()
        while any(c.process is not None and not c.exit_seen for c in self.children):
            self._wait_once(0.5)
            if self._stop_requests > max(handled, 0) and handled:  # a second signal: stop now
                watchdog.fire()
        for child in self.children:
            self._read_all(child)
            if child.process is not None:
                child.process.join()
        watchdog.cancel()
        self.close()
        return 0

    def kill_all(self) -> None:
        for child in self.children:
            if child.process is not None and child.process.exitcode is None:
                child.process.kill()

    def close(self) -> None:
        self._listen_socket.close()  # (closing twice is harmless)
        for sock in self._wake_sockets:
            sock.close()


def _numbered(name: str, n: int) -> str:
    return name if n == 0 else f"{name} {n + 1}"


def _exit_words(child: _Child) -> str:
    code = child.process.exitcode if child.process is not None else None
    if child.last_message:
        return f"code {code}: {child.last_message}"
    return f"code {code}"


def run_supervised(
    db: Database,
    box: SecretBox,
    settings: Settings,
    paths: AppPaths,
    layout: ServeLayout,
    *,
    announce: bool = True,
) -> int:
    """``serve --workers N`` (N ≥ 2): run until SIGINT/SIGTERM. Raises ListenerError, ServiceStartError."""
    supervisor = Supervisor(db, box, settings, paths, layout)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda *_: supervisor.request_stop())
    try:
        try:
            supervisor.start()
        except BaseException:
            supervisor.stop()
            raise
        if announce and not supervisor.stop_requested:
            print(
                f"ShopCtrl Desktop engine listening on http://{supervisor.address} "
                f"(database {db.display_url}); Ctrl+C stops it",
                flush=True,
            )
        log.info("serve: %s", ", ".join(f"{c.name} (pid {c.process.pid})" for c in supervisor.children))
        supervisor.run_until_stopped()
        log.info("stopping: no new events, answering the requests in flight")
        code = supervisor.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if announce:
        print("stopped cleanly", flush=True)
    return code


__all__ = ["ServiceStartError", "Supervisor", "run_supervised"]
