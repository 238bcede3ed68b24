"""Process-wide interpreter tuning, in one place: applied once at process entry — the desktop app
(gui/app.py), ``serve`` (cli), the demo and the benchmarks — and never by an engine object, which changes no
interpreter globals. Each setting carries its reason.
"""

from __future__ import annotations

import gc
import sys

#: The GIL switch interval (CPython's default: 5 ms). Two threads need the GIL back quickly from a thread
#: that is busy in Python:
#: * the delivery engine's database thread gives the GIL up around every SQLite call; while the loop thread
#:   is busy sending it takes the GIL straight back after each socket call, and the database thread only
#:   gets it when the switch interval forces a hand-over: ~5 ms per statement, ~40 ms per database turn
#:   (benchmarks/delivery.py). At 1 ms the turns keep up with the sends;
#: * in the desktop app the engine runs on a thread of the GUI's process: every Python callback the GUI
#:   thread makes while painting must win the GIL back from it; at 5 ms a repaint of the queue table under
#:   load took 100-300 ms (benchmarks/gui_queue.py), at 1 ms it stays much closer to its idle cost.
SWITCH_INTERVAL = 0.001

#: Gen-0 threshold of the cyclic garbage collector (CPython's default: 700 net allocations). Each request
#: the engine sends allocates a few hundred short-lived objects; at 700 a collection ran every couple of
#: requests, each walking the items in hand: 42k instructions per delivered item went to the collector
#: (valgrind) against 23k for the bare client. Cyclic garbage still gets collected, later. In the desktop
#: app automatic collection is off and gui/garbage.py collects on the GUI thread, from this threshold.
GC_GEN0_THRESHOLD = 10_000


def tune_process() -> None:
    """Apply the settings above to this process (at its entry, before any engine or window starts).
    Calling it again changes nothing; a threshold already higher is kept."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)
    gen0, gen1, gen2 = gc.get_threshold()
    if gen0 < GC_GEN0_THRESHOLD:
        gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


def settle_heap() -> None:
    """After start-up: move everything allocated so far out of the garbage collector's sight.

    A full (generation 2) collection walks every live object and holds the GIL meanwhile; with the engine,
    SQLAlchemy and Qt wrappers loaded that took 90-280 ms in the desktop app — a frozen window.
    ``gc.freeze()`` leaves the long-lived start-up objects alone, so later collections only see what was
    made since (~20-30 ms).
    """
    gc.collect()
    gc.freeze()
