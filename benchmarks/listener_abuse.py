"""The listener under abuse (issue 13, item 5): what each bad request gets, how long the server takes, its
memory, and a legitimate client's latency throughout.

A real ``serve`` process (SQLite, one trigger) listens on a free port. Throughout, this process posts one
real event every 100 ms (a legitimate client) and times each answer, and a thread samples serve's RSS
every 50 ms. In sequence:

1. a quiet baseline (the legitimate client alone);
2. ``--wrong-tokens`` requests with a wrong token (64 at a time over keep-alive connections) — each must be
   a ``401``;
3. bodies over the 1 MiB limit: a 100 MB ``Content-Length`` and a chunked body without one; the client
   keeps sending until the answer comes, so the bytes it got to send bound what the server read;
4. one request each: 10,000-deep nested JSON (arrays and objects), invalid UTF-8, a 300-digit number,
   ``NaN``, ``Infinity``, a lone surrogate — each its status code and time.

Printed: a table (attack, status codes, time, bytes), the legitimate client's p50 and worst per phase, the
ratio to the baseline, serve's RSS before / peak / after, and the machine's load average.

    python3 benchmarks/listener_abuse.py [--wrong-tokens 10000]

Target: every answer a 4xx (or a closed connection), a legitimate client served within 1 s throughout,
RSS bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from tests.helpers.processes import cli, start_serve  # noqa: E402

LIMIT = 1024 * 1024  # Settings.body_limit_bytes


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class RssSampler:
    """serve's RSS every 50 ms on a thread of its own; ``peak()`` since the last ``reset()``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(_rss_mb(self.pid))
            time.sleep(0.05)

    def reset(self) -> None:
        self.samples = []

    def peak(self) -> float:
        return max(self.samples, default=float("nan"))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


class Legitimate:
    """One real event every 100 ms while ``running``; each answer's latency (a failure: infinity)."""

    def __init__(self, address: str, token: str) -> None:
        self.address, self.token = address, token
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        n = 0
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client:
            while not self._stop.is_set():
                n += 1
                body = json.dumps(
                    {"event": "OrderChanged", "data": {"Order": {"Id": n, "OrderCode": f"O-{n}"}}}
                )
                start = time.perf_counter()
                try:
                    async with client.post(
                        f"http://{self.address}/events", data=body, headers=headers
                    ) as resp:
                        await resp.read()
                        ok = resp.status == 202
                        if not ok:
                            self.failures.append(str(resp.status))
                except aiohttp.ClientError as exc:
                    ok = False
                    self.failures.append(type(exc).__name__)
                self.latencies.append(time.perf_counter() - start if ok else float("inf"))
                try:
                    await asyncio.wait_for(self._stop.wait(), 0.1)
                except TimeoutError:
                    pass

    def take(self) -> list[float]:
        taken, self.latencies = self.latencies, []
        return taken

    def stop(self) -> None:
        self._stop.set()


# --------------------------------------------------------------------------------------------- attacks
async def wrong_tokens(address: str, count: int, concurrency: int = 64) -> dict[int, int]:
    statuses: dict[int, int] = {}
    body = json.dumps({"event": "OrderChanged", "data": {"Order": {"Id": 1}}})
    headers = {"Authorization": "Bearer wrong-token-0123456789", "Content-Type": "application/json"}
    left = [count]
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as client:

        async def worker() -> None:
            while left[0] > 0:
                left[0] -= 1
                try:
                    async with client.post(f"http://{address}/events", data=body, headers=headers) as resp:
                        await resp.read()
                        statuses[resp.status] = statuses.get(resp.status, 0) + 1
                except aiohttp.ClientError:
                    statuses[0] = statuses.get(0, 0) + 1  # 0: the connection was closed

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


def _wrong_tokens_main(address: str, count: int, queue) -> None:  # type: ignore[no-untyped-def]
    queue.put(asyncio.run(wrong_tokens(address, count)))


async def in_process(target, *args):  # type: ignore[no-untyped-def]
    """``target(*args, queue)`` in a spawned process (the attacker never shares the legitimate client's loop
    or GIL); what it put in the queue."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue), daemon=True)
    proc.start()
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(None, queue.get)
    await loop.run_in_executor(None, proc.join)
    return result


def oversized(address: str, token: str, *, chunked: bool, total: int = 100_000_000) -> tuple[str, int, float]:
    """Send a body of ``total`` bytes (announced, or chunked without a length) until the server answers;
    returns (status line or "closed", bytes of body this client got to send, seconds to the answer)."""
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    head = (
        f"POST /events HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\n{length}\r\n\r\n"
    ).encode()
    piece = b"[" + b'{"event":"OrderChanged","data":{}},' * 1800  # ~64 KiB of a JSON array, never closed
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
    start = time.perf_counter()
    sock.sendall(head)
    sock.setblocking(False)
    sent = 0
    answer = b""
    import select

    while sent < total:
        readable, writable, _ = select.select([sock], [sock], [], 30)
        if readable:
            try:
                answer = sock.recv(4096)
            except OSError:
                answer = b""
            break
        if writable:
            try:
                sent += sock.send(chunk)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:  # reset by the server
                break
    seconds = time.perf_counter() - start
    sock.close()
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace") if answer else "closed"
    return status, sent, seconds


def nested(depth: int, open_: str, close: str, inner: str = "1") -> str:
    return open_ * depth + inner + close * depth


def single_requests(token: str) -> list[tuple[str, bytes]]:
    def event(value: str) -> bytes:
        return ('{"event":"OrderChanged","data":{"Order":{"Id":1,"X":' + value + "}}}").encode()

    return [
        ("10,000-deep nested arrays", event(nested(10_000, "[", "]"))),
        ("10,000-deep nested objects", event(nested(10_000, '{"a":', "}"))),
        ("invalid UTF-8 in a value", b'{"event":"OrderChanged","data":{"Order":{"Id":1,"Code":"\xff\xfe"}}}'),
        ("a 300-digit number", event("1" + "0" * 299)),
        ("NaN", event("NaN")),
        ("Infinity", event("Infinity")),
        ("1e400", event("1e400")),
        ("a lone surrogate (\\ud800)", event('"\\ud800"')),
        ("a body that is not JSON", b"<xml/>"),
    ]


async def one_request(address: str, token: str, body: bytes) -> tuple[str, float, str]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    start = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client:
        try:
            async with client.post(f"http://{address}/events", data=body, headers=headers) as resp:
                text = await resp.text()
                status = str(resp.status)
        except aiohttp.ClientError as exc:
            status, text = "closed", type(exc).__name__
    try:
        message = json.loads(text).get("message", text)
    except (ValueError, AttributeError):
        message = text
    return status, time.perf_counter() - start, message[:90]


# --------------------------------------------------------------------------------------------- main
def summary(latencies: list[float]) -> tuple[float, float, int]:
    finite = [x for x in latencies if x != float("inf")]
    p50 = statistics.median(finite) * 1000 if finite else float("nan")
    worst = max(latencies) * 1000 if latencies else float("nan")
    return p50, worst, len(latencies) - len(finite)


async def run(address: str, token: str, pid: int, args: argparse.Namespace) -> bool:
    sampler = RssSampler(pid)
    legit = Legitimate(address, token)
    legit_task = asyncio.create_task(legit.run())
    rows: list[tuple[str, str, float, str]] = []  # attack, statuses, seconds, detail
    phases: list[
        tuple[str, list[float], float, float, float]
    ] = []  # name, latencies, rss before, peak, after

    async def phase(name: str, work) -> object:  # type: ignore[no-untyped-def]
        legit.take()
        before = _rss_mb(pid)
        sampler.reset()
        result = await work()
        await asyncio.sleep(0.5)  # the legitimate client's next posts, after the attack
        phases.append((name, legit.take(), before, sampler.peak(), _rss_mb(pid)))
        return result

    async def quiet() -> None:
        await asyncio.sleep(3)

    await phase("baseline", quiet)

    async def tokens() -> None:
        start = time.perf_counter()
        statuses = await in_process(_wrong_tokens_main, address, args.wrong_tokens)
        seconds = time.perf_counter() - start
        shown = "; ".join(f"{n:,} x {s or 'closed'}" for s, n in sorted(statuses.items()))
        rows.append(
            (
                f"{args.wrong_tokens:,} wrong tokens",
                shown,
                seconds,
                f"{args.wrong_tokens / seconds:,.0f} requests/s",
            )
        )

    await phase("wrong tokens", tokens)

    async def bodies() -> None:
        loop = asyncio.get_running_loop()
        for chunked in (False, True):
            status, sent, seconds = await loop.run_in_executor(
                None, lambda c=chunked: oversized(address, token, chunked=c)
            )
            name = "100 MB chunked, no length" if chunked else "100 MB Content-Length"
            rows.append(
                (
                    name,
                    status.removeprefix("HTTP/1.1 "),
                    seconds,
                    f"{sent / 1e6:.2f} MB sent before the answer, socket buffers included (limit {LIMIT / 1e6:.2f} MB)",
                )
            )

    await phase("bodies over the limit", bodies)

    async def singles() -> None:
        for name, body in single_requests(token):
            status, seconds, message = await one_request(address, token, body)
            rows.append((name, status, seconds, message))

    await phase("bad JSON", singles)
    legit.stop()
    await legit_task
    sampler.stop()

    load = os.getloadavg()
    print()
    print(f"{'attack':32} {'answer':28} {'time':>9}  detail")
    for name, statuses, seconds, detail in rows:
        print(f"{name:32} {statuses:28} {seconds * 1000:7.0f} ms  {detail}")
    print()
    base_p50, base_worst, _ = summary(phases[0][1])
    print(
        f"{'phase':24} {'posts':>5} {'p50':>9} {'worst':>10} {'failed':>6}  {'serve RSS before / peak / after':>32}"
    )
    worst_all = 0.0
    for name, latencies, before, peak, after in phases:
        p50, worst, failed = summary(latencies)
        worst_all = max(worst_all, worst)
        print(
            f"{name:24} {len(latencies):5} {p50:7.1f} ms {worst:8.1f} ms {failed:6}  "
            f"{before:8.1f} / {peak:6.1f} / {after:6.1f} MB"
        )
    if legit.failures:
        print("legitimate posts that failed:", ", ".join(legit.failures[:10]))
    all_rss = [p[3] for p in phases]
    print(
        f"legitimate client's worst latency under abuse / baseline worst: {worst_all / base_worst:.1f}x "
        f"(baseline p50 {base_p50:.1f} ms); serve's RSS peak {max(all_rss):.1f} MB, from {phases[0][2]:.1f} MB"
    )
    print(
        f"load average {load[0]:.2f} (1 min), {load[1]:.2f} (5 min) on {os.cpu_count()} CPUs (shared machine)"
    )
    answers = [part.split(" x ")[-1].strip() for r in rows for part in r[1].split("; ")]
    four_xx = all(a[:1] == "4" or a == "closed" for a in answers)
    met = worst_all < 1000 and not legit.failures and four_xx
    print(
        "target met" if met else "target NOT met",
        "(every answer a 4xx or closed; legitimate client within 1 s)",
    )
    return met


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wrong-tokens", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shopctrl-abuse-") as tmp:
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
            print(f"serve pid {proc.pid} on {address}; body limit {LIMIT:,} bytes")
            met = asyncio.run(run(address, token, proc.pid, args))
        finally:
            proc.terminate()
            proc.wait(30)
        return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
