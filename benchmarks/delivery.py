"""Delivery throughput: the engine end to end vs. a bare aiohttp client (the ceiling), same run.

A local aiohttp receiver runs in a separate process (it does not share the engine's loop). The database
(SQLite, WAL, synchronous=FULL) is pre-filled with N queued items for one action with an HMAC secret.
Then, in rounds that alternate so both see the same machine load (the machine is shared):

* **ceiling**: a bare ``aiohttp.ClientSession`` posts N/rounds of the same bodies with the same concurrency;
* **engine**: a DeliveryEngine starts, claims -> signs -> sends -> records until another N/rounds items are
  finished, and stops (measured from start() to the end of stop(), drain included);
* **httpx** (for the record, fewer requests): a bare ``httpx.AsyncClient`` at the same concurrency —
  why the engine's sender is aiohttp (engine/senders.py).

With ``--databases sqlite,postgres`` the same runs on a throwaway PostgreSQL server (default settings,
``--pg-fsync-off`` for the unsafe figure, printed as such), with ``--engines 1,2`` once with one engine and
once with two engines on the same database (each in a process of its own, as on two workstations, each at
``--concurrency``). Every configuration runs its chunk in every round (sqlite, postgres 1, postgres 2,
then the next round), each with its own receiver, which counts deliveries per ``X-ShopCtrl-Delivery``:
every item must arrive, once.

    python3 benchmarks/delivery.py [--items 20000] [--concurrency 64] [--rounds 4] [--httpx-items 2000]
                                   [--databases sqlite,postgres] [--engines 1,2] [--pg-fsync-off]

Target (issue 3): >= 1,000 deliveries/s and >= 0.5 x the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from benchmarks.engine_processes import EngineProcesses, start_postgres  # noqa: E402
from benchmarks.receiver import Counts, ReceiverProcess  # noqa: E402
from shopctrl_desktop.config import Settings  # noqa: E402
from shopctrl_desktop.domain.model import Trigger, WebhookAction  # noqa: E402
from shopctrl_desktop.domain.signing import generate_secret  # noqa: E402
from shopctrl_desktop.engine.delivery import DeliveryEngine  # noqa: E402
from shopctrl_desktop.engine.progress import NullObserver  # noqa: E402
from shopctrl_desktop.runtime import tune_process  # noqa: E402
from shopctrl_desktop.store.db import Database  # noqa: E402
from shopctrl_desktop.store.models import DeliveryAttemptRow, EventRow, QueueItemRow, utcnow  # noqa: E402
from shopctrl_desktop.store.secrets import SecretBox  # noqa: E402
from shopctrl_desktop.store.triggers import get_trigger, save_trigger  # noqa: E402


# ----------------------------------------------------------------------------- data
def body_for(n: int) -> str:
    return json.dumps(
        {
            "Trigger": "OrderChanged",
            "TriggerActionId": 1,
            "entityData": {"OrderId": 100000 + n, "OrderCode": f"ORD-{n}"},
        }
    )


def prefill(db: Database, box: SecretBox, url: str, items: int) -> WebhookAction:
    action = WebhookAction(url=url, hmac_secret=generate_secret("shopctrl"))
    with db.session() as s:
        trigger_id = save_trigger(s, box, Trigger(title="Bench", event="OrderChanged", actions=(action,)))
        stored = get_trigger(s, box, trigger_id)
        assert stored is not None
        action = stored.actions[0]
        event = EventRow(event="OrderChanged", occurred_at=utcnow(), entity_type="Order", entity_id="1")
        s.add(event)
        s.flush()
        now = utcnow()
        headers = json.dumps(
            {"Content-Type": "application/json; charset=utf-8", "X-ShopCtrl-Trigger": "OrderChanged"}
        )
        host = url.split("/")[2]
        rows = [
            {
                "trigger_id": trigger_id,
                "action_id": action.id,
                "event_id": event.id,
                "trigger_title": "Bench",
                "event_name": "OrderChanged",
                "entity_type": "Order",
                "entity_id": str(n),
                "priority": 3,
                "status": "queued",
                "method": "POST",
                "url": url,
                "host": host,
                "headers_json": headers,
                "body": body_for(n),
                "created_at": now,
                "next_attempt_at": now,
            }
            for n in range(items)
        ]
        for start in range(0, items, 5000):
            s.execute(insert(QueueItemRow), rows[start : start + 5000])
    return action


# ----------------------------------------------------------------------------- measurements
class _Counter(NullObserver):
    def __init__(self) -> None:
        self.final = 0
        self.target = 0
        self.reached = asyncio.Event()

    def items_changed(self, changes) -> None:  # type: ignore[no-untyped-def]
        self.final += sum(1 for c in changes if c.status in ("delivered", "failed"))
        if self.final >= self.target:
            self.reached.set()


async def run_engine(db: Database, box: SecretBox, counter: _Counter, until: int, concurrency: int) -> float:
    """Start the engine, wait until ``until`` items in total are finished, stop it (sends in flight are
    drained and recorded); returns the seconds from start() to the end of stop()."""
    settings = replace(Settings(), concurrency=concurrency, per_host_concurrency=concurrency)
    counter.target = until
    counter.reached.clear()
    engine = DeliveryEngine(db, box, settings, counter)
    t0 = time.perf_counter()
    await engine.start()
    await asyncio.wait_for(counter.reached.wait(), 600)
    await engine.stop()
    return time.perf_counter() - t0


async def run_bare_aiohttp(url: str, items: int, concurrency: int) -> float:
    bodies = [body_for(n).encode() for n in range(items)]
    headers = {"Content-Type": "application/json; charset=utf-8", "X-ShopCtrl-Trigger": "OrderChanged"}
    it = iter(bodies)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for body in it:
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    assert resp.status == 200

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0


async def run_bare_httpx(url: str, items: int, concurrency: int) -> float:
    bodies = [body_for(n).encode() for n in range(items)]
    headers = {"Content-Type": "application/json; charset=utf-8", "X-ShopCtrl-Trigger": "OrderChanged"}
    it = iter(bodies)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            for body in it:
                resp = await client.post(url, content=body, headers=headers)
                assert resp.status_code == 200

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0


@dataclass
class Figures:
    """One configuration's result: database, engines, the engine's and the ceiling's times, the checks."""

    database: str
    engines: int
    items: int
    engine_s: float
    ceiling_s: float
    ceiling_n: int
    delivered: int
    attempts: int
    received: Counts

    @property
    def rate(self) -> float:
        return self.items / self.engine_s

    @property
    def ceiling_rate(self) -> float:
        return self.ceiling_n / self.ceiling_s

    @property
    def exact(self) -> bool:
        """Every item delivered and recorded once, and none arrived at the receiver twice."""
        n = self.items
        return (
            self.delivered == n
            and self.attempts == n
            and self.received.distinct == n
            and not self.received.repeated
        )


@dataclass
class Configuration:
    """A database with its queue, its own receiver (item ids repeat across databases) and its engine(s)."""

    database: str
    engines: int
    db: Database
    box: SecretBox
    receiver: ReceiverProcess
    pool: EngineProcesses | None  # two or more engines: processes of their own; one: in this process
    counter: _Counter
    engine_s: float = 0.0
    ceiling_s: float = 0.0
    ceiling_n: int = 0

    @property
    def name(self) -> str:
        return f"{self.database}, {self.engines} engine{'s' if self.engines > 1 else ''}"


def prepare(database: str, engines: int, url: str, args: argparse.Namespace) -> Configuration:
    receiver = ReceiverProcess.start()
    db = Database(url)
    box = SecretBox.generate()
    t = time.perf_counter()
    prefill(db, box, receiver.url, args.items)
    print(
        f"[{database}, {engines} engine(s)] pre-filled {args.items} queued items in {time.perf_counter() - t:.1f} s"
    )
    pool = EngineProcesses.start(url, box, args.concurrency, engines) if engines > 1 else None
    return Configuration(database, engines, db, box, receiver, pool, _Counter())


async def run_round(config: Configuration, r: int, args: argparse.Namespace) -> None:
    """One round: the ceiling posts a chunk, then the engine(s) deliver the next chunk of the queue."""
    chunk = args.items // args.rounds
    if r == 1:
        await run_bare_aiohttp(config.receiver.url, min(2000, args.items), args.concurrency)  # warm-up
        config.receiver.reset()
    c = await run_bare_aiohttp(config.receiver.url, chunk, args.concurrency)
    until = args.items if r == args.rounds else r * chunk
    if config.pool is None:
        e = await run_engine(config.db, config.box, config.counter, until, args.concurrency)
        done = config.counter.final
    else:
        e = await config.pool.run_until(config.receiver, until)
        done = config.receiver.counts().distinct
    print(f"  round {r} {config.name:20s} ceiling {chunk / c:7.0f}/s   engine {done:6d} done, {e:.2f} s")
    config.ceiling_s += c
    config.ceiling_n += chunk
    config.engine_s += e


def finish(config: Configuration, args: argparse.Namespace) -> Figures:
    if config.pool is not None:
        config.pool.close()
    with config.db.session() as s:
        delivered = s.scalar(select(func.count()).where(QueueItemRow.status == "delivered")) or 0
        attempts = s.scalar(select(func.count()).select_from(DeliveryAttemptRow)) or 0
    config.db.dispose()
    received = config.receiver.counts()
    config.receiver.stop()
    return Figures(
        config.database,
        config.engines,
        args.items,
        config.engine_s,
        config.ceiling_s,
        config.ceiling_n,
        delivered,
        attempts,
        received,
    )


def report(results: list[Figures], args: argparse.Namespace, httpx_s: float | None) -> bool:
    print(f"concurrency {args.concurrency} per engine, {args.items} items, receiver in a separate process")
    base = next((f for f in results if f.database == "sqlite" and f.engines == 1), None)
    print(
        f"{'configuration':24s} {'deliveries/s':>12s} {'ceiling/s':>10s} {'/ceiling':>9s} {'/sqlite':>8s}  checks"
    )
    for f in results:
        vs_sqlite = f"{f.rate / base.rate:8.2f}" if base is not None else "       -"
        checks = (
            f"{f.delivered} delivered, {f.attempts} attempts, receiver: {f.received.distinct} items, "
            f"{f.received.repeated} twice"
        )
        name = f"{f.database}, {f.engines} engine{'s' if f.engines > 1 else ''}"
        print(
            f"{name:24s} {f.rate:12.0f} {f.ceiling_rate:10.0f} {f.rate / f.ceiling_rate:9.2f} {vs_sqlite}  {checks}"
        )
    if httpx_s is not None:
        print(
            f"bare httpx.AsyncClient ({args.httpx_items} requests): {args.httpx_items / httpx_s:8.0f} requests/s"
        )
    ok = all(f.exact for f in results)
    print("every item delivered once in every configuration:", "yes" if ok else "NO")
    if base is not None:
        target = base.rate >= 1000 and base.rate / base.ceiling_rate >= 0.5
        print("target sqlite (>= 1,000/s and >= 0.5 x ceiling):", "met" if target else "NOT met")
        ok = ok and target
    pg = next((f for f in results if f.database == "postgres" and f.engines == 1), None)
    if pg is not None and base is not None:
        target = pg.rate >= 0.5 * base.rate
        print("target postgres, one engine (>= 0.5 x sqlite):", "met" if target else "NOT met")
        ok = ok and target
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4, help="alternate engine and ceiling this many times")
    parser.add_argument("--httpx-items", type=int, default=2000, help="0 skips the httpx figure")
    parser.add_argument("--databases", default="sqlite", help="sqlite, postgres or sqlite,postgres")
    parser.add_argument(
        "--engines", default="1", help="engines on one PostgreSQL database: 1, 2 or 1,2 (SQLite: always 1)"
    )
    parser.add_argument(
        "--pg-fsync-off",
        action="store_true",
        help="run the throwaway server with fsync=off (UNSAFE; printed)",
    )
    args = parser.parse_args()
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    engine_counts = sorted({int(n) for n in args.engines.split(",")})
    if not set(databases) <= {"sqlite", "postgres"} or not engine_counts or min(engine_counts) < 1:
        parser.error("--databases takes sqlite and/or postgres, --engines positive numbers")
    tune_process()  # as `serve` does (the receiver process is spawned: it starts untuned)

    configs: list[Configuration] = []
    httpx_s = None
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        try:
            if "sqlite" in databases:
                configs.append(prepare("sqlite", 1, f"sqlite:///{tmp}/bench.sqlite3", args))
            if "postgres" in databases:
                cluster = stack.enter_context(start_postgres(args.pg_fsync_off))
                for engines in engine_counts:
                    configs.append(prepare("postgres", engines, cluster.new_database_url(), args))

            async def measure() -> float | None:
                # the machine is shared: every configuration runs a chunk in every round, so all see
                # the same load (and each engine chunk follows its own ceiling chunk)
                for r in range(1, args.rounds + 1):
                    for config in configs:
                        await run_round(config, r, args)
                if not args.httpx_items:
                    return None
                return await run_bare_httpx(configs[0].receiver.url, args.httpx_items, args.concurrency)

            httpx_s = asyncio.run(measure())
        finally:
            results = [finish(config, args) for config in configs]
    return 0 if report(results, args, httpx_s) else 1


if __name__ == "__main__":
    sys.exit(main())
