"""The Webhook Queue page with a million items, and the GUI thread's stalls while the engine delivers.

    python3 benchmarks/gui_queue.py [--items 1000000] [--rate 500] [--seconds 10]

Measures, offscreen, as in the app (the engine in its child process, relayed by the GUI's EngineThread):
* first rows shown: QueuePage.start() until the newest rows are painted           (target < 1 s)
* full id list loaded in the background (the scroll bar covers every item)
* jump to the last row: scrollToBottom + select + synchronous repaint              (target < 200 ms)
* process memory (RSS) after loading and scrolling                                 (target < 300 MB)
* the worst GUI-thread stall (a 10 ms QTimer lag probe) while the engine takes in and delivers
  ``--rate`` events/s to a local receiver (poster and receiver in separate processes)  (target < 50 ms)
Baselines measured in the same run: raw sqlite3 reads of the same ids, RSS before the page loads, and the
lag probe with the engine idle.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def populate(db_file: Path, n: int, action_url: str) -> None:
    """A million items in a few seconds: one INSERT … SELECT over a recursive counter."""
    con = sqlite3.connect(db_file)
    con.execute(
        "INSERT INTO events (event, shop_id, occurred_at, received_at, entity_type, entity_id, entity_data_json,"
        " data_json) VALUES ('OrderChanged', 1, '2026-11-28 10:00:00', '2026-11-28 10:00:00', 'Order', '1',"
        " '{}', '{}')"
    )
    con.execute(
        f"""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {int(n)})
        INSERT INTO queue_items (event_id, trigger_title, event_name, entity_type, entity_id, entity_code,
            priority, status, method, url, host, headers_json, body, attempts, created_at, last_attempt_at,
            skipped_count, response_status, response_message, duration_ms)
        SELECT 1, 'Order to ERP ' || (i % 7),
            CASE i % 3 WHEN 0 THEN 'OrderChanged' WHEN 1 THEN 'ShipmentShipped' ELSE 'InvoicePaymentsDone' END,
            'Order', CAST(i AS TEXT), 'ORD-' || i, 1 + i % 5,
            CASE WHEN i % 97 = 0 THEN 'failed' WHEN i % 13 = 0 THEN 'cancelled' ELSE 'delivered' END,
            'POST', ?, '127.0.0.1', '{{"Content-Type": "application/json; charset=utf-8"}}',
            '{{"Trigger":"OrderChanged","entityData":{{"OrderId":' || i || '}}}}', 1,
            datetime('2026-01-01', '+' || (i * 20) || ' seconds'), datetime('2026-01-01', '+' || (i * 20) || ' seconds'),
            0, 200, 'OK', 40.0 + i % 200
        FROM n
        """,
        (action_url,),
    )
    con.commit()
    con.close()


# --------------------------------------------------------------------------- helper processes
def _poster_main(address: str, token: str, rate: int, seconds: float, conn) -> None:  # type: ignore[no-untyped-def]
    import httpx

    batch = max(1, rate // 10)
    sent = 0
    start = time.perf_counter()
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        tick = 0
        while time.perf_counter() - start < seconds:
            events = [
                {
                    "event": "OrderChanged",
                    "shopId": 1,
                    "data": {"Order": {"Id": sent + k, "OrderCode": f"B-{sent + k}"}},
                }
                for k in range(batch)
            ]
            answer = client.post(f"http://{address}/events", json=events)
            assert answer.status_code == 202, answer.text
            sent += batch
            tick += 1
            pause = start + tick * 0.1 - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
    conn.send(sent)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_engine_process(paths, settings):  # type: ignore[no-untyped-def]
    """`shopctrl-desktop serve` on the same data dir; returns (process, delivered-count function)."""
    import subprocess
    import threading

    import httpx
    from sqlalchemy import create_engine, text

    root = Path(__file__).resolve().parents[1]
    child = subprocess.Popen(
        [sys.executable, "-m", "shopctrl_desktop", "--data-dir", str(paths.data_dir), "serve"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while True:
        try:
            if httpx.get(f"http://{settings.listen_address}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.time() > deadline:
            raise TimeoutError("serve did not start")
        time.sleep(0.1)
    counted = [0]
    db = create_engine(f"sqlite:///{paths.database_file}")

    def count_loop() -> None:  # a side thread: the GUI thread never waits for this count
        while child.poll() is None:
            with db.connect() as con:
                counted[0] = int(con.execute(text("SELECT count(*) FROM delivery_attempts")).scalar() or 0)
            time.sleep(0.2)

    threading.Thread(target=count_loop, daemon=True).start()
    return child, lambda: counted[0]


class LagProbe:
    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self.ends: list[float] = []
        self.last = 0.0
        self.sched = [] if os.environ.get("STALL_TRACE") else None
        self._stat_path = f"/proc/self/task/{threading.get_native_id()}/schedstat"

    def _schedstat(self) -> tuple[int, int]:
        with open(self._stat_path) as f:
            run, wait, _ = f.read().split()
        return int(run), int(wait)

    def start(self) -> None:
        self.gaps.clear()
        self.ends.clear()
        if self.sched is not None:
            self.sched.clear()
        self.last = time.perf_counter()
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(max(0.0, now - self.last - 0.010) * 1000)
        self.ends.append(now)
        self.last = now
        if self.sched is not None:
            self.sched.append(self._schedstat())

    def stop(self) -> tuple[float, float]:
        self.timer.stop()
        if not self.gaps:
            return float("nan"), float("nan")
        ordered = sorted(self.gaps)
        return ordered[-1], ordered[int(len(ordered) * 0.99) - 1]


def wait_until(app: QApplication, predicate, timeout: float) -> float:  # type: ignore[no-untyped-def]
    """Run the Qt loop until ``predicate()``; returns the seconds it took (benchmark driver, not app code)."""
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("condition not reached")
        app.processEvents()
        time.sleep(0.001)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--engine-process",
        action="store_true",
        help="older experiment: run the engine as `shopctrl-desktop serve` instead of through the GUI's "
        "EngineThread (no progress signals: the window then polls for changes every 100 ms)",
    )
    args = parser.parse_args()

    from dataclasses import replace

    from benchmarks.receiver import ReceiverProcess
    from shopctrl_desktop.app_context import AppContext
    from shopctrl_desktop.config import Settings, save_settings
    from shopctrl_desktop.engine.token import load_or_create_token
    from shopctrl_desktop.gui.background import wait_for_background
    from shopctrl_desktop.gui.engine_thread import EngineThread
    from shopctrl_desktop.gui.main_window import MainWindow
    from shopctrl_desktop.paths import resolve_paths
    from shopctrl_desktop.store.db import Database
    from shopctrl_desktop.store.secrets import load_secret_box
    from tests.helpers.factories import make_action

    app = QApplication([])
    from shopctrl_desktop.runtime import SWITCH_INTERVAL, tune_process

    tune_process()  # as gui.app.main() does
    sys.setswitchinterval(float(os.environ.get("SWITCH", SWITCH_INTERVAL)))
    paths = resolve_paths(tempfile.mkdtemp(prefix="gui-queue-bench-")).ensure()
    db = Database(f"sqlite:///{paths.database_file}")
    box = load_secret_box(paths.data_dir, use_keyring=False)

    receiver = ReceiverProcess.start()
    url = receiver.url
    make_action(db, box, url, title="Orders to ERP")

    t = time.perf_counter()
    populate(paths.database_file, args.items, url)
    print(f"populated {args.items:,} queue items in {time.perf_counter() - t:.1f} s")

    # baselines: the same reads with raw sqlite3
    con = sqlite3.connect(paths.database_file)
    t = time.perf_counter()
    con.execute("SELECT id FROM queue_items ORDER BY id DESC LIMIT 500").fetchall()
    raw_first = time.perf_counter() - t
    t = time.perf_counter()
    raw_ids = [r[0] for r in con.execute("SELECT id FROM queue_items ORDER BY id")]
    raw_all = time.perf_counter() - t
    con.close()
    del raw_ids

    settings = replace(Settings(), listen_port=0, concurrency=64, per_host_concurrency=64)
    if args.engine_process:
        settings = replace(settings, listen_port=_free_port())
        save_settings(paths, settings)
    ctx = AppContext(paths=paths, settings=settings, db=db, box=box)
    engine = None if args.engine_process else EngineThread(ctx)
    window = MainWindow(ctx, engine)
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    rss_before = rss_mb()

    page = window.queue_page
    table = page.table
    t = time.perf_counter()
    window.start()
    wait_until(app, lambda: page.model.rowCount() > 0, 30)
    table.viewport().repaint()  # asks for the first page of rows
    wait_until(app, lambda: page.model.is_row_loaded(0), 30)
    table.viewport().repaint()
    first_rows = time.perf_counter() - t
    full_list = first_rows + wait_until(app, lambda: page.model.is_complete, 60)
    rows = page.model.rowCount()

    jumps = []
    for _ in range(5):
        table.scrollToTop()
        table.viewport().repaint()
        page.model._cache.clear()  # a cold jump: the last page is not cached
        t = time.perf_counter()
        table.scrollToBottom()
        page.select_row(rows - 1)
        table.viewport().repaint()  # asks for the last page of rows
        wait_until(app, lambda: page.model.is_row_loaded(rows - 1), 10)
        table.viewport().repaint()
        jumps.append(time.perf_counter() - t)
    bar = table.verticalScrollBar()
    for k in range(50):  # scroll around the whole table
        bar.setValue(bar.maximum() * k // 50)
        table.viewport().repaint()
        top = table.rowAt(0)
        wait_until(app, lambda top=top: page.model.is_row_loaded(top), 10)
    wait_until(app, lambda: page.detail_pane.detail is not None, 10)
    rss_after = rss_mb()
    repaints = []
    for _ in range(11):  # the rows on screen are loaded: what one repaint of the table costs (idle)
        t = time.perf_counter()
        table.viewport().repaint()
        repaints.append(time.perf_counter() - t)

    # lag probe: engine idle (baseline), then delivering
    from shopctrl_desktop.runtime import settle_heap

    settle_heap()  # as gui.app.run_application() does after start-up
    from shopctrl_desktop.gui.garbage import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector(window)  # as the app does
    started: list[str] = []
    delivered_ids: set[int] = set()
    signal_count = [0]
    child = None
    if engine is not None:
        engine.engine_started.connect(started.append)

        def on_changes(changes) -> None:  # type: ignore[no-untyped-def]
            signal_count[0] += 1
            delivered_ids.update(c.item_id for c in changes if c.status == "delivered")

        engine.signals.items_changed.connect(on_changes)
        engine.start()
        wait_until(app, lambda: bool(started), 30)
        delivered_count = lambda: len(delivered_ids)  # noqa: E731
    else:
        child, counter = _start_engine_process(paths, settings)
        started.append(settings.listen_address)
        delivered_count = counter
        poll = QTimer()  # no engine signals in this process: look for changes as often as they would come
        poll.setInterval(100)

        def on_poll() -> None:
            page.model.note_new_items()
            top, bottom = table.rowAt(0), table.rowAt(table.viewport().height() - 1)
            if top >= 0:
                bottom = bottom if bottom >= 0 else page.model.rowCount() - 1
                page.model.refresh_ids(page.model.id_at(r) for r in range(top, bottom + 1))

        poll.timeout.connect(on_poll)
        poll.start()
    probe = LagProbe()
    tracer = None
    if os.environ.get("STALL_TRACE"):
        from benchmarks.stall_trace import StallTracer

        tracer = StallTracer()
    probe.start()
    wait_until(app, lambda: len(probe.gaps) >= 300, 30)
    idle_worst, idle_p99 = probe.stop()

    token = load_or_create_token(paths)
    poster_parent, poster_child = mp.Pipe()
    poster = mp.Process(target=_poster_main, args=(started[0], token, args.rate, args.seconds, poster_child))
    delivered_before = delivered_count()
    signals_before = signal_count[0]
    probe.start()
    t = time.perf_counter()
    poster.start()
    wait_until(app, lambda: poster_parent.poll(), args.seconds + 60)
    sent = poster_parent.recv()
    wait_until(app, lambda: delivered_count() - delivered_before >= sent, 120)
    busy_seconds = time.perf_counter() - t
    busy_worst, busy_p99 = probe.stop()
    if tracer is not None:
        threshold = float(os.environ.get("STALL_TRACE_MS", "40"))  # which stalls the trace explains
        tracer.report(list(zip(probe.ends, probe.gaps, strict=False)), threshold=threshold)
        rows_ = []
        for k in range(1, len(probe.gaps)):
            if probe.gaps[k] > threshold:
                run = (probe.sched[k][0] - probe.sched[k - 1][0]) / 1e6
                wait = (probe.sched[k][1] - probe.sched[k - 1][1]) / 1e6
                rows_.append((probe.gaps[k], run, wait))
        print("stall ms / GUI on-CPU ms / runqueue-wait ms / other (GIL, sleep)")
        for g, r, w in sorted(rows_, reverse=True)[:25]:
            print(f"{g:6.0f} {r:6.1f} {w:6.1f} {g + 10 - r - w:6.1f}")
        tot = [sum(x) for x in zip(*rows_, strict=False)] if rows_ else [0, 0, 0]
        print("totals over stalls:", [round(x) for x in tot])
    delivered = delivered_count() - delivered_before
    signals_seen = signal_count[0] - signals_before
    wait_until(app, lambda: page.model.rowCount() >= rows + sent, 30)

    if engine is not None:
        engine.stop(60_000)
    if child is not None:
        child.terminate()  # SIGTERM: serve stops cleanly
        child.wait(60)
    window.close()
    wait_for_background(30_000)
    collector.stop()
    receiver.stop()
    poster.join(10)

    print()
    print(f"{'measure':44} {'value':>12} {'target':>10}   baseline")
    print(
        f"{'first rows shown (of ' + format(rows, ',') + ')':44} {first_rows * 1000:10.0f} ms {'< 1000 ms':>10}"
        f"   raw sqlite newest 500 ids: {raw_first * 1000:.1f} ms"
    )
    print(
        f"{'full id list loaded (background)':44} {full_list * 1000:10.0f} ms {'':>10}"
        f"   raw sqlite all ids: {raw_all * 1000:.0f} ms (x{full_list / raw_all:.1f})"
    )
    print(
        f"{'jump to last row (median of 5, cold)':44} {statistics.median(jumps) * 1000:10.1f} ms {'< 200 ms':>10}"
        f"   worst {max(jumps) * 1000:.1f} ms"
    )
    print(
        f"{'process memory (RSS) after scrolling':44} {rss_after:10.0f} MB {'< 300 MB':>10}"
        f"   before the page loaded: {rss_before:.0f} MB"
    )
    print(
        f"{'one table repaint, rows loaded (idle, median)':44} {statistics.median(repaints[1:]) * 1000:10.1f} ms"
    )
    print(
        f"{'GUI stall while delivering (worst)':44} {busy_worst:10.1f} ms {'< 50 ms':>10}"
        f"   engine idle: worst {idle_worst:.1f} ms"
    )
    print(
        f"{'GUI stall while delivering (p99)':44} {busy_p99:10.1f} ms {'':>10}   engine idle: p99 {idle_p99:.1f} ms"
    )
    print(
        f"{'delivery rate during the probe':44} {delivered / busy_seconds:10.0f} /s {'500 /s':>10}"
        f"   {delivered:,} delivered of {sent:,} posted in {busy_seconds:.1f} s"
    )
    if engine is not None:
        print(f"engine items_changed signals received: {signals_seen} ({signals_seen / busy_seconds:.0f} /s)")
    where = "`serve` (polled)" if args.engine_process else "a child process relayed by the GUI's EngineThread"
    print(f"engine ran in {where}; load average: {os.getloadavg()[0]:.2f} (2 cores shared)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
