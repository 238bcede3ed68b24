"""Garbage collection on the GUI thread only.

Python runs a cyclic collection on whichever thread happens to allocate when a generation fills up — in
this app often the engine's thread or a worker. If that collection finalises a Qt wrapper caught in a
reference cycle (a widget referenced by a lambda connected to one of its own signals, say), the QObject is
deleted on the wrong thread and the process segfaults (seen in the test suite before tests/conftest.py
collected after every test). The usual PyQt/PySide remedy: switch automatic collection off and collect
from a timer on the GUI thread, generation by generation, when the counts pass the thresholds (set once at
process entry, shopctrl_desktop/runtime.py, before this collector reads them).
"""

from __future__ import annotations

import gc
import logging
import time

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)


class GuiThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.collect)
        self.timer.start()

    def collect(self) -> None:
        count0, count1, count2 = gc.get_count()
        if count0 <= self.threshold[0]:
            return
        started = time.perf_counter()
        generation = 0
        if count1 > self.threshold[1]:
            generation = 2 if count2 > self.threshold[2] else 1
        gc.collect(generation)
        took = (time.perf_counter() - started) * 1000
        if took > 50:
            log.debug("garbage collection of generation %d took %.0f ms", generation, took)

    def stop(self) -> None:
        """Automatic collection back on (the application is quitting)."""
        self.timer.stop()
        gc.enable()
