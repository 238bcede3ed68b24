"""Where the GUI thread's stalls come from (``STALL_TRACE=1 python3 benchmarks/gui_queue.py``).

A sampling thread records every 2 ms the stack of the GUI thread and of the other threads, and
``gc.callbacks`` record every collection; ``report()`` prints, for the worst lag-probe gaps, what the GUI
thread was doing, what the other threads were doing, and which collections ran in that window. The
probe itself reads the GUI thread's /proc schedstat at each tick (on-CPU time, run-queue wait).
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections import Counter, deque


def summarize(frame, depth=5):
    out = []
    while frame is not None and len(out) < depth:
        co = frame.f_code
        fn = co.co_filename.rsplit("/", 2)
        out.append(f"{fn[-1]}:{co.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return " < ".join(out)


class StallTracer:
    def __init__(self, interval=0.002):
        self.gui = threading.get_ident()
        self.samples = deque(maxlen=200000)
        self.gcs = []
        self.interval = interval
        self.stop_flag = False
        self._gc_start = None
        gc.callbacks.append(self._gc_cb)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _gc_cb(self, phase, info):
        now = time.perf_counter()
        if phase == "start":
            self._gc_start = now
        else:
            self.gcs.append(
                (
                    self._gc_start,
                    now,
                    info["generation"],
                    threading.get_ident() == self.gui,
                    info.get("collected"),
                )
            )

    def _run(self):
        while not self.stop_flag:
            t = time.perf_counter()
            frames = sys._current_frames()
            g = frames.get(self.gui)
            others = {}
            for ident, f in frames.items():
                if ident in (self.gui, threading.get_ident()):
                    continue
                name = next((th.name for th in threading.enumerate() if th.ident == ident), str(ident))
                others[name] = summarize(f, 3)
            self.samples.append((t, summarize(g) if g else "-", others))
            del frames, g
            time.sleep(self.interval)

    def report(self, gaps, threshold=40.0, out=sys.stdout):
        # gaps: list of (end_time, gap_ms)
        big = [(e, g) for e, g in gaps if g > threshold]
        print(f"\n=== {len(big)} stalls > {threshold} ms ===", file=out)
        for end, gap in sorted(big, key=lambda x: -x[1])[:15]:
            start = end - gap / 1000 - 0.010
            win = [s for s in self.samples if start <= s[0] <= end]
            gcs = [(a, b, gen, on_gui) for a, b, gen, on_gui, _ in self.gcs if b >= start and a <= end]
            print(
                f"\n--- stall {gap:.0f} ms at t={end:.3f}; {len(win)} samples; gc: "
                + ", ".join(
                    f"gen{gen} {1000 * (b - a):.0f}ms{' gui' if g else ' OTHER'}" for a, b, gen, g in gcs
                ),
                file=out,
            )
            # sample time gaps (sampler starved => GIL held by someone)
            ts = [s[0] for s in win]
            if len(ts) > 1:
                dmax = max(b - a for a, b in zip(ts, ts[1:], strict=False))
                print(f"   max sampler gap {dmax * 1000:.0f} ms", file=out)
            c = Counter(s[1] for s in win)
            for stack, n in c.most_common(6):
                print(f"   GUI {n:3d}  {stack}", file=out)
            oc = Counter()
            for s in win:
                for name, st in s[2].items():
                    if (
                        not st.startswith("selectors.py")
                        and "threading.py:wait" not in st
                        and "queue.py:get" not in st
                    ):
                        oc[(name, st)] += 1
            for (name, st), n in oc.most_common(6):
                print(f"   {name[:12]:12} {n:3d}  {st}", file=out)
