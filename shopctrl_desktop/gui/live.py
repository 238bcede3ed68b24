"""One live queue across workstations: what other engines (another workstation, ``serve``, the CLI) do to
the queue and the alerts reaches this window within a second or two.

:class:`LiveWatcher` runs a plain thread (never the GUI thread; its sessions live and die there). On
PostgreSQL it ``LISTEN``s (store/notify.py; migration 0005_live notifies per changed table) and diffs the
queue when told; on SQLite, or while the notification connection is lost, it diffs every
``poll_seconds`` and tries to listen again every ``RECONNECT_SECONDS``. The diff (store/changes.py) is
emitted through an :class:`EngineSignals` — the same signals the window's own engine relay emits — so the
queue page, the status bar and the Alerts page have one code path. What the window's own engine already
reported (:meth:`note_relayed`) is absorbed, not reported twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.queue import ItemChange
from shopctrl_desktop.gui.engine_thread import EngineSignals
from shopctrl_desktop.store.changes import ChangeWatcher
from shopctrl_desktop.store.notify import ChangeListener, ListenerLost

log = logging.getLogger(__name__)

#: With LISTEN working, a diff anyway this often (a notification can be lost with its connection).
SAFETY_POLL_SECONDS = 15.0
#: At most one diff this often, however many notifications a busy engine sends.
MIN_POLL_GAP = 0.25
RECONNECT_SECONDS = 3.0
#: How long one wait lasts, so stop() is prompt.
WAIT_SLICE = 0.25

MODE_NOTIFY, MODE_POLL, MODE_STOPPED = "notify", "poll", "stopped"


class LiveWatcher:
    def __init__(
        self,
        ctx: AppContext,
        signals: EngineSignals | None = None,
        *,
        poll_seconds: float = 1.0,
        listen: bool | None = None,
    ) -> None:
        self._ctx = ctx
        self.signals = signals if signals is not None else EngineSignals()
        self.poll_seconds = poll_seconds
        self._use_listen = ctx.db.is_postgresql if listen is None else listen
        self.listener: ChangeListener | None = ChangeListener(ctx.db.url) if self._use_listen else None
        self._watcher = ChangeWatcher()
        self._relayed: deque[tuple[str, Any]] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.mode = MODE_STOPPED
        self.polls = 0  # diffs run (tests, diagnostics)
        #: Seconds between attempts to listen again after the notification connection failed.
        self.reconnect_seconds = RECONNECT_SECONDS

    # -- GUI thread ---------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="live-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.mode = MODE_STOPPED

    def note_relayed(self, changes: list[ItemChange]) -> None:
        """The window's own engine reported these: the next diff must not report them again."""
        self._relayed.append(("items", list(changes)))

    def note_relayed_alert(self, alert_id: int, *_: object) -> None:
        self._relayed.append(("alert", alert_id))

    # -- watcher thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # noqa: BLE001 - the window keeps working without live updates
            log.exception("the live watcher stopped")
        finally:
            if self.listener is not None:
                self.listener.close()

    def _loop(self) -> None:
        last_poll = 0.0
        lost_at = -1e9  # when listening last failed
        while not self._stop.is_set():
            due = False
            listener = self.listener
            if (
                listener is not None
                and not listener.connected
                and time.monotonic() >= lost_at + self.reconnect_seconds
            ):
                try:
                    listener.connect()
                    self.mode = MODE_NOTIFY
                    due = True  # whatever happened while we were not listening
                    log.info("live updates: listening for changes")
                except ListenerLost as exc:
                    lost_at = time.monotonic()
                    if self.mode != MODE_POLL:
                        log.warning(
                            "live updates: cannot listen (%s); polling every %.0f s", exc, self.poll_seconds
                        )
                    self.mode = MODE_POLL
            if listener is not None and listener.connected:
                try:
                    due = bool(listener.wait(WAIT_SLICE)) or due
                except ListenerLost as exc:
                    log.warning("live updates: the notification connection was lost (%s); polling", exc)
                    self.mode = MODE_POLL
                    lost_at = time.monotonic()
                    due = True
                if time.monotonic() - last_poll >= SAFETY_POLL_SECONDS:
                    due = True
            else:
                self.mode = MODE_POLL
                self._stop.wait(min(WAIT_SLICE, self.poll_seconds))
                due = time.monotonic() - last_poll >= self.poll_seconds
            if not due or self._stop.is_set():
                continue
            gap = MIN_POLL_GAP - (time.monotonic() - last_poll)
            if gap > 0 and self._stop.wait(gap):
                break
            last_poll = time.monotonic()
            self._poll()

    def _poll(self) -> None:
        while self._relayed:
            kind, value = self._relayed.popleft()
            if kind == "items":
                self._watcher.absorb(value)
            else:
                self._watcher.absorb_alert(value)
        try:
            with self._ctx.db.sessions() as session:
                changes = self._watcher.poll(session)
        except Exception as exc:  # noqa: BLE001 - the database is away: try again at the next poll
            log.warning("live updates: reading the queue failed: %s", exc)
            return
        self.polls += 1
        if changes.items:
            self.signals.items_changed.emit(changes.items)
        if changes.counts is not None:
            self.signals.counts_changed.emit(changes.counts)
        for alert in changes.alerts:
            self.signals.alert_raised.emit(alert.id, alert.severity, alert.title)
