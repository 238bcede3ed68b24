"""``serve`` end to end through its public contract only (issue 16), against the bare aiohttp client.

Three processes: ``shopctrl-desktop serve`` (started as a user would, with ``settings.json`` setting the
in-flight limits to the bare client's: concurrency 16, per-host limit 16), an aiohttp client process, and
an aiohttp receiver process (benchmarks/receiver.py) counting the deliveries. One trigger, one Call
Webhook action to the receiver, imported with ``triggers import``. Each round runs, alternately:

* **e2e**: the client posts ``--events`` events to ``serve`` in batches of ``--batch`` (16 in flight);
  timed from the first post to the last delivery at the receiver. **bare**: the same client posts as many
  single requests straight to the receiver, 16 in flight.
* **ingest while delivering**: ``--singles`` single events at concurrency 32 to ``serve`` (deliveries run
  meanwhile), accepted events/s at the client; **bare**: the same requests straight to the receiver.

Then the **latency** phase: single events at ``--rate`` per second for ``--latency-seconds``, each carrying
its send time; the receiver notes event -> arrival. ``--rounds 3`` prints every round and the median.

    python3 benchmarks/serve_e2e.py [--workers N] [--rounds 3] [--events 10000] [--singles 6000]

Targets (issue 16): e2e >= 0.45 x bare, ingest while delivering >= 0.4 x bare, latency p50 < 10 ms and
p99 < 100 ms at 50 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.receiver import ReceiverProcess  # noqa: E402

LIMIT = 16  # in flight: the bare client's and serve's (settings.json)


def event(n: int, sent_at: float | None = None) -> dict:
    code = f"ORD-{n}" if sent_at is None else f"SentAt:{sent_at:.6f}"  # in the default payload's entityData
    order = {"Id": n, "OrderCode": code, "TotalDue": 12.5, "Customer": {"Email": "a@b.example"}}
    return {"event": "OrderChanged", "shopId": 3, "data": {"Order": order}}


# --- the client process --------------------------------------------------------------------------------
async def _post_all(
    url: str, headers: dict, bodies: list[bytes], concurrency: int
) -> tuple[float, float, int]:
    """Post every body with ``concurrency`` in flight; (wall-clock start, end, requests answered 2xx)."""
    import aiohttp

    ok = 0
    queue = list(reversed(bodies))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        start = time.time()

        async def worker() -> None:
            nonlocal ok
            while queue:
                body = queue.pop()
                async with session.post(url, data=body) as resp:
                    await resp.read()
                    ok += resp.status < 300

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return start, time.time(), ok


async def _paced(url: str, headers: dict, rate: float, seconds: float, first: int) -> int:
    import aiohttp

    async with aiohttp.ClientSession(headers=headers) as session:
        start = time.perf_counter()
        n = 0
        while (due := start + n / rate) < start + seconds:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            body = json.dumps(event(first + n, time.time())).encode()
            async with session.post(url, data=body) as resp:
                await resp.read()
            n += 1
        return n


def _client_main(conn: Connection) -> None:
    while (job := conn.recv()) != "stop":
        kind, url, token, args = job
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if kind == "paced":
            conn.send(asyncio.run(_paced(url, headers, *args)))
            continue
        first, count, batch, concurrency = args
        if batch > 1:
            bodies = [
                json.dumps([event(first + i + j) for j in range(min(batch, count - i))]).encode()
                for i in range(0, count, batch)
            ]
        else:
            bodies = [json.dumps(event(first + i)).encode() for i in range(count)]
        conn.send(asyncio.run(_post_all(url, headers, bodies, concurrency)))


# --- serve ---------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shopctrl_desktop", "--data-dir", str(data), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def start_serve(data: Path, receiver_url: str, workers: int | None) -> tuple[subprocess.Popen[str], str]:
    data.mkdir(parents=True)
    port = _free_port()
    settings = {"listen_host": "127.0.0.1", "listen_port": port}
    settings |= {"concurrency": LIMIT, "per_host_concurrency": LIMIT}
    (data / "settings.json").write_text(json.dumps(settings))
    triggers = data.parent / "triggers.json"
    action = {"type": "callWebhook", "url": receiver_url}
    document = {"version": 1, "triggers": [{"title": "ERP", "event": "OrderChanged", "actions": [action]}]}
    triggers.write_text(json.dumps(document))
    done = _cli(data, "triggers", "import", str(triggers))
    assert done.returncode == 0, done.stderr
    extra = ["--workers", str(workers)] if workers else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "shopctrl_desktop", "--data-dir", str(data), "serve", *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        line = proc.stdout.readline() if ready else ""
        if match := re.search(r"listening on http://(\S+)", line):
            return proc, match.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("serve did not start")


def wait_delivered(receiver: ReceiverProcess, distinct: int, timeout: float = 600.0) -> float:
    """Wall-clock time at which the receiver had ``distinct`` deliveries (polled every 5 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = receiver.counts()
        if counts.distinct >= distinct:
            return time.time()
        time.sleep(0.005)
    raise SystemExit(f"only {receiver.counts().distinct} of {distinct} deliveries arrived")


# --- the measurement -----------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> None:
    receiver = ReceiverProcess.start()
    parent, child = mp.Pipe()
    client = mp.get_context("spawn").Process(target=_client_main, args=(child,), daemon=True)
    client.start()
    with tempfile.TemporaryDirectory(prefix="serve-e2e-") as tmp:
        data = Path(tmp) / "data"
        proc, address = start_serve(data, receiver.url, args.workers)
        token = (data / "api-token").read_text().strip()
        events_url = f"http://{address}/events"
        rows: list[tuple[float, float, float, float]] = []
        first = 0
        try:
            for round_no in range(1, args.rounds + 1):
                receiver.reset()  # e2e: posted in batches, timed to the last delivery
                parent.send(("post", events_url, token, (first, args.events, args.batch, LIMIT)))
                start, _, _ = parent.recv()
                serve_e2e = args.events / (wait_delivered(receiver, args.events) - start)
                first += args.events
                receiver.reset()
                parent.send(("post", receiver.url, "", (0, args.events, 1, LIMIT)))
                start, end, ok = parent.recv()
                bare_e2e = ok / (end - start)
                receiver.reset()  # single events accepted while the deliveries run
                parent.send(("post", events_url, token, (first, args.singles, 1, 32)))
                start, end, ok = parent.recv()
                serve_in = ok / (end - start)
                wait_delivered(receiver, args.singles)
                first += args.singles
                receiver.reset()
                parent.send(("post", receiver.url, "", (0, args.singles, 1, 32)))
                start, end, ok = parent.recv()
                bare_in = ok / (end - start)
                rows.append((serve_e2e, bare_e2e, serve_in, bare_in))
                print(
                    f"round {round_no}: e2e {serve_e2e:,.0f}/s vs bare {bare_e2e:,.0f}/s = "
                    f"{serve_e2e / bare_e2e:.2f}; ingest while delivering {serve_in:,.0f}/s vs bare "
                    f"{bare_in:,.0f}/s = {serve_in / bare_in:.2f}",
                    flush=True,
                )
            receiver.reset()
            receiver.latencies()
            parent.send(("paced", events_url, token, (args.rate, args.latency_seconds, first)))
            sent = parent.recv()
            wait_delivered(receiver, sent)
            latencies = sorted(receiver.latencies())
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
            parent.send("stop")
            client.join(10)
            receiver.stop()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(f"median of {len(rows)} round(s), serve --workers {args.workers or 'default'}:")
    if rows:  # --rounds 0: the latency phase only
        _print_ratios(args, rows)
    print(
        f"  latency event -> receiver at {args.rate:g}/s ({len(latencies)} events): p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms"
    )
    print(f"  serve stopped with exit code {code}")


def _print_ratios(args: argparse.Namespace, rows: list[tuple[float, float, float, float]]) -> None:
    med = [statistics.median(column) for column in zip(*rows, strict=True)]
    print(
        f"  events posted and delivered ({args.events:,}, batches of {args.batch:,}): serve "
        f"{med[0]:,.0f}/s, bare {med[1]:,.0f}/s, ratio {statistics.median(r[0] / r[1] for r in rows):.2f}"
    )
    print(
        f"  single events accepted while deliveries run ({args.singles:,}, concurrency 32): serve "
        f"{med[2]:,.0f}/s, bare {med[3]:,.0f}/s, ratio {statistics.median(r[2] / r[3] for r in rows):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None, help="serve --workers (default: serve's own)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--singles", type=int, default=6_000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
