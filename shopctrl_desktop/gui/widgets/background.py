"""Run a plain callable off the GUI thread and get the result back on the GUI thread.

The Anki pattern: ``run_in_background(fn, on_success, on_failure, owner)``. ``fn`` runs on a pool thread
(it opens its own short-lived database session if it needs one; nothing Qt in it); the handlers run on
the GUI thread through a queued signal. If ``owner`` has been deleted by then, the result is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

#: Relays whose result has not arrived yet. A relay has no Qt parent, so it outlives a closed dialog and
#: the worker never emits on a deleted object; it removes itself once the result is delivered.
_pending: set[_Relay] = set()


class _Relay(QObject):
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(
        self, owner: QObject, on_success: Callable[[Any], None], on_failure: Callable[[Exception], None]
    ) -> None:
        super().__init__()  # created on the GUI thread: the slots below run there
        self._owner = owner
        self._on_success = on_success
        self._on_failure = on_failure
        self.succeeded.connect(self._on_relay_succeeded)
        self.failed.connect(self._on_relay_failed)

    @Slot(object)
    def _on_relay_succeeded(self, value: Any) -> None:
        if self._finish():
            self._on_success(value)

    @Slot(object)
    def _on_relay_failed(self, exc: Exception) -> None:
        if self._finish():
            self._on_failure(exc)

    def _finish(self) -> bool:
        _pending.discard(self)
        self.deleteLater()
        alive = shiboken6.isValid(self._owner)
        if not alive:
            log.debug("background result dropped: its window is gone")
        return alive


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self._fn = fn
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # noqa: BLE001 - handed to the failure handler
            self._relay.failed.emit(exc)
        else:
            self._relay.succeeded.emit(result)


def run_in_background(
    fn: Callable[[], Any],
    on_success: Callable[[Any], None],
    on_failure: Callable[[Exception], None],
    owner: QObject,
) -> None:
    """Run ``fn`` on the global thread pool; deliver its result or exception to the handlers."""
    relay = _Relay(owner, on_success, on_failure)
    _pending.add(relay)
    QThreadPool.globalInstance().start(_Task(fn, relay))
