"""Run a coroutine on the GUI's qasync loop and hand its outcome to handlers on the GUI thread.

The asyncio twin of ``run_in_background`` (Anki's "operation + success/failure handlers"), for work that
waits on the network rather than computes: no worker thread and no second event loop. The coroutine runs
on the qasync loop that gui/app.py installs on the QApplication, between Qt events, so the window keeps
painting and taking input while the request waits. Handlers run on the GUI thread, like every Qt slot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject

log = logging.getLogger(__name__)

#: The loop keeps only weak references to its tasks; these keep the running ones alive.
_RUNNING: set[asyncio.Task[Any]] = set()


def run_coroutine(
    coro: Coroutine[Any, Any, Any],
    on_success: Callable[[Any], None] | None = None,
    on_failure: Callable[[str], None] | None = None,
    *,
    owner: QObject | None = None,
) -> asyncio.Task[Any]:
    """Start ``coro`` on the running qasync loop; returns its task (``cancel()`` it to give up).

    ``on_failure`` gets an exception as words (it is logged too). A cancelled task calls no handler.
    ``owner`` (the widget the handlers touch): when it is deleted first, the task is cancelled.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        coro.close()
        raise RuntimeError("no asyncio loop runs on the GUI thread (gui/app.py installs qasync's)") from None
    task = loop.create_task(coro)
    _RUNNING.add(task)
    owner_alive = owner is not None
    connection = None
    if owner is not None:

        def on_owner_destroyed(*_args: object) -> None:
            nonlocal owner_alive
            owner_alive = False
            task.cancel()

        connection = owner.destroyed.connect(on_owner_destroyed)

    def finished(done: asyncio.Task[Any]) -> None:
        _RUNNING.discard(done)
        if owner is not None:
            if not owner_alive:
                return
            QObject.disconnect(connection)
        if done.cancelled():
            return
        error = done.exception()
        if error is not None:
            log.error("GUI task failed", exc_info=error)
            if on_failure is not None:
                on_failure(str(error) or type(error).__name__)
        elif on_success is not None:
            on_success(done.result())

    task.add_done_callback(finished)
    return task
