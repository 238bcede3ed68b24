"""kill -9 of a real ``serve`` process while deliveries are in flight; after a restart every item is
delivered, none is stuck in ``sending`` and none is lost."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import threading
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web

from tests.helpers.processes import cli, start_serve

pytestmark = pytest.mark.slow
EVENTS = 40


class ThreadedReceiver:
    """An aiohttp receiver on its own thread and loop (the test itself blocks on processes)."""

    def __init__(self) -> None:
        self.hanging = True
        self.in_flight = 0
        self.ids: list[str] = []
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._release: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        delivery = request.headers["X-ShopCtrl-Delivery"]
        with self._cond:
            self.ids.append(delivery)
            self.in_flight += 1
            self._cond.notify_all()
        try:
            if self.hanging:
                assert self._release is not None
                await self._release.wait()
            return web.Response(text="ok")
        finally:
            with self._cond:
                self.in_flight -= 1
                self._cond.notify_all()

    def start(self) -> ThreadedReceiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def answer_normally(self) -> None:
        self.hanging = False

    def wait(self, predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self._release is not None
            self._release.set()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def statuses(data: Path) -> dict[int, str]:
    with sqlite3.connect(data / "shopctrl.sqlite3", timeout=30) as conn:
        return dict(conn.execute("SELECT id, status FROM queue_items").fetchall())


def test_kill_9_while_sending_then_restart_delivers_everything(tmp_path: Path) -> None:
    receiver = ThreadedReceiver().start()
    data = tmp_path / "data"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "SHOPCTRL_RETRY_DELAYS": "0.2",
        "SHOPCTRL_CONCURRENCY": "8",
    }
    triggers = tmp_path / "triggers.json"
    action = {"type": "callWebhook", "url": f"http://127.0.0.1:{receiver.port}/hook", "timeoutSeconds": 2}
    triggers.write_text(
        json.dumps(
            {"version": 1, "triggers": [{"title": "ERP", "event": "OrderChanged", "actions": [action]}]}
        )
    )
    assert cli(data, "triggers", "import", str(triggers), env=env).returncode == 0
    proc, address = start_serve(data, env)
    try:
        token = cli(data, "token", env=env).stdout.strip().splitlines()[-1]
        events = [
            {
                "id": f"evt-{n}",
                "event": "OrderChanged",
                "shopId": 1,
                "data": {"Order": {"Id": n, "OrderCode": f"O-{n}"}},
            }
            for n in range(EVENTS)
        ]
        request = urllib.request.Request(
            f"http://{address}/events",
            data=json.dumps(events).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            answer = json.loads(resp.read())
        assert answer["queued"] == EVENTS
        # deliveries are in flight (the receiver holds them), then the process dies without any cleanup
        assert receiver.wait(lambda r: r.in_flight >= 4, 30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    receiver.answer_normally()
    before = statuses(data)
    assert len(before) == EVENTS
    assert "sending" in before.values()  # the kill did strand items mid-delivery

    proc, _address = start_serve(data, env)
    try:
        all_ids = {str(i) for i in before}
        assert receiver.wait(lambda r: all_ids <= set(r.ids), 60), "not every item reached the receiver"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        receiver.stop()
    after = statuses(data)
    assert set(after) == set(before)  # none lost
    assert set(after.values()) == {"delivered"}  # none stuck
    with sqlite3.connect(data / "shopctrl.sqlite3") as conn:
        (events_stored,) = conn.execute("SELECT count(*) FROM events").fetchone()
        (lease_left,) = conn.execute(
            "SELECT count(*) FROM queue_items WHERE lease_owner IS NOT NULL"
        ).fetchone()
    assert events_stored == EVENTS and lease_left == 0
