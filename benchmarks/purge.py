"""Retention purge of 1,000,000 old items while the engine takes in and delivers 500 events/s, and the window's
worst stall meanwhile (issue 13, item 1).

    python3 benchmarks/purge.py [--items 1000000] [--rate 500] [--phase-seconds 15] [--rounds 3]

A SQLite database (a new one, so ``auto_vacuum = INCREMENTAL``) is filled with ``--items`` finished items
(12 of 13 delivered, 1 cancelled; finished 285–400 days ago, past the 30-day retention), one attempt and one
event snapshot each, with bulk ``INSERT … SELECT`` statements. Then, all at the same time:

* the engine (listener + intake + delivery, `serve`'s ``Engine``) runs in a process of its own on the file;
  its retention turn is the engine's own code — ``engine.retention_task.purge_once`` on the loop's executor
  with ``PAUSE_BETWEEN_BATCHES``, batches of ``store.retention.purge_batch`` — started and held on command
  instead of on the ten-minute timer, so that phases with and without purging alternate;
* a poster process offers ``--rate`` events/s (a batch every 100 ms) to the listener; every event makes one
  queue item delivered to ``benchmarks/receiver.py`` (a process of its own), which measures each delivery's
  latency from the time written in the event;
* the desktop window (offscreen, the Queue page over every item, the live watcher diffing the shared file
  every second as beside `serve`) runs in this process with a 10 ms QTimer lag probe on its GUI thread.

Phases alternate, ``--rounds`` times: ``--phase-seconds`` without purging, the same with the purge running
(the order swaps every round). Then the rest of the purge runs to its end under the same load (events go
after their items), still probed. Printed: intake and delivery rates per kind of phase and their ratio
(target ≥ 0.8), items purged per second, the file's size and free pages before and after, and the worst
GUI stall during the purge (target < 50 ms) beside the stall without it. The machine's load average is
printed with the figures: ratios within one run are what count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.gui_queue import LagProbe, wait_until  # noqa: E402


# --------------------------------------------------------------------------------------------- the old data
def populate_old(db_file: Path, n: int, action_url: str) -> None:
    """``n`` finished items, each with its event snapshot (a customer's order) and one attempt, all past
    the retention: three INSERT … SELECT over a recursive counter, one transaction."""
    con = sqlite3.connect(db_file)
    counter = f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {int(n)})"
    base = con.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    moment = "datetime('now', '-400 days', '+' || (i * 10) || ' seconds')"  # 285–400 days ago for 1,000,000
    con.execute(
        f"""{counter}
        INSERT INTO events (id, event, shop_id, occurred_at, received_at, entity_type, entity_id, entity_code,
            entity_data_json, data_json)
        SELECT {base} + i, 'OrderChanged', 1, {moment}, {moment}, 'Order', CAST(i AS TEXT), 'ORD-' || i,
            '{{"OrderId":' || i || ',"OrderCode":"ORD-' || i || '"}}',
            '{{"Order":{{"Id":' || i || ',"OrderCode":"ORD-' || i || '","TotalDue":' || (i % 500) || '.95,'
            || '"Customer":{{"Email":"customer' || i || '@example.com","FirstName":"Anna","LastName":"Muster",'
            || '"Street":"Hauptstrasse ' || (i % 200) || '","City":"Berlin","Zip":"10115"}},'
            || '"OrderRow":[{{"ProductCode":"SKU-' || (i % 900) || '","ItemQuantity":2}}]}}}}'
        FROM n"""
    )
    con.execute(
        f"""{counter}
        INSERT INTO queue_items (event_id, trigger_title, event_name, entity_type, entity_id, entity_code,
            priority, status, method, url, host, headers_json, body, attempts, created_at, last_attempt_at,
            finished_at, skipped_count, response_status, response_message, duration_ms)
        SELECT {base} + i, 'Orders to ERP', 'OrderChanged', 'Order', CAST(i AS TEXT), 'ORD-' || i, 3,
            CASE WHEN i % 13 = 0 THEN 'cancelled' ELSE 'delivered' END,
            'POST', ?, '127.0.0.1', '{{"Content-Type": "application/json; charset=utf-8"}}',
            '{{"Trigger":"OrderChanged","entityData":{{"OrderId":' || i || ',"OrderCode":"ORD-' || i || '",'
            || '"Email":"customer' || i || '@example.com"}}}}',
            1, {moment}, {moment}, {moment}, 0, 200, 'OK', 40.0 + i % 200
        FROM n""",
        (action_url,),
    )
    first_item = con.execute("SELECT min(id) FROM queue_items WHERE event_id > ?", (base,)).fetchone()[0]
    con.execute(
        f"""{counter}
        INSERT INTO delivery_attempts (item_id, number, started_at, duration_ms, status_code,
            response_headers_json, response_body)
        SELECT {first_item - 1} + i, 1, {moment}, 40.0 + i % 200, 200,
            '{{"Content-Type": "text/plain"}}', 'ok'
        FROM n"""
    )
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the fill went through the WAL; start from an empty one
    con.close()


def file_figures(db_file: Path) -> tuple[float, int]:
    """(size of the database file in MB, free pages in it); the WAL beside it is printed by ``wal_mb``."""
    con = sqlite3.connect(db_file)
    free = con.execute("PRAGMA freelist_count").fetchone()[0]
    con.close()
    return db_file.stat().st_size / 1e6, int(free)


def wal_mb(db_file: Path) -> float:
    wal = db_file.with_name(db_file.name + "-wal")
    return wal.stat().st_size / 1e6 if wal.exists() else 0.0


# --------------------------------------------------------------------------------------------- the engine
def _engine_main(db_url: str, box: object, data_dir: str, conn) -> None:  # type: ignore[no-untyped-def]
    """`serve`'s Engine on the file, plus the retention turn started ("purge") and held ("hold") on command."""
    from datetime import UTC, datetime

    from shopctrl_desktop.config import Settings
    from shopctrl_desktop.engine.retention_task import PAUSE_BETWEEN_BATCHES, purge_once
    from shopctrl_desktop.engine.service import Engine
    from shopctrl_desktop.paths import resolve_paths
    from shopctrl_desktop.runtime import tune_process
    from shopctrl_desktop.store.db import Database
    from shopctrl_desktop.store.retention import Purged

    tune_process()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        commands: asyncio.Queue[str] = asyncio.Queue()

        def read_commands() -> None:  # a thread of its own: the executor is the purge's
            while True:
                command = conn.recv()
                loop.call_soon_threadsafe(commands.put_nowait, command)
                if command == "stop":
                    return

        db = Database(db_url, migrate=False)
        paths = resolve_paths(data_dir).ensure()
        settings = replace(
            Settings(), listen_host="127.0.0.1", listen_port=0, concurrency=64, per_host_concurrency=64
        )
        # housekeeping off: the benchmark starts the same retention turn itself, when a phase says so
        engine = Engine(db, box, settings, paths, housekeeping=False)  # type: ignore[arg-type]
        await engine.start()
        conn.send((str(engine.listener_address), paths.token_file.read_text().strip()))
        threading.Thread(target=read_commands, daemon=True).start()
        halt = [False]
        turn: asyncio.Future[Purged] | None = None
        started = 0.0
        while (command := await commands.get()) != "stop":
            if command == "purge":
                halt[0] = False
                started = time.perf_counter()
                turn = loop.run_in_executor(
                    None,
                    lambda: purge_once(
                        db, settings, datetime.now(UTC), stop=lambda: halt[0], pause=PAUSE_BETWEEN_BATCHES
                    ),
                )
            elif command in ("hold", "finish"):
                assert turn is not None
                halt[0] = command == "hold"
                done = await turn
                conn.send((done.items, done.attempts, done.events, time.perf_counter() - started))
        await engine.stop()
        db.dispose()
        conn.send("stopped")

    asyncio.run(main())


# --------------------------------------------------------------------------------------------- the poster
def _poster_main(address: str, token: str, rate: int, conn) -> None:  # type: ignore[no-untyped-def]
    """Told a number of seconds, offers ``rate`` events/s for that long as a batch every 100 ms (the next one
    at once when a post took longer), then reports; each event's order code carries the time it was sent,
    which the receiver turns into a delivery latency. A process of its own, started once (a spawn takes a
    second of CPU); ``None`` ends it."""
    import httpx

    batch = max(1, rate // 10)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(headers=headers, timeout=30) as client:
        while (seconds := conn.recv()) is not None:
            accepted = refused = 0
            refusal = ""
            posts: list[float] = []
            start = time.perf_counter()
            tick = 0
            while time.perf_counter() - start < seconds:
                sent_at = time.time()
                events = [
                    {
                        "event": "OrderChanged",
                        "shopId": 1,
                        "data": {"Order": {"Id": k, "OrderCode": f"SentAt:{sent_at:.6f}"}},
                    }
                    for k in range(batch)
                ]
                t = time.perf_counter()
                answer = client.post(f"http://{address}/events", content=json.dumps(events))
                posts.append(time.perf_counter() - t)
                if answer.status_code == 202:
                    accepted += batch
                else:
                    refused += batch
                    refusal = refusal or f"{answer.status_code} {answer.text[:300]}"
                tick += 1
                pause = start + tick * 0.1 - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            conn.send((accepted, refused, time.perf_counter() - start, posts, refusal))


# --------------------------------------------------------------------------------------------- phases
@dataclass
class Totals:
    seconds: float = 0.0
    accepted: int = 0
    refused: int = 0
    delivered: int = 0
    posts: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    stalls: list[float] = field(default_factory=list)
    purged_items: int = 0
    purged_attempts: int = 0
    purged_events: int = 0
    purge_seconds: float = 0.0
    refusal: str = ""  # the first refused post's status and text

    def add(self, other: Totals) -> None:
        for name in ("seconds", "accepted", "refused", "delivered", "purged_items", "purged_attempts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.purged_events += other.purged_events
        self.purge_seconds += other.purge_seconds
        self.refusal = self.refusal or other.refusal
        self.posts += other.posts
        self.latencies += other.latencies
        self.stalls += other.stalls


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


TRACER: list = []  # benchmarks/stall_trace.py's StallTracer, with STALL_TRACE=1


def run_phase(app, engine_conn, poster, receiver, seconds, purge, finish=False) -> Totals:  # type: ignore[no-untyped-def]
    """One phase under load; ``purge``: the retention turn runs meanwhile (``finish``: until it is done). The
    GUI thread only ever waits by running its event loop (``wait_until``)."""
    before = receiver.counts().requests
    receiver.latencies()  # drop what arrived before this phase
    if purge:
        engine_conn.send("purge")
        if finish:
            engine_conn.send("finish")
    probe = LagProbe()
    probe.start()
    results = []
    while True:  # one phase; when finishing, phases of ``seconds`` until the turn has purged everything
        poster.send(seconds)
        wait_until(app, poster.poll, seconds + 120)
        results.append(poster.recv())
        if not finish or engine_conn.poll():
            break
    accepted = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    posts = [p for r in results for p in r[3]]
    refusal = next((r[4] for r in results if r[4]), "")
    probe.stop()
    if TRACER:  # STALL_TRACE=1: what the GUI thread and the others did during the worst stalls
        TRACER[0].report(
            list(zip(probe.ends, probe.gaps, strict=False)), float(os.environ.get("STALL_TRACE_MS", "40"))
        )
    elapsed = sum(r[2] for r in results)  # the posters' own time (a spawned process takes a while to start)
    delivered = receiver.counts().requests - before
    totals = Totals(elapsed, accepted, refused, delivered, posts, receiver.latencies(), list(probe.gaps))
    totals.refusal = refusal
    if purge:
        if not finish:
            engine_conn.send("hold")
        items, attempts, events, purge_seconds = engine_conn.recv()
        totals.purged_items, totals.purged_attempts, totals.purged_events = items, attempts, events
        totals.purge_seconds = purge_seconds
    return totals


def describe(name: str, t: Totals) -> str:
    return (
        f"  {name:22s} intake {t.accepted / t.seconds:6.0f}/s  delivery {t.delivered / t.seconds:6.0f}/s  "
        f"post p50 {pct(t.posts, 0.5) * 1000:5.1f} ms worst {max(t.posts, default=0) * 1000:6.1f} ms  "
        f"delivery latency p50 {pct(t.latencies, 0.5) * 1000:5.1f} ms p99 {pct(t.latencies, 0.99) * 1000:6.1f} ms  "
        f"GUI stall worst {max(t.stalls, default=0):5.1f} ms"
        + (f"  refused {t.refused} ({t.refusal})" if t.refused else "")
        + (
            f"  purged {t.purged_items:,} items, {t.purged_events:,} events ({t.purged_items / t.purge_seconds:,.0f} items/s)"
            if t.purge_seconds
            else ""
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1_000_000, help="old finished items to purge")
    parser.add_argument("--rate", type=int, default=500, help="offered events/s (one delivery each)")
    parser.add_argument("--phase-seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3, help="pairs of phases without / with the purge")
    args = parser.parse_args()

    from benchmarks.receiver import ReceiverProcess
    from shopctrl_desktop.app_context import AppContext
    from shopctrl_desktop.config import Settings
    from shopctrl_desktop.gui.app import build_window
    from shopctrl_desktop.gui.background import wait_for_background
    from shopctrl_desktop.gui.garbage import GuiThreadGarbageCollector
    from shopctrl_desktop.paths import resolve_paths
    from shopctrl_desktop.runtime import SWITCH_INTERVAL, settle_heap, tune_process
    from shopctrl_desktop.store.db import Database
    from shopctrl_desktop.store.retention import give_all_space_back
    from shopctrl_desktop.store.secrets import load_secret_box
    from tests.helpers.factories import make_action

    load_start = os.getloadavg()
    app = QApplication([])
    tune_process()  # as gui.app.main() does
    sys.setswitchinterval(SWITCH_INTERVAL)
    paths = resolve_paths(tempfile.mkdtemp(prefix="purge-bench-")).ensure()
    db_url = f"sqlite:///{paths.database_file}"
    db = Database(db_url)
    box = load_secret_box(paths.data_dir, use_keyring=False)
    receiver = ReceiverProcess.start()
    make_action(db, box, receiver.url, title="Orders to ERP")
    t = time.perf_counter()
    populate_old(paths.database_file, args.items, receiver.url)
    size_before, free_before = file_figures(paths.database_file)
    print(
        f"pre-filled {args.items:,} old finished items (+ one attempt and one event snapshot each) in "
        f"{time.perf_counter() - t:.1f} s: {size_before:,.0f} MB, {free_before:,} free pages"
    )

    mp_ctx = mp.get_context("spawn")
    engine_conn, child_conn = mp_ctx.Pipe()
    engine = mp_ctx.Process(
        target=_engine_main, args=(db_url, box, str(paths.data_dir), child_conn), daemon=True
    )
    engine.start()
    address, token = engine_conn.recv()

    settings = replace(Settings(), listen_port=0, deliver_here=False)  # the engine runs beside the window
    ctx = AppContext(paths=paths, settings=settings, db=db, box=box)
    window, _, live = build_window(ctx)
    window.resize(1400, 900)
    window.show()
    window.start()
    live.start()
    page = window.queue_page
    wait_until(app, lambda: page.model.is_complete and not page.model.is_loading, 120)
    settle_heap()  # as gui.app.run_application() does after start-up
    collector = GuiThreadGarbageCollector(window)
    if os.environ.get("STALL_TRACE"):
        from benchmarks.stall_trace import StallTracer

        TRACER.append(StallTracer())
    print(
        f"engine listening on {address}; window shows {page.model.rowCount():,} items; load {os.getloadavg()[0]:.2f}"
    )

    poster, poster_child = mp_ctx.Pipe()
    poster_process = mp_ctx.Process(
        target=_poster_main, args=(address, token, args.rate, poster_child), daemon=True
    )
    poster_process.start()
    run = lambda purge, finish=False: run_phase(  # noqa: E731
        app, engine_conn, poster, receiver, args.phase_seconds, purge, finish
    )
    run(False)  # warm-up: connections, caches, the first items
    without, during = Totals(), Totals()
    for r in range(args.rounds):
        for purge in (False, True) if r % 2 == 0 else (True, False):
            result = run(purge)
            (during if purge else without).add(result)
            print(describe(f"round {r + 1} {'purging' if purge else 'no purge'}", result))
    rest = run(True, finish=True)
    print(describe("rest of the purge", rest))
    during_all = Totals()
    during_all.add(during)
    during_all.add(rest)

    size_turn, free_turn = file_figures(paths.database_file)
    wal_turn = wal_mb(paths.database_file)
    t = time.perf_counter()
    give_all_space_back(db)  # what `purge` does at its end: 2,000 pages per write transaction
    vacuum_seconds = time.perf_counter() - t
    size_after, free_after = file_figures(paths.database_file)

    poster.send(None)
    poster_process.join(10)
    engine_conn.send("stop")
    engine_conn.recv()
    engine.join(30)
    live.stop()
    window.close()
    wait_for_background(30_000)
    collector.stop()
    receiver.stop()
    con = sqlite3.connect(paths.database_file)
    left = con.execute(
        "SELECT count(*) FROM queue_items WHERE status IN ('delivered', 'cancelled') "
        "AND finished_at < datetime('now', '-30 days')"
    ).fetchone()[0]
    con.close()
    db.dispose()
    shutil.rmtree(paths.data_dir, ignore_errors=True)  # a gigabyte

    load = os.getloadavg()
    intake_ratio = (during.accepted / during.seconds) / (without.accepted / without.seconds)
    delivery_ratio = (during.delivered / during.seconds) / (without.delivered / without.seconds)
    worst_purging = max(during_all.stalls, default=0.0)
    worst_without = max(without.stalls, default=0.0)
    print()
    print(
        f"load average now {load[0]:.2f} (1 min), {load[1]:.2f} (5 min) on {os.cpu_count()} CPUs; at start "
        f"{load_start[0]:.2f} — other processes take CPU from both kinds of phase alike"
    )
    print(
        f"offered load {args.rate}/s; {args.rounds} x {args.phase_seconds:.0f} s per kind of phase, alternating"
    )
    print(describe("without purge", without))
    print(describe("with purge", during))
    print(describe("whole purge", during_all))
    print(f"{'intake during purge / without':44} {intake_ratio:8.2f}   (target >= 0.8)")
    print(f"{'delivery during purge / without':44} {delivery_ratio:8.2f}   (target >= 0.8)")
    print(
        f"{'purged':44} {during_all.purged_items:,} items, {during_all.purged_attempts:,} attempts, "
        f"{during_all.purged_events:,} event snapshots in {during_all.purge_seconds:.0f} s "
        f"({during_all.purged_items / max(during_all.purge_seconds, 1e-9):,.0f} items/s, "
        f"{(during_all.purged_items + during_all.purged_attempts + during_all.purged_events) / max(during_all.purge_seconds, 1e-9):,.0f} rows/s); "
        f"{left:,} old items left"
    )
    print(
        f"{'database file':44} before {size_before:,.0f} MB ({free_before:,} free pages); after the engine's "
        f"turn {size_turn:,.0f} MB ({free_turn:,} free pages: reused by new rows; WAL {wal_turn:,.0f} MB); after an incremental vacuum "
        f"of every free page ({vacuum_seconds:.1f} s, as `purge` does) {size_after:,.0f} MB ({free_after:,} free)"
    )
    print(
        f"{'GUI stall during the purge (worst)':44} {worst_purging:8.1f} ms (target < 50 ms)   without purge: "
        f"{worst_without:.1f} ms; p99 {pct(during_all.stalls, 0.99):.1f} vs {pct(without.stalls, 0.99):.1f} ms"
    )
    met = intake_ratio >= 0.8 and delivery_ratio >= 0.8 and worst_purging < 50 and left == 0
    print("targets", "met" if met else "NOT met")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
