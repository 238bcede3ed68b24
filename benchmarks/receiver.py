"""A local aiohttp receiver for the benchmarks: answers every ``POST /hook`` with 200 "ok", in a process of
its own (spawned, so it shares neither the measured process's loop nor its GIL).

    receiver = ReceiverProcess.start()
    url = receiver.url
    ...
    receiver.stop()
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess


def _main(conn: Connection) -> None:
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/hook", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        conn.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]  # noqa: SLF001
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until stop()
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

    def stop(self, timeout: float = 10.0) -> None:
        try:
            self.conn.send("stop")
        except OSError:
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
