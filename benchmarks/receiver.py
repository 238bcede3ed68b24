"""A local aiohttp receiver for the benchmarks: answers every ``POST /hook`` with 200 "ok", in a process of
its own (spawned, so it shares neither the measured process's loop nor its GIL).

    receiver = ReceiverProcess.start()
    url = receiver.url
    ...
    receiver.counts()   # requests so far, distinct X-ShopCtrl-Delivery ids, ids received more than once
    receiver.reset()    # counts back to zero
    receiver.latencies()  # seconds from the "SentAt:<time.time()>" in each body to its arrival, then cleared
    receiver.stop()

It counts the deliveries per ``X-ShopCtrl-Delivery`` header (the queue item's id; a bare client sends none),
so a benchmark can tell that every item arrived and none arrived twice.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import re
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import NamedTuple


class Counts(NamedTuple):
    requests: int  # every POST, with or without a delivery id
    distinct: int  # distinct X-ShopCtrl-Delivery ids
    repeated: int  # ids that arrived more than once


def _main(conn: Connection) -> None:
    from aiohttp import web

    per_delivery: dict[str, int] = {}
    totals = [0, 0]  # requests, ids received more than once
    latencies: list[float] = []
    sent_at = re.compile(rb"SentAt:([0-9.]+)")

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        if b"SentAt:" in body:  # benchmarks/serve_e2e.py's latency phase (an order code "SentAt:<time>")
            match = sent_at.search(body)
            if match:
                latencies.append(time.time() - float(match.group(1)))
        totals[0] += 1
        delivery = request.headers.get("X-ShopCtrl-Delivery")
        if delivery is not None:
            seen = per_delivery.get(delivery, 0) + 1
            per_delivery[delivery] = seen
            if seen == 2:
                totals[1] += 1
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/hook", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        conn.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]  # noqa: SLF001
        loop = asyncio.get_running_loop()
        while (command := await loop.run_in_executor(None, conn.recv)) != "stop":
            if command == "reset":
                per_delivery.clear()
                totals[:] = [0, 0]
            if command == "latencies":
                conn.send(list(latencies))
                latencies.clear()
                continue
            conn.send(Counts(totals[0], len(per_delivery), totals[1]))
        await runner.cleanup()

    asyncio.run(main())


@dataclass
class ReceiverProcess:
    process: BaseProcess
    conn: Connection
    port: int

    @classmethod
    def start(cls) -> ReceiverProcess:
        parent, child = mp.Pipe()
        process = mp.get_context("spawn").Process(target=_main, args=(child,), daemon=True)
        process.start()
        return cls(process, parent, parent.recv())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def counts(self) -> Counts:
        """Requests received since the start (or the last reset), distinct delivery ids, repeated ids."""
        self.conn.send("count")
        return self.conn.recv()  # type: ignore[no-any-return]

    def reset(self) -> None:
        self.conn.send("reset")
        self.conn.recv()

    def latencies(self) -> list[float]:
        """Seconds from each body's "SentAt" to its arrival, since the last call."""
        self.conn.send("latencies")
        return self.conn.recv()  # type: ignore[no-any-return]

    def stop(self, timeout: float = 10.0) -> None:
        try:
            self.conn.send("stop")
        except OSError:
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
