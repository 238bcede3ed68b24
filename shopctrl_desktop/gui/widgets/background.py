"""Run a plain callable off the GUI thread and get the result back on the GUI thread.

The Anki pattern: ``run_in_background(fn, on_success, on_failure, owner)``. ``fn`` runs on a pool thread
(it opens its own short-lived database session if it needs one; nothing Qt in it); the handlers run on
the GUI thread through a queued signal. If ``owner`` is gone by then, the result is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class _Relay(QObject):
    succeeded = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self._fn = fn
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # noqa: BLE001 - handed to the failure handler
            self._emit(self._relay.failed, exc)
        else:
            self._emit(self._relay.succeeded, result)

    @staticmethod
    def _emit(signal: Any, value: Any) -> None:
        try:
            signal.emit(value)
        except RuntimeError:  # the owner (and its relay) was deleted meanwhile
            log.debug("background result dropped: owner is gone")


def run_in_background(
    fn: Callable[[], Any],
    on_success: Callable[[Any], None],
    on_failure: Callable[[Exception], None],
    owner: QObject,
) -> None:
    """Run ``fn`` on the global thread pool; deliver its result or exception to the handlers."""
    relay = _Relay(owner)  # lives on the GUI thread; deleted with the owner
    relay.succeeded.connect(on_success)
    relay.failed.connect(on_failure)
    relay.succeeded.connect(relay.deleteLater)
    relay.failed.connect(relay.deleteLater)
    QThreadPool.globalInstance().start(_Task(fn, relay))
