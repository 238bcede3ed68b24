"""SIGINT / SIGTERM quit the desktop app cleanly (windows closed, engine drained) instead of killing it.

Python runs signal handlers only when the interpreter gets control, which a Qt event loop may not give for a
long time; so the C-level handler writes to a socket (``signal.set_wakeup_fd``) that a QSocketNotifier watches.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)


class _SignalWatcher(QObject):
    def __init__(self, app: QApplication, signals: tuple[signal.Signals, ...]) -> None:
        super().__init__(app)
        self._app = app
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        self._previous: dict[signal.Signals, Any] = {}
        for sig in signals:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_notifier_activated)
        app.aboutToQuit.connect(self.restore)

    def _on_signal(self, signum: int, _frame: object) -> None:
        # Runs when Python gets control; the notifier below usually gets there first.
        self._quit(signum)

    def _on_notifier_activated(self, *_args: object) -> None:
        try:
            data = self._read.recv(64)
        except (BlockingIOError, OSError):
            return
        if data:
            self._quit(data[-1])

    def _quit(self, signum: int) -> None:
        if getattr(self, "_quitting", False):
            return
        self._quitting = True
        name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else str(signum)
        log.info("%s received: closing the windows and stopping the engine", name)
        self._app.closeAllWindows()
        self._app.quit()

    def restore(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()
        signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)


def quit_on_signals(app: QApplication) -> QObject | None:
    """Make SIGINT and SIGTERM (where they exist) quit ``app`` cleanly; call once from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    wanted = tuple(
        s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None
    )
    try:
        return _SignalWatcher(app, wanted)
    except (OSError, ValueError) as exc:  # no socketpair / not the main thread
        log.debug("signal handling unavailable: %s", exc)
        return None
