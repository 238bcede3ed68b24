"""A legitimate client's latency and the listener's memory while slow connections flood a real ``serve``.

A real ``serve`` process (SQLite, one trigger) listens on a free port. Attacker processes open connections as
fast as they can and send headers that never finish (slowloris; no token needed), re-opening every one the
server closes; at the same time this process posts one real event at a time and times each answer. First
a baseline without attackers, then the attack, then a quiet phase after the attackers leave (is the memory
given back?). Printed: latency p50 / worst per phase, the ratio attack/baseline, serve's RSS per phase, the
connections the attackers had open.

    python3 benchmarks/slowloris.py [--connections 20000] [--seconds 15]

Target (issue 15): a legitimate client is served within 1 s while 20,000 slow connections are attempted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from tests.helpers.processes import cli, start_serve  # noqa: E402

PARTIAL = b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: "


def _attacker(host: str, port: int, connections: int, seconds: float, opened: mp.Value) -> None:  # type: ignore[valid-type]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def one(deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            with opened.get_lock():
                opened.value += 1
            try:
                writer.write(PARTIAL)
                while time.monotonic() < deadline:  # a byte every 2 s, never the end of the headers
                    try:
                        data = await asyncio.wait_for(reader.read(1), 2.0)
                    except TimeoutError:
                        writer.write(b"a")
                        continue
                    if data == b"" or data.startswith(b"H"):
                        break  # closed by the server (or refused with a 503): open another
            except OSError:
                pass
            finally:
                writer.close()

    async def main() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(one(deadline) for _ in range(connections)), return_exceptions=True)

    asyncio.run(main())


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _post_loop(
    client: aiohttp.ClientSession, address: str, token: str, seconds: float, first: int = 0
) -> list[float]:
    """One event at a time for ``seconds``; each answer's latency (a failure counts as the time it took)."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    deadline = time.monotonic() + seconds
    n = first
    while time.monotonic() < deadline:
        n += 1
        body = json.dumps({"event": "OrderChanged", "data": {"Order": {"Id": n, "OrderCode": f"O-{n}"}}})
        start = time.perf_counter()
        try:
            async with client.post(f"http://{address}/events", data=body, headers=headers) as resp:
                await resp.read()
                ok = resp.status == 202
        except aiohttp.ClientError:
            ok = False
        latencies.append(time.perf_counter() - start if ok else float("inf"))
        await asyncio.sleep(0.1)
    return latencies


def _session(fresh: bool = False) -> aiohttp.ClientSession:
    """``fresh``: a new TCP connection for every event (a client that does not keep its connection)."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=30), connector=aiohttp.TCPConnector(force_close=fresh)
    )


async def _legitimate(address: str, token: str, seconds: float) -> list[float]:
    async with _session() as client:
        return await _post_loop(client, address, token, seconds)


def _summary(name: str, latencies: list[float], rss: float) -> float:
    finite = [x for x in latencies if x != float("inf")]
    failed = len(latencies) - len(finite)
    worst = max(latencies) if latencies else float("nan")
    p50 = statistics.median(finite) * 1000 if finite else float("nan")
    print(
        f"{name:<10} {len(latencies):>5} posts  p50 {p50:7.1f} ms  worst {worst * 1000:8.1f} ms  "
        f"failed {failed}  serve RSS {rss:6.1f} MB"
    )
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--connections", type=int, default=20_000, help="slow connections at once (all attackers)"
    )
    parser.add_argument("--attackers", type=int, default=2, help="attacker processes")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="shopctrl-slowloris-") as tmp:
        data = Path(tmp)
        triggers = data / "triggers.json"
        hook = {"type": "callWebhook", "url": "http://127.0.0.1:9/hook"}
        triggers.write_text(
            json.dumps(
                {"version": 1, "triggers": [{"title": "ERP", "event": "OrderChanged", "actions": [hook]}]}
            )
        )
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        result = cli(data, "triggers", "import", str(triggers), env=env)
        assert result.returncode == 0, result.stderr
        proc, address = start_serve(data, env)
        try:
            token = (data / "api-token").read_text().strip()
            host, port = address.rsplit(":", 1)
            print(
                f"serve pid {proc.pid} on {address}; {args.connections:,} slow connections from "
                f"{args.attackers} processes for {args.seconds:.0f} s"
            )
            base = _summary("baseline", asyncio.run(_legitimate(address, token, 3)), _rss_mb(proc.pid))

            ctx = mp.get_context("spawn")
            opened = ctx.Value("q", 0)
            per = args.connections // args.attackers
            attackers = [
                ctx.Process(target=_attacker, args=(host, int(port), per, args.seconds + 3, opened))
                for _ in range(args.attackers)
            ]

            async def attack() -> tuple[list[float], list[float]]:
                """Two clients during the flood: the back office's, connected before it and kept alive, and
                one that connects anew for every event (its connect queues with the flood's)."""
                async with _session() as kept, _session(fresh=True) as fresh:
                    await _post_loop(kept, address, token, 0.01, first=500_000)  # connected before the flood
                    for a in attackers:
                        a.start()
                    await asyncio.sleep(3)  # let the flood build up before measuring
                    return await asyncio.gather(
                        _post_loop(kept, address, token, args.seconds - 1, first=600_000),
                        _post_loop(fresh, address, token, args.seconds - 1, first=700_000),
                    )

            during, during_fresh = asyncio.run(attack())
            rss_during = _rss_mb(proc.pid)
            worst = _summary("attack", during, rss_during)
            worst_fresh = _summary("new conns", during_fresh, rss_during)
            for a in attackers:
                a.join()
            time.sleep(12)  # the server's header timeout (10 s) has closed whatever was left
            _summary("after", asyncio.run(_legitimate(address, token, 2)), _rss_mb(proc.pid))
            print(f"slow connections opened in all: {opened.value:,}")
            print(f"worst latency under attack / baseline worst: {worst / base:.1f}x")
            print(
                f"a client connecting anew for every event during the attack: worst {worst_fresh * 1000:.0f} ms"
                " (its TCP connect waits in the kernel's accept queue behind the flood's)"
            )
            print(
                "target met" if worst < 1.0 else "target NOT met",
                "(a legitimate client, connected as the back office is, served within 1 s)",
            )
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
