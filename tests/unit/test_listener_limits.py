"""The listener bounds its clients (issue 15: slowloris needs no token): a header-read timeout, a body-read
deadline, and a cap on connections that evicts slow idle ones and never a request in progress — over real
sockets."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from sqlalchemy import func, select

from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.engine.intake import IntakeBatcher
from shopctrl_desktop.engine.listener import Listener
from shopctrl_desktop.store.models import EventRow
from shopctrl_desktop.store.triggers import save_trigger

TOKEN = "t0ken-for-the-limits-test"
EVENT = {"event": "OrderChanged", "data": {"Order": {"Id": 1, "OrderCode": "A-1"}}}
PARTIAL_HEADERS = b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


@pytest.fixture
async def listen(db, box, app_paths):
    with db.session() as s:
        action = WebhookAction(url="https://erp.example/hook")
        save_trigger(s, box, Trigger(title="ERP", event="OrderChanged", actions=(action,)))
    intake = IntakeBatcher(db, box)
    await intake.start()
    started: list[Listener] = []

    async def start(**limits) -> tuple[str, int, Listener]:
        settings = Settings(listen_host="127.0.0.1", listen_port=0)
        listener = Listener(intake, app_paths, settings, token=TOKEN, **limits)
        address = await listener.start()
        started.append(listener)
        host, port = address.rsplit(":", 1)
        return host, int(port), listener

    yield start
    for listener in started:
        await listener.close()
    await intake.stop()


async def post_event(host: str, port: int) -> int:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client,
        client.post(
            f"http://{host}:{port}/events",
            data=json.dumps(EVENT),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        ) as resp,
    ):
        return resp.status


async def test_headers_that_never_finish_are_cut_off(listen) -> None:
    host, port, _ = await listen(header_timeout=0.3)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(PARTIAL_HEADERS)  # … and never the blank line
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the server, no answer
    writer.close()


async def test_a_flood_of_slow_connections_evicts_itself_and_a_real_client_is_served(listen, db) -> None:
    host, port, listener = await listen(max_connections=20)
    slow = []
    for _ in range(200):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(PARTIAL_HEADERS)
        slow.append((reader, writer))
    await asyncio.gather(*(w.drain() for _, w in slow))
    assert await asyncio.wait_for(post_event(host, port), 20) == 202
    assert listener.guard.open_connections <= 20
    assert listener.guard.evicted >= 180 and listener.guard.refused == 0
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == 1
    for _, writer in slow:
        writer.close()


async def test_requests_in_progress_are_never_evicted_a_new_connection_is_refused(listen) -> None:
    host, port, listener = await listen(max_connections=2, body_grace=30)
    body = json.dumps([EVENT]).encode()
    head = PARTIAL_HEADERS + f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    busy = []
    for _ in range(2):  # headers complete, body still coming: requests in progress
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(head + body[:1])
        await writer.drain()
        busy.append((reader, writer))
    while len(listener.guard._busy) < 2:  # noqa: SLF001 - wait until both handlers run
        await asyncio.sleep(0.01)
    reader, writer = await asyncio.open_connection(host, port)
    answer = await asyncio.wait_for(reader.read(), 10)
    assert answer.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in answer
    assert listener.guard.refused == 1 and listener.guard.evicted == 0
    for busy_reader, busy_writer in busy:  # still being served: the rest of the body gets them a 202
        busy_writer.write(body[1:])
        await busy_writer.drain()
        status_line = await asyncio.wait_for(busy_reader.readline(), 10)
        assert status_line.startswith(b"HTTP/1.1 202"), status_line
        busy_writer.close()
    writer.close()


async def test_a_body_that_stalls_gets_408_and_nothing_is_stored(listen, db) -> None:
    host, port, _ = await listen(body_grace=0.3)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        PARTIAL_HEADERS + f"Authorization: Bearer {TOKEN}\r\nContent-Length: 500\r\n\r\n[{{".encode()
    )
    await writer.drain()
    answer = await asyncio.wait_for(reader.readuntil(b"}"), 10)  # the JSON body's end
    assert answer.startswith(b"HTTP/1.1 408") and b"body_timeout" in answer and b"Connection: close" in answer
    writer.close()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == 0
