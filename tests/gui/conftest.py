"""Fixtures for the queue, alerts and main-window tests (modules that need another context define their own
``ctx``, which takes precedence)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.gui.background import wait_for_background
from tests.gui.queue_support import make_context


@pytest.fixture
def ctx(app_paths, db, box) -> Iterator[AppContext]:  # type: ignore[no-untyped-def]
    """A context on the test's database; every background job must have finished when the test ends."""
    context = make_context(app_paths, db, box)
    yield context
    assert wait_for_background(10_000)


@pytest.fixture
def gui_loop(qapp, qtbot) -> Iterator[asyncio.AbstractEventLoop]:
    """The app's asyncio loop as gui/app.py installs it: a qasync loop on the QApplication, marked running for
    the test, so a coroutine the GUI starts runs whenever Qt's event loop does (``qtbot.waitSignal`` /
    ``waitUntil`` spin it). Request it before ``dialogs`` so the dialogs close first. At the end every task
    must have finished and the loop must have reported nothing (an unclosed aiohttp session, a task whose
    exception nobody read)."""
    from qasync import QEventLoop

    loop = QEventLoop(qapp, already_running=True)
    reported: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    asyncio.set_event_loop(loop)
    try:
        yield loop
        qtbot.waitUntil(lambda: all(task.done() for task in asyncio.all_tasks(loop)), timeout=10_000)
        gc.collect()  # an unclosed ClientSession reports itself when it is collected
        assert reported == []
    finally:
        # Not loop.stop(): it calls QApplication.exit(), and with no Qt loop running that makes every later
        # nested loop (qtbot.waitSignal) return at once.
        loop._QEventLoop__is_running = False  # type: ignore[attr-defined]  # noqa: SLF001
        asyncio.events._set_running_loop(None)  # noqa: SLF001
        qapp.aboutToQuit.disconnect(loop._after_run_forever)  # noqa: SLF001
        loop.close()
        asyncio.set_event_loop(None)
