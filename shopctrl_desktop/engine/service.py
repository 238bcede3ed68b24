"""The engine without a screen: listener + intake batching (+ delivery), on one asyncio loop.

The GUI runs it in a QThread (gui/engine_thread.py), ``serve`` runs it with :func:`run_engine_blocking`.
Progress goes out through an :class:`EngineObserver` with plain values only. Who reports what: the
delivery engine its items and its own state, the listener's state and the queue counts come from here
(counted again, at most every ``COUNTS_INTERVAL``, after intake or delivery changed items).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.model import AlertSeverity, IncomingEvent, ItemStatus
from shopctrl_desktop.domain.queue import ItemChange, QueueCounts
from shopctrl_desktop.engine.cert_watch import watch_certificates
from shopctrl_desktop.engine.daily_backup import run_daily_backups
from shopctrl_desktop.engine.delivery import DeliveryEngine
from shopctrl_desktop.engine.intake import IntakeBatcher
from shopctrl_desktop.engine.listener import Listener, ListenerError
from shopctrl_desktop.engine.progress import EngineObserver, NullObserver
from shopctrl_desktop.engine.render_pool import RenderPool
from shopctrl_desktop.engine.retention_task import run_retention
from shopctrl_desktop.paths import AppPaths
from shopctrl_desktop.store.backup import BackupError, sqlite_database_file
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.engine_lock import EngineLock
from shopctrl_desktop.store.ingest import IngestResult
from shopctrl_desktop.store.queue import QueueCounter
from shopctrl_desktop.store.secrets import SecretBox
from shopctrl_desktop.store.triggers import move_url_credentials, uses_templates

log = logging.getLogger(__name__)

__all__ = ["Engine", "ListenerError", "run_engine_blocking"]

COUNTS_INTERVAL = 0.5  # seconds between two queue-count reports while events stream in


class Engine:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        settings: Settings,
        paths: AppPaths,
        observer: EngineObserver | None = None,
        *,
        listen: bool = True,
        deliver: bool = True,
        housekeeping: bool = True,
        listen_socket: socket.socket | None = None,
        waker: Callable[[], None] | None = None,
    ) -> None:
        """``housekeeping``: the daily backup, retention, the certificate watch and moving credentials out
        of URLs (off in the intake processes of ``serve --workers N``: exactly one process does them).
        ``listen_socket``: a socket bound by ``serve``'s supervisor. ``waker``: how this engine wakes a
        delivery engine in another process after an intake commit (engine/wake_channel.py)."""
        self.db = db
        self.box = box
        self.settings = settings
        self.paths = paths
        self.observer: EngineObserver = observer or NullObserver()
        # payload templates render in killable worker processes, outside the intake's transaction
        self.intake = IntakeBatcher(db, box, on_committed=self._on_committed, render_pool=RenderPool())
        self.listener: Listener | None = (
            Listener(
                self.intake,
                paths,
                settings,
                counts=self.queue_counts,
                offline=self._is_offline,
                sock=listen_socket,
            )
            if listen
            else None
        )
        # Delivery: claims due items, sends, records; wake() after each intake commit.
        self.deliver = deliver
        self.housekeeping = housekeeping
        self._waker = waker
        self.delivery: DeliveryEngine | None = (
            DeliveryEngine(db, box, settings, _CountOnChange(self.observer, self._schedule_counts))
            if deliver
            else None
        )
        self._counts_cache: tuple[float, QueueCounts] | None = None
        self._counter = QueueCounter()
        self._counter_lock = threading.Lock()  # the listener's /health and the reports count on two threads
        self._delivered_noted = 0
        self._counts_dirty = False
        self._counts_task: asyncio.Task[None] | None = None
        self._cert_task: asyncio.Task[None] | None = None
        # a SQLite file: held in use (restore refuses meanwhile) and backed up daily (engine/daily_backup.py)
        self._database_file = _database_file(db)
        self._in_use: EngineLock | None = None
        self._backup_task: asyncio.Task[None] | None = None
        self._retention_task: asyncio.Task[None] | None = None
        self._backup_stopping = threading.Event()
        self.running = False

    def _is_offline(self) -> bool:
        return self.delivery is not None and self.delivery.offline

    @property
    def listener_address(self) -> str:
        return self.listener.address if self.listener is not None else ""

    # --- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start on the current loop. Raises ListenerError (port taken, remote bind not allowed),
        DatabaseInUseError (a restore is replacing the database file)."""
        if self._database_file is not None:
            self._in_use = EngineLock(self._database_file, exclusive=False)
        try:
            await self._start()
        except BaseException:
            self._release_database()  # a restore may go ahead: this engine never ran
            raise

    async def _start(self) -> None:
        if (
            self.db.is_sqlite and self.housekeeping
        ):  # on PostgreSQL the owner's `db setup` does it (an engine may not write triggers)
            moved = await asyncio.to_thread(self._move_url_credentials)
            if moved:
                log.warning(
                    "moved the user name and password out of %d webhook URL(s) into their Authentication "
                    "settings (stored encrypted); see the Activity page",
                    moved,
                )
        await self.intake.start()
        pool = self.intake.render_pool
        if pool is not None and self.listener is not None and await asyncio.to_thread(self._uses_templates):
            pool.start(wait=False)  # in the background: the first templated event does not wait for a spawn
        if self.delivery is not None:
            await self.delivery.start()  # reports its own state (starting, running, error, stopped)
        if self.delivery is not None and self.housekeeping:
            self._cert_task = asyncio.get_running_loop().create_task(
                watch_certificates(self.db, self.box, self.observer.alert_raised)
            )
        if self.listener is not None:
            self._state("listener", "starting", f"{self.settings.listen_host}:{self.settings.listen_port}")
            try:
                await self.listener.start()
            except Exception as exc:
                self._state("listener", "error", str(exc))
                if self._cert_task is not None:
                    self._cert_task.cancel()
                if self.delivery is not None:
                    await self.delivery.stop(0)
                await self.intake.stop()
                raise
            self._state("listener", "running", self.listener.address)
        if self._database_file is not None and self.housekeeping:
            self._backup_stopping.clear()
            self._backup_task = asyncio.get_running_loop().create_task(
                run_daily_backups(self._database_file, self.paths.data_dir, self._backup_stopping)
            )
        if self.delivery is not None and self.housekeeping:  # the delivering engine keeps the retention
            self._retention_task = asyncio.get_running_loop().create_task(
                run_retention(self.db, self.settings)
            )
        self.running = True
        self._schedule_counts()

    def _uses_templates(self) -> bool:
        with self.db.sessions() as session:
            return uses_templates(session)

    def _move_url_credentials(self) -> int:
        with self.db.session() as session:
            return move_url_credentials(session, self.box)

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Stop accepting, answer the requests in flight, commit, then stop delivery."""
        if not self.running:
            return
        self.running = False
        if self.listener is not None:
            await self.listener.stop_accepting()
            if not await self.listener.wait_idle(drain_timeout):
                log.warning("requests still in flight after %.0f s; stopping anyway", drain_timeout)
        await self.intake.stop()  # commits everything already submitted
        if self.listener is not None:
            await self.listener.close()
            self._state("listener", "stopped", "")
        if self.delivery is not None:
            await self.delivery.stop(drain_timeout)
        self._backup_stopping.set()  # a backup in progress stops at its next step
        for task in (self._counts_task, self._cert_task, self._backup_task, self._retention_task):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._release_database()
        if not isinstance(self.observer, NullObserver):  # the counts after the items given back
            try:
                with self._counter_lock:
                    self._counter.expire()  # the last report is a full count: exact, whatever was noted
                self.observer.counts_changed(await self.queue_counts(max_age=0))
            except Exception:  # noqa: BLE001
                log.debug("final queue counts unavailable", exc_info=True)

    def _release_database(self) -> None:
        if self._in_use is not None:
            self._in_use.release()
            self._in_use = None

    def wake(self) -> None:
        """New items are due (called by the intake after a commit, and by the GUI after Retry)."""
        self._counts_cache = None
        if self.delivery is not None:
            self.delivery.wake()
        elif self._waker is not None:
            self._waker()
        self._schedule_counts()

    def set_network_online(self, online: bool) -> None:
        """The operating system's reachability (the desktop app): deliveries pause while it says offline."""
        if self.delivery is not None:
            self.delivery.set_network_online(online)

    async def ingest(self, events: Sequence[IncomingEvent]) -> IngestResult:
        """In-process intake (demo, GUI): the same path as the listener, committed on return."""
        return await self.intake.submit(events)

    # --- queue counts --------------------------------------------------------------------------------
    async def queue_counts(self, max_age: float = 0.5) -> QueueCounts:
        cached = self._counts_cache
        if cached is not None and time.monotonic() - cached[0] < max_age:
            return cached[1]
        counts = await asyncio.get_running_loop().run_in_executor(None, self._read_counts)
        self._counts_cache = (time.monotonic(), counts)
        return counts

    def _read_counts(self) -> QueueCounts:
        """Live counts every time; delivered/cancelled (a full count) at most every 30 s (QueueCounter),
        delivered plus what this engine's delivery delivered since."""
        with self._counter_lock:
            delivered = self.delivery.delivered if self.delivery is not None else 0
            self._counter.note_delivered(delivered - self._delivered_noted)
            self._delivered_noted = delivered
            with self.db.session() as session:
                return self._counter.read(session)

    def _schedule_counts(self) -> None:
        """Report the counts again soon (headless, nobody listens: /health counts on demand)."""
        if isinstance(self.observer, NullObserver):
            return
        self._counts_dirty = True
        if self._counts_task is None or self._counts_task.done():
            self._counts_task = asyncio.get_running_loop().create_task(self._report_counts())

    async def _report_counts(self) -> None:
        while self._counts_dirty:
            self._counts_dirty = False
            try:
                counts = await self.queue_counts(max_age=0)
                self.observer.counts_changed(counts)
            except Exception:  # noqa: BLE001
                log.exception("queue counts unavailable")
            await asyncio.sleep(COUNTS_INTERVAL)  # throttle: at most a few reports a second

    # --- observer ------------------------------------------------------------------------------------
    def _on_committed(self, results: list[IngestResult]) -> None:
        if isinstance(self.observer, NullObserver):  # headless: nobody listens, only delivery needs a nudge
            if any(r.new_item_ids or r.updated_item_ids or r.failed_item_ids for r in results):
                self._counts_cache = None
                self.wake()
            return
        changes: list[ItemChange] = []
        queued = ItemStatus.QUEUED  # once: an enum member look-up costs more than making an ItemChange
        for result in results:
            changes.extend(ItemChange(i, queued, 0) for i in result.new_item_ids)
            changes.extend(ItemChange(i, queued, 0) for i in result.updated_item_ids)
            changes.extend(
                ItemChange(i, ItemStatus.FAILED, 0, message="payload cannot be rendered")
                for i in result.failed_item_ids
            )
            for alert_id in result.alert_ids:
                self.observer.alert_raised(
                    alert_id, AlertSeverity.ERROR.value, "A payload cannot be rendered"
                )
        if changes:
            self._counts_cache = None  # /health answers with the counts after this commit
            self.observer.items_changed(changes)
            self.wake()

    def _state(self, component: str, state: str, detail: str) -> None:
        try:
            self.observer.state_changed(component, state, detail)
        except Exception:  # noqa: BLE001
            log.exception("observer.state_changed failed")


def _database_file(db: Database) -> Path | None:
    """The SQLite file behind ``db``; None for PostgreSQL or an in-memory database."""
    if not db.is_sqlite:
        return None
    try:
        return sqlite_database_file(db.url)
    except BackupError:
        return None


class _CountOnChange:
    """The delivery engine's observer: passes every report on, and has the queue counts reported again
    after the engine changed items (it reports no counts itself)."""

    def __init__(self, observer: EngineObserver, on_items_changed: Callable[[], None]) -> None:
        self._observer = observer
        self._on_items_changed = on_items_changed

    def items_changed(self, changes: list[ItemChange]) -> None:
        self._observer.items_changed(changes)
        self._on_items_changed()

    def alert_raised(self, alert_id: int, severity: str, title: str) -> None:
        self._observer.alert_raised(alert_id, severity, title)

    def counts_changed(self, counts: QueueCounts) -> None:
        self._observer.counts_changed(counts)

    def state_changed(self, component: str, state: str, detail: str) -> None:
        self._observer.state_changed(component, state, detail)


DRAIN_TIMEOUT = 10.0
#: After the drain timeout, this long for the last commits; then `serve` exits whatever the database is doing.
STOP_GRACE = 5.0


class _StopWatchdog:
    """Stop means stop: when the clean stop takes longer than its deadline (a database locked by another
    program, a full disk, an unreachable server), or a second signal arrives, the process exits at once. Nothing
    is lost by it: a transaction that did not commit is rolled back by the database, an event not committed was
    never acknowledged (the sender sends it again), an item in flight comes back after its lease."""

    def __init__(
        self,
        seconds: float,
        before_exit: Callable[[], None] | None = None,
        why: str = "the database is not answering",
    ) -> None:
        self.seconds = seconds
        self._before_exit = before_exit  # serve's supervisor: kill the children that did not stop
        self._why = why
        self._timer = threading.Timer(seconds, self.fire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def fire(self) -> None:
        log.warning(
            "stopping took longer than %.0f s (%s); exiting now — nothing "
            "acknowledged is lost, items in flight come back after their lease",
            self.seconds,
            self._why,
        )
        if self._before_exit is not None:
            self._before_exit()
        logging.shutdown()
        os._exit(3)


def run_engine_blocking(
    db: Database,
    box: SecretBox,
    settings: Settings,
    paths: AppPaths,
    observer: EngineObserver | None = None,
    *,
    deliver: bool = True,
    announce: bool = True,
) -> int:
    """``serve``: run until SIGINT/SIGTERM, then stop cleanly and return 0. Raises ListenerError."""

    async def main() -> int:
        engine = Engine(db, box, settings, paths, observer, deliver=deliver)
        await engine.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if announce:
            print(
                f"ShopCtrl Desktop engine listening on http://{engine.listener_address} "
                f"(database {db.display_url}); Ctrl+C stops it",
                flush=True,
            )
        await stop.wait()
        log.info("stopping: no new events, answering the requests in flight")
        watchdog = _StopWatchdog(DRAIN_TIMEOUT + STOP_GRACE)
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal: stop now
            loop.add_signal_handler(sig, watchdog.fire)
        await engine.stop(DRAIN_TIMEOUT)
        watchdog.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if announce:
            print("stopped cleanly", flush=True)
        return 0

    return asyncio.run(main())
