"""Benchmark helpers for several engines on one database: a throwaway PostgreSQL server with its settings
printed, and delivery engines in processes of their own (as on separate workstations).

    with start_postgres(fsync_off=False) as cluster:
        url = cluster.new_database_url()
        pool = EngineProcesses.start(url, box, concurrency=64, engines=2)
        seconds = await pool.run_until(receiver, 5000)   # start all, stop when the receiver saw 5,000 items
        pool.close()
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from benchmarks.receiver import ReceiverProcess
from shopctrl_desktop.store.secrets import SecretBox
from tests.helpers.postgres import PostgresCluster, PostgresUnavailable, postgres_server

__all__ = ["EngineProcesses", "PostgresUnavailable", "start_postgres"]


@contextmanager
def start_postgres(fsync_off: bool = False) -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL server with the default (durable) settings unless ``fsync_off``; prints the
    settings that decide the commit cost, loudly when they are unsafe."""
    with postgres_server("shopctrl-pg-bench-", durable=not fsync_off) as cluster:
        shown = ", ".join(
            f"{name}={cluster.setting(name)}"
            for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers", "wal_sync_method")
        )
        print(f"PostgreSQL: throwaway server on a unix socket ({shown})")
        if fsync_off:
            print("!" * 100)
            print(
                "!!! fsync=off: NOT a durable server; these PostgreSQL figures are NOT what a real server gives !!!"
            )
            print("!" * 100)
        yield cluster


def _engine_main(url: str, box: SecretBox, concurrency: int, conn: Connection) -> None:
    """A child process: one DeliveryEngine per "go" until "stop"; answers with what it delivered."""
    from shopctrl_desktop.config import Settings
    from shopctrl_desktop.engine.delivery import DeliveryEngine
    from shopctrl_desktop.runtime import tune_process
    from shopctrl_desktop.store.db import Database

    tune_process()
    db = Database(url, migrate=False)
    settings = replace(Settings(), concurrency=concurrency, per_host_concurrency=concurrency)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        conn.send("ready")
        while await loop.run_in_executor(None, conn.recv) == "go":
            engine = DeliveryEngine(db, box, settings)
            await engine.start()
            await loop.run_in_executor(None, conn.recv)  # "stop"
            await engine.stop()
            conn.send(engine.delivered)

    asyncio.run(main())
    db.dispose()


@dataclass
class EngineProcesses:
    processes: list[BaseProcess]
    conns: list[Connection]

    @classmethod
    def start(cls, url: str, box: SecretBox, concurrency: int, engines: int) -> EngineProcesses:
        ctx = mp.get_context("spawn")
        processes, conns = [], []
        for _ in range(engines):
            parent, child = ctx.Pipe()
            process = ctx.Process(target=_engine_main, args=(url, box, concurrency, child), daemon=True)
            process.start()
            processes.append(process)
            conns.append(parent)
        for conn in conns:
            conn.recv()  # "ready": imports done, database open
        return cls(processes, conns)

    async def run_until(self, receiver: ReceiverProcess, distinct: int, timeout: float = 600.0) -> float:
        """Start every engine, stop them all once the receiver has seen ``distinct`` different items (sends
        in flight are drained and recorded); the seconds from the start to the last engine stopped."""
        t0 = time.perf_counter()
        for conn in self.conns:
            conn.send("go")
        while receiver.counts().distinct < distinct:
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError(f"the engines did not deliver {distinct} items in {timeout:.0f} s")
            await asyncio.sleep(0.005)
        for conn in self.conns:
            conn.send("stop")
        for conn in self.conns:
            conn.recv()
        return time.perf_counter() - t0

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send("exit")
            except OSError:
                pass
        for process in self.processes:
            process.join(30)
            if process.is_alive():
                process.kill()
                process.join(5)
