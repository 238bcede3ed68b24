"""run_in_background: results come back on the GUI thread, failures too, and a closed window gets nothing."""

from __future__ import annotations

import threading

import shiboken6
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QWidget

from shopctrl_desktop.gui.widgets import background
from shopctrl_desktop.gui.widgets.background import run_in_background


def test_result_and_failure_arrive_on_the_gui_thread(qtbot):
    owner = QWidget()
    qtbot.addWidget(owner)
    seen: list[tuple[str, object, bool]] = []
    gui_thread = QThread.currentThread()
    worker_threads: list[bool] = []

    def work() -> int:
        worker_threads.append(QThread.currentThread() is gui_thread)
        return 42

    def fail() -> int:
        raise ValueError("no such order")

    run_in_background(
        work, lambda v: seen.append(("ok", v, QThread.currentThread() is gui_thread)), seen.append, owner
    )
    run_in_background(
        fail,
        seen.append,
        lambda e: seen.append(("err", str(e), QThread.currentThread() is gui_thread)),
        owner,
    )
    qtbot.waitUntil(lambda: len(seen) == 2)
    assert sorted(seen) == [("err", "no such order", True), ("ok", 42, True)]
    assert worker_threads == [False]
    qtbot.waitUntil(lambda: not background._pending)


def test_closed_window_gets_no_result(qtbot):
    owner = QWidget()
    gate = threading.Event()
    seen: list[object] = []
    run_in_background(lambda: gate.wait(5) and "late", seen.append, seen.append, owner)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(owner))
    gate.set()
    qtbot.waitUntil(lambda: not background._pending)
    assert seen == []
