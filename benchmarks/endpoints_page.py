"""The Endpoints page over 1,000,000 delivery attempts (SPEC §11; target: shown < 500 ms).

    python3 benchmarks/endpoints_page.py                  # 1,000,000 attempts
    python3 benchmarks/endpoints_page.py --attempts 200000 # a busy machine

Fills a SQLite file with ``--attempts`` attempts over ``--items`` queue items (4 attempts an item by default)
to 12 endpoints, **all within the last 24 hours** (the worst case for the page: every attempt is in its
window), 2 % of the items failed and 1 % waiting. The per-minute rollup is filled the way the engine fills it:
``add_attempts`` once per batch of 500 recorded attempts (its cost per batch is printed). Then it prints:

* the page's data: ``endpoint_page`` (every endpoint's figures) + ``minute_series`` (the chart), median of 5;
* showing the page: EndpointsPage built, its rows and chart set and painted offscreen (``grab``), median of 5;
* for comparison, the same per-endpoint counts read from the attempt log itself (join to the items, with an
  index on ``started_at``) — what the page would cost without the rollup.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from shopctrl_desktop.domain.outcome import AttemptResult  # noqa: E402
from shopctrl_desktop.store.db import Database  # noqa: E402
from shopctrl_desktop.store.endpoint_stats import add_attempts, endpoint_page, minute_series  # noqa: E402
from shopctrl_desktop.store.models import utcnow  # noqa: E402

ENDPOINTS = [f"https://erp{n}.example.com/api/hook{n % 3}" for n in range(12)]


def fill(db: Database, attempts: int, per_item: int) -> float:
    """Items and attempts by bulk SQL; the rollup by add_attempts in batches of 500. Returns seconds spent in
    add_attempts per batch (median)."""
    rng = random.Random(1)
    now = utcnow()
    items = attempts // per_item
    batch_costs: list[float] = []
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO events (id, event, occurred_at, received_at, entity_type, entity_data_json, data_json) "
                "VALUES (1, 'OrderChanged', :t, :t, 'Order', '{}', '{}')"
            ),
            {"t": now},
        )
    item_sql = text(
        "INSERT INTO queue_items (id, event_id, trigger_title, event_name, entity_type, priority, status, method, "
        "url, host, headers_json, body, attempts, created_at, finished_at, skipped_count) VALUES "
        "(:id, 1, 'T', 'OrderChanged', 'Order', 3, :status, 'POST', :url, :host, '{}', '{}', :n, :t, :f, 0)"
    )
    attempt_sql = text(
        "INSERT INTO delivery_attempts (item_id, number, started_at, duration_ms, status_code) "
        "VALUES (:item, :number, :t, :ms, :code)"
    )
    chunk = 20_000
    for start in range(0, items, chunk):
        item_rows, attempt_rows, outcomes = [], [], []
        for item_id in range(start + 1, min(items, start + chunk) + 1):
            url = ENDPOINTS[item_id % len(ENDPOINTS)]
            roll = rng.random()
            status = "failed" if roll < 0.02 else "queued" if roll < 0.03 else "sent"
            t0 = now - timedelta(seconds=rng.uniform(0, 86_000))
            item_rows.append(
                {"id": item_id, "status": status, "url": url, "host": url.split("/")[2], "n": per_item,
                 "t": t0, "f": t0 if status != "queued" else None}
            )  # fmt: skip
            for number in range(1, per_item + 1):
                ms = rng.lognormvariate(4.5, 0.6)
                code = 200 if (number == per_item and status == "sent") else 503
                t = t0 + timedelta(seconds=number * 30)
                attempt_rows.append({"item": item_id, "number": number, "t": t, "ms": ms, "code": code})
                outcomes.append((SimpleNamespace(url=url), AttemptResult(t, ms, code)))
        with db.engine.begin() as conn:
            conn.execute(item_sql, item_rows)
            conn.execute(attempt_sql, attempt_rows)
            for b in range(0, len(outcomes), 500):
                began = time.perf_counter()
                add_attempts(conn, outcomes[b : b + 500])
                batch_costs.append(time.perf_counter() - began)
        print(f"  filled {min(items, start + chunk) * per_item:,} attempts", end="\r", flush=True)
    print()
    return statistics.median(batch_costs)


def engine_batch(db: Database) -> float:
    """A batch as the engine records it: 500 attempts finished within the same minute, to every endpoint."""
    rng = random.Random(2)
    costs = []
    for _ in range(20):
        now = utcnow()
        outcomes = [
            (
                SimpleNamespace(url=ENDPOINTS[n % len(ENDPOINTS)]),
                AttemptResult(now, rng.lognormvariate(4.5, 0.6), 200),
            )
            for n in range(500)
        ]
        with db.engine.begin() as conn:
            began = time.perf_counter()
            add_attempts(conn, outcomes)
            costs.append(time.perf_counter() - began)
    return statistics.median(costs) * 1000


def median_ms(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--per-item", type=int, default=4)
    parser.add_argument("--reuse", metavar="FOLDER", help="measure a database an earlier run filled (kept)")
    args = parser.parse_args()
    folder = Path(args.reuse or tempfile.mkdtemp(prefix="endpoints-bench-"))
    db = Database(f"sqlite:///{folder / 'bench.db'}")
    if not args.reuse:
        print(f"filling {args.attempts:,} attempts to {len(ENDPOINTS)} endpoints in {folder}")
        began = time.perf_counter()
        batch = fill(db, args.attempts, args.per_item)
        print(
            f"filled in {time.perf_counter() - began:.0f} s; add_attempts per batch of 500 spread over random "
            f"minutes (worst case): {batch * 1000:.2f} ms"
        )
    print(f"add_attempts per batch of 500 in one minute (the engine's case): {engine_batch(db):.2f} ms")
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM endpoint_minutes")).scalar_one()
        n = conn.execute(text("SELECT count(*) FROM delivery_attempts")).scalar_one()
    print(f"attempt log: {n:,} rows; rollup: {rows:,} rows")

    def data():
        with db.sessions() as s:
            page = endpoint_page(s)
            return page, minute_series(s, page[0].key)

    data_ms = median_ms(data)
    print(f"page data (endpoint_page + minute_series): {data_ms:.0f} ms (median of 5)")

    from PySide6.QtWidgets import QApplication

    from shopctrl_desktop.app_context import AppContext
    from shopctrl_desktop.config import Settings
    from shopctrl_desktop.gui.endpoints.page import EndpointsPage
    from shopctrl_desktop.paths import resolve_paths

    app = QApplication.instance() or QApplication([])
    ctx = AppContext(resolve_paths(folder / "data").ensure(), Settings(), db=db)

    def show():
        page = EndpointsPage(ctx)
        page.resize(1300, 800)
        rows, series = data()
        page.model.set_rows(rows)
        page.chart.show_series(series)
        page.grab()
        app.processEvents()
        page.deleteLater()

    show()  # warm-up: fonts, QtCharts
    show_ms = median_ms(show)
    rows, series = data()

    def paint_only():
        page = EndpointsPage(ctx)
        page.resize(1300, 800)
        page.model.set_rows(rows)
        page.chart.show_series(series)
        page.grab()
        page.deleteLater()

    print(f"  of which building and painting the page: {median_ms(paint_only):.0f} ms")
    verdict = "OK" if show_ms < 500 else "over the 500 ms target"
    print(f"page shown (data + build + paint): {show_ms:.0f} ms (median of 5) — {verdict}")

    with db.engine.begin() as conn:
        conn.execute(
            text("CREATE INDEX IF NOT EXISTS bench_attempts_started ON delivery_attempts (started_at)")
        )

    def from_log():
        since = utcnow() - timedelta(hours=24)
        with db.engine.connect() as conn:
            return conn.execute(
                text(
                    "SELECT q.url, count(*), sum(a.status_code NOT BETWEEN 200 AND 299) FROM delivery_attempts a "
                    "JOIN queue_items q ON q.id = a.item_id WHERE a.started_at >= :since GROUP BY q.url"
                ),
                {"since": since},
            ).all()

    print(f"for comparison, 24 h counts from the attempt log (indexed): {median_ms(from_log, 3):.0f} ms")


if __name__ == "__main__":
    main()
