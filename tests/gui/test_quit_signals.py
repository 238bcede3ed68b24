"""SIGTERM closes the windows through the Qt event loop (the app then stops its engine and exits 0)."""

from __future__ import annotations

import os
import signal
import sys

import pytest
from PySide6.QtWidgets import QWidget

from shopctrl_desktop.gui.quit_signals import quit_on_signals


@pytest.mark.skipif(sys.platform.startswith("win"), reason="no SIGTERM delivery to oneself on Windows")
def test_sigterm_closes_the_windows(qtbot, qapp):
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    before = signal.getsignal(signal.SIGTERM)
    watcher = quit_on_signals(qapp)
    assert watcher is not None
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        qtbot.waitUntil(lambda: not widget.isVisible(), timeout=5000)
    finally:
        watcher.restore()  # type: ignore[attr-defined]
    assert signal.getsignal(signal.SIGTERM) == before  # the previous handler is back
