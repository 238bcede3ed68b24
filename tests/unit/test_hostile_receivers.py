"""Receivers built to hold the engine (issue 13 item 4): one that answers a byte a second and one whose body
never ends. Each attempt is bounded by the action's timeout and the 64 KiB response cap, recorded, and the
engine goes on delivering to a healthy receiver meanwhile."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web
from sqlalchemy import select

from shopctrl_desktop.store.models import DeliveryAttemptRow
from tests.helpers.engine_harness import running_engine
from tests.helpers.factories import add_items, make_action
from tests.helpers.receivers import Receiver


@pytest.fixture
async def receivers():
    bad, good = await Receiver().start(), await Receiver().start()
    yield bad, good
    await bad.stop()
    await good.stop()


def trickle(stopping: asyncio.Event):
    async def respond(req, _n: int) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        await response.prepare(req.request)
        while not stopping.is_set():  # one byte a second, for ever
            await response.write(b".")
            try:
                await asyncio.wait_for(stopping.wait(), 1.0)
            except TimeoutError:
                pass
        return response

    return respond


def endless(stopping: asyncio.Event):
    async def respond(req, _n: int) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        await response.prepare(req.request)
        chunk = b"x" * 65536
        while not stopping.is_set():  # as fast as the engine reads
            await response.write(chunk)
        return response

    return respond


def first_attempt(db, item_id: int) -> DeliveryAttemptRow | None:
    with db.session() as s:
        return s.scalars(select(DeliveryAttemptRow).where(DeliveryAttemptRow.item_id == item_id)).first()


@pytest.mark.parametrize("kind", ["trickle", "endless"])
async def test_a_hostile_receiver_costs_one_bounded_attempt_and_nothing_else(
    db, box, receivers, kind
) -> None:
    bad, good = receivers
    stopping = asyncio.Event()
    bad.responder = trickle(stopping) if kind == "trickle" else endless(stopping)
    hostile = make_action(db, box, bad.url(), timeout_seconds=2)
    healthy = make_action(db, box, good.url())
    (bad_item,) = add_items(db, hostile)
    good_items = add_items(db, healthy, count=5)
    started = time.monotonic()
    try:
        async with running_engine(db, box) as (_engine, observer):
            await observer.wait_until(lambda: all(observer.status.get(i) == "delivered" for i in good_items))
            await observer.wait_until(
                lambda: observer.status.get(bad_item) in ("retrying", "delivered", "failed")
            )
    finally:
        stopping.set()
    took = time.monotonic() - started
    attempt = first_attempt(db, bad_item)
    assert attempt is not None
    assert attempt.duration_ms <= 2_000 + 4_000  # the action's 2 s timeout, give or take a loaded machine
    if kind == "trickle":
        assert attempt.error and "timed out" in attempt.error
    else:
        assert attempt.response_body is None or len(attempt.response_body.encode()) <= 64 * 1024
    assert took < 30
