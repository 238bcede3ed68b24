"""Ingest throughput: single events to POST /events vs. a bare route on the same aiohttp server.

The real listener + intake batching (one matching trigger, SQLite in WAL with synchronous=FULL, group commit)
run in this process on a free port; a concurrent aiohttp client runs in a separate process and posts
single events for N seconds, then the same requests to ``/bare`` (answers 200, touches nothing). The
phases alternate so both see the same machine load. At the end every 202 is checked against the database.

With ``--databases sqlite,postgres`` the same runs on a throwaway PostgreSQL server (default settings) too,
with ``--engines 1,2`` once with one engine and once with two on the same database (the second in a process
of its own, as on another workstation; the client's concurrency is split between the two listeners). All
configurations are started first and run their phases in every round, one after another, so a shared
machine's changing load hits them alike.

    python3 benchmarks/ingest.py [--seconds 5] [--concurrency 64] [--rounds 2]
                                 [--databases sqlite,postgres] [--engines 1,2] [--pg-fsync-off]

Target (issue 2): >= 2,000 accepted events/s and >= 0.4 x the bare route.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from multiprocessing.connection import Connection  # noqa: E402
from multiprocessing.process import BaseProcess  # noqa: E402

from aiohttp import web  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from benchmarks.engine_processes import start_postgres  # noqa: E402
from shopctrl_desktop.config import Settings  # noqa: E402
from shopctrl_desktop.domain.model import Trigger, WebhookAction  # noqa: E402
from shopctrl_desktop.engine.service import Engine  # noqa: E402
from shopctrl_desktop.paths import AppPaths, resolve_paths  # noqa: E402
from shopctrl_desktop.runtime import tune_process  # noqa: E402
from shopctrl_desktop.store.db import Database  # noqa: E402
from shopctrl_desktop.store.models import EventRow, QueueItemRow  # noqa: E402
from shopctrl_desktop.store.secrets import SecretBox, load_secret_box  # noqa: E402
from shopctrl_desktop.store.triggers import save_trigger  # noqa: E402
from tests.helpers.postgres import PostgresCluster  # noqa: E402


def event_body(n: int) -> bytes:
    return json.dumps(
        {
            "event": "OrderChanged",
            "shopId": 3,
            "occurredAt": "2026-11-28T10:00:00Z",
            "data": {
                "Order": {
                    "Id": 1000 + n,
                    "OrderCode": f"ORD-{1000 + n}",
                    "TotalDue": 12.5,
                    "Customer": {"Email": "a@b.example"},
                    "OrderRow": [{"ProductCode": "SKU-1", "ItemQuantity": 2}],
                }
            },
        }
    ).encode()


# --- client process ----------------------------------------------------------------------------------
async def _aiohttp_client(
    url: str, token: str, path: str, seconds: float, concurrency: int, offset: int
) -> dict:
    """The client of the brief: aiohttp.ClientSession with ``concurrency`` requests in flight."""
    import aiohttp

    bodies = [event_body(offset + n) for n in range(1000)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(url, connector=connector, headers=headers) as session:
        start = time.perf_counter()
        stop_at = start + seconds
        counter = 0

        async def worker() -> None:
            nonlocal counter
            while time.perf_counter() < stop_at:
                body = bodies[counter % 1000]
                counter += 1
                t0 = time.perf_counter()
                async with session.post(path, data=body) as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return _summary(statuses, latencies, elapsed)


def _summary(statuses: dict[int, int], latencies: list[float], elapsed: float) -> dict:
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000 if latencies else 0.0
    p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0
    return {"statuses": statuses, "elapsed": elapsed, "p50": p50, "p99": p99}


async def _raw_client(url: str, token: str, path: str, seconds: float, concurrency: int, offset: int) -> dict:
    """Keep-alive HTTP/1.1 over plain asyncio streams: about 5x cheaper per request than aiohttp's
    client, so the server's own cost is what gets measured (``--client raw``)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    requests = []
    for n in range(1000):
        body = event_body(offset + n)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    start = time.perf_counter()
    stop_at = start + seconds

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        n = index
        try:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                writer.write(requests[n % 1000])
                n += concurrency
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(time.perf_counter() - t0)
        finally:
            writer.close()

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return _summary(statuses, latencies, time.perf_counter() - start)


CLIENTS = {"aiohttp": _aiohttp_client, "raw": _raw_client}


def _client_process(kind: str, args: tuple, queue: mp.Queue) -> None:
    queue.put(asyncio.run(CLIENTS[kind](*args)))


async def run_phase(
    url: str, token: str, path: str, seconds: float, concurrency: int, offset: int, client: str = "aiohttp"
) -> dict:
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(
        target=_client_process, args=(client, (url, token, path, seconds, concurrency, offset), queue)
    )
    proc.start()
    result = await asyncio.get_running_loop().run_in_executor(None, queue.get)
    await asyncio.get_running_loop().run_in_executor(None, proc.join)
    return result


async def run_phases(
    servers: list[tuple[str, str]], path: str, seconds: float, concurrency: int, offset: int, client: str
) -> dict:
    """One client process per server, ``concurrency`` split between them, at the same time; the sum."""
    share = max(1, concurrency // len(servers))
    results = await asyncio.gather(
        *(
            run_phase(url, token, path, seconds, share, offset + n * 10_000, client)
            for n, (url, token) in enumerate(servers)
        )
    )
    statuses: dict[int, int] = {}
    for result in results:
        for status, count in result["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    return {
        "statuses": statuses,
        "elapsed": max(r["elapsed"] for r in results),
        "p50": max(r["p50"] for r in results),
        "p99": max(r["p99"] for r in results),
    }


# --- servers (this process, and one process per further engine) ----------------------------------------
async def _bare(request: web.Request) -> web.Response:
    return web.Response(status=200)


def start_engine(db: Database, box: SecretBox, data_dir: str) -> tuple[Engine, AppPaths]:
    """The listener + intake of `serve` (no delivery), with the benchmark's bare route beside it."""
    paths = resolve_paths(data_dir).ensure()
    engine = Engine(db, box, Settings(listen_host="127.0.0.1", listen_port=0), paths, deliver=False)
    assert engine.listener is not None
    engine.listener.app.router.add_post("/bare", _bare)
    return engine, paths


def _server_main(url: str, box: SecretBox, conn: Connection) -> None:
    """Another engine on the same database, in a process of its own (another workstation)."""
    tune_process()

    async def main() -> None:
        with tempfile.TemporaryDirectory(prefix="shopctrl-bench-") as tmp:
            db = Database(url, migrate=False)
            engine, paths = start_engine(db, box, tmp)
            await engine.start()
            conn.send((f"http://{engine.listener_address}", paths.token_file.read_text().strip()))
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop
            await engine.stop()
            conn.send((engine.intake.groups_committed, engine.intake.events_committed))
            db.dispose()

    asyncio.run(main())


def new_database(database: str, tmp: str, cluster: PostgresCluster | None) -> str:
    if database == "sqlite":
        return f"sqlite:///{resolve_paths(tmp).ensure().database_file}"
    assert cluster is not None
    return cluster.new_database_url()


@dataclass
class Configuration:
    """A database with one trigger and its listener(s): this process's engine plus ``engines - 1`` more."""

    database: str
    engines: int
    db: Database
    tmp: tempfile.TemporaryDirectory
    engine: Engine
    servers: list[tuple[str, str]]  # (url, token) per listener
    others: list[tuple[BaseProcess, Connection]]
    totals: dict[str, list[float]] = field(default_factory=lambda: {"/events": [0, 0.0], "/bare": [0, 0.0]})

    @property
    def name(self) -> str:
        return f"{self.database}, {self.engines} engine{'s' if self.engines > 1 else ''}"


async def prepare(database: str, engines: int, db_url: str) -> Configuration:
    tmp = tempfile.TemporaryDirectory(prefix="shopctrl-bench-")
    db = Database(db_url)
    box = load_secret_box(resolve_paths(tmp.name).ensure().data_dir, use_keyring=False)
    with db.session() as s:
        save_trigger(
            s,
            box,
            Trigger(
                title="ERP", event="OrderChanged", actions=(WebhookAction(url="https://erp.example/hook"),)
            ),
        )
    engine, paths = start_engine(db, box, tmp.name)
    await engine.start()
    servers = [(f"http://{engine.listener_address}", paths.token_file.read_text().strip())]
    others: list[tuple[BaseProcess, Connection]] = []
    ctx = mp.get_context("spawn")
    for _ in range(engines - 1):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_server_main, args=(db_url, box, child), daemon=True)
        proc.start()
        others.append((proc, parent))
        servers.append(parent.recv())
    print(f"[{database}, {engines} engine(s)] listeners {', '.join(u for u, _ in servers)}")
    return Configuration(database, engines, db, tmp, engine, servers, others)


async def run_round(config: Configuration, r: int, args: argparse.Namespace) -> None:
    for path in args.phases.split(","):
        cpu = time.process_time()
        result = await run_phases(
            config.servers, path, args.seconds, args.concurrency, r * 100_000, args.client
        )
        cpu = time.process_time() - cpu
        ok = result["statuses"].get(202 if path == "/events" else 200, 0)
        others_statuses = {k: v for k, v in result["statuses"].items() if k not in (200, 202)}
        config.totals[path][0] += ok
        config.totals[path][1] += result["elapsed"]
        print(
            f"  round {r + 1} {config.name:20s} {path:8s} {ok / result['elapsed']:8.0f}/s  p50 {result['p50']:.1f} ms"
            f"  p99 {result['p99']:.1f} ms  server CPU {cpu / max(ok, 1) * 1e6:.0f} µs/request"
            + (" (this process's engine only)" if config.engines > 1 else "")
            + (f"  other statuses {others_statuses}" if others_statuses else "")
        )


async def finish(config: Configuration) -> dict:
    groups, committed = config.engine.intake.groups_committed, config.engine.intake.events_committed
    await config.engine.stop()
    for proc, conn in config.others:
        conn.send("stop")
        more_groups, more_committed = conn.recv()
        groups, committed = groups + more_groups, committed + more_committed
        proc.join(30)
    with config.db.session() as s:
        stored = s.scalar(select(func.count()).select_from(EventRow))
        items = s.scalar(select(func.count()).select_from(QueueItemRow))
    config.db.dispose()
    config.tmp.cleanup()
    totals = config.totals
    return {
        "database": config.database,
        "engines": config.engines,
        "events_rate": totals["/events"][0] / max(totals["/events"][1], 1e-9),
        "bare_rate": totals["/bare"][0] / max(totals["/bare"][1], 1e-9) or float("nan"),
        "accepted": totals["/events"][0],
        "stored": stored,
        "items": items,
        "groups": groups,
        "committed": committed,
    }


async def main(args: argparse.Namespace) -> int:
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    engine_counts = sorted({int(n) for n in args.engines.split(",")})
    load_start = os.getloadavg()
    configs: list[Configuration] = []
    with tempfile.TemporaryDirectory(prefix="shopctrl-bench-") as tmp, contextlib.ExitStack() as stack:
        try:
            if "sqlite" in databases:
                configs.append(await prepare("sqlite", 1, new_database("sqlite", tmp, None)))
            if "postgres" in databases:
                cluster = stack.enter_context(start_postgres(args.pg_fsync_off))
                for engines in engine_counts:
                    configs.append(await prepare("postgres", engines, new_database("postgres", tmp, cluster)))
            print(
                f"client: separate process(es), concurrency {args.concurrency} in all, {args.seconds:.0f} s per "
                f"phase, {args.rounds} round(s); every configuration runs in every round (same machine load)"
            )
            for r in range(args.rounds):
                for config in configs:
                    await run_round(config, r, args)
        finally:
            results = [await finish(config) for config in configs]
    return 0 if report(results, load_start) else 1


def report(results: list[dict], load_start: tuple[float, float, float]) -> bool:
    load = os.getloadavg()
    print(
        f"machine load average now {load[0]:.2f} (1 min), {load[1]:.2f} (5 min) on {os.cpu_count()} CPUs; "
        f"at start {load_start[0]:.2f} — other processes take CPU from both phases alike"
    )
    base = next((r for r in results if r["database"] == "sqlite" and r["engines"] == 1), None)
    print(f"{'configuration':24s} {'events/s':>9s} {'bare/s':>8s} {'/bare':>6s} {'/sqlite':>8s}  durable")
    ok = True
    for r in results:
        exact = r["stored"] == r["accepted"] == r["items"]
        ok = ok and exact
        vs_sqlite = f"{r['events_rate'] / base['events_rate']:8.2f}" if base else "       -"
        name = f"{r['database']}, {r['engines']} engine{'s' if r['engines'] > 1 else ''}"
        print(
            f"{name:24s} {r['events_rate']:9.0f} {r['bare_rate']:8.0f} {r['events_rate'] / r['bare_rate']:6.2f} "
            f"{vs_sqlite}  {r['accepted']} x 202 -> {r['stored']} events, {r['items']} queue items"
            f"{'' if exact else ' (NOT exact)'}; {r['groups']} commits "
            f"({r['committed'] / max(r['groups'], 1):.1f} events per commit)"
        )
    print("every 202 stored exactly once in every configuration:", "yes" if ok else "NO")
    if base is not None:
        target = base["events_rate"] >= 2000 and base["events_rate"] / base["bare_rate"] >= 0.4
        print("target sqlite (>= 2,000 events/s and >= 0.4 x bare):", "met" if target else "NOT met")
        ok = ok and target
    pg = next((r for r in results if r["database"] == "postgres" and r["engines"] == 1), None)
    if pg is not None and base is not None:
        target = pg["events_rate"] >= 0.5 * base["events_rate"]
        print("target postgres, one engine (>= 0.5 x sqlite):", "met" if target else "NOT met")
        ok = ok and target
    return ok


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--client",
        choices=sorted(CLIENTS),
        default="aiohttp",
        help="aiohttp (the default: an aiohttp.ClientSession) or raw (plain asyncio streams, far cheaper per "
        "request, so the server's own cost decides the bare route's rate)",
    )
    parser.add_argument(
        "--phases", default="/bare,/events", help=argparse.SUPPRESS
    )  # e.g. /events for profiling
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
    tune_process()  # as `serve` does (the client processes are spawned: they start untuned)
    raise SystemExit(asyncio.run(main(args)))
