"""Ingest throughput: single events to POST /events vs. a bare route on the same aiohttp server.

The real listener + intake batching (one matching trigger, SQLite in WAL with synchronous=FULL, group commit)
run in this process on a free port; a concurrent aiohttp client runs in a separate process and posts
single events for N seconds, then the same requests to ``/bare`` (answers 200, touches nothing). The
phases alternate so both see the same machine load. At the end every 202 is checked against the database.

    python3 benchmarks/ingest.py [--seconds 5] [--concurrency 64] [--rounds 2]

Target (issue 2): >= 2,000 accepted events/s and >= 0.4 x the bare route.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from shopctrl_desktop.config import Settings  # noqa: E402
from shopctrl_desktop.domain.model import Trigger, WebhookAction  # noqa: E402
from shopctrl_desktop.engine.service import Engine  # noqa: E402
from shopctrl_desktop.paths import resolve_paths  # noqa: E402
from shopctrl_desktop.runtime import tune_process  # noqa: E402
from shopctrl_desktop.store.db import Database  # noqa: E402
from shopctrl_desktop.store.models import EventRow, QueueItemRow  # noqa: E402
from shopctrl_desktop.store.secrets import load_secret_box  # noqa: E402
from shopctrl_desktop.store.triggers import save_trigger  # noqa: E402


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


# --- server (this process) ---------------------------------------------------------------------------
async def main(args: argparse.Namespace) -> int:
    tmp = tempfile.TemporaryDirectory(prefix="shopctrl-bench-")
    paths = resolve_paths(tmp.name).ensure()
    db = Database(f"sqlite:///{paths.database_file}")
    box = load_secret_box(paths.data_dir, use_keyring=False)
    with db.session() as s:
        save_trigger(
            s,
            box,
            Trigger(
                title="ERP", event="OrderChanged", actions=(WebhookAction(url="https://erp.example/hook"),)
            ),
        )
    engine = Engine(db, box, Settings(listen_host="127.0.0.1", listen_port=0), paths, deliver=False)

    async def bare(request: web.Request) -> web.Response:
        return web.Response(status=200)

    assert engine.listener is not None
    engine.listener.app.router.add_post("/bare", bare)
    await engine.start()
    url = f"http://{engine.listener_address}"
    load_start = os.getloadavg()
    token = paths.token_file.read_text().strip()
    print(
        f"server {url}  client: separate process, concurrency {args.concurrency}, {args.seconds:.0f} s per phase, "
        f"{args.rounds} round(s)"
    )
    totals = {"/events": [0, 0.0], "/bare": [0, 0.0]}
    accepted = 0
    try:
        for r in range(args.rounds):
            for path in args.phases.split(","):
                cpu = time.process_time()
                result = await run_phase(
                    url, token, path, args.seconds, args.concurrency, r * 100_000, args.client
                )
                cpu = time.process_time() - cpu
                ok = result["statuses"].get(202 if path == "/events" else 200, 0)
                others = {k: v for k, v in result["statuses"].items() if k not in (200, 202)}
                totals[path][0] += ok
                totals[path][1] += result["elapsed"]
                if path == "/events":
                    accepted += ok
                print(
                    f"  round {r + 1} {path:8s} {ok / result['elapsed']:8.0f}/s  p50 {result['p50']:.1f} ms  "
                    f"p99 {result['p99']:.1f} ms  server CPU {cpu / max(ok, 1) * 1e6:.0f} µs/request"
                    + (f"  other statuses {others}" if others else "")
                )
    finally:
        groups, committed = engine.intake.groups_committed, engine.intake.events_committed
        await engine.stop()
    with db.session() as s:
        stored = s.scalar(select(func.count()).select_from(EventRow))
        items = s.scalar(select(func.count()).select_from(QueueItemRow))
    db.dispose()
    tmp.cleanup()
    events_rate = totals["/events"][0] / max(totals["/events"][1], 1e-9)
    bare_rate = totals["/bare"][0] / max(totals["/bare"][1], 1e-9) or float("nan")
    ratio = events_rate / bare_rate
    load = os.getloadavg()
    print(
        f"machine load average now {load[0]:.2f} (1 min), {load[1]:.2f} (5 min) on {os.cpu_count()} CPUs; "
        f"at start {load_start[0]:.2f} — other processes take CPU from both phases alike"
    )
    print(f"accepted events/s : {events_rate:8.0f}   (target >= 2000)")
    print(f"bare route/s      : {bare_rate:8.0f}")
    print(f"ratio             : {ratio:8.2f}   (target >= 0.40)")
    print(
        f"durable: {accepted} x 202 -> {stored} events, {items} queue items in the database; "
        f"{groups} commits ({committed / max(groups, 1):.1f} events per commit)"
    )
    ok = stored == accepted == items and events_rate >= 2000 and ratio >= 0.4
    print("PASS" if ok else "BELOW TARGET")
    return 0 if ok else 1


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
    args = parser.parse_args()
    tune_process()  # as `serve` does (the client processes are spawned: they start untuned)
    raise SystemExit(asyncio.run(main(args)))
