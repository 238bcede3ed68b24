"""Stale data never wins (SPEC §11, issue 12 item 6): a newer item of a unique key supersedes an older one
that is retrying — at intake (a) and when the older one fails while being sent (b) — through the real engine,
a real SQLite file and a real receiver on 127.0.0.1 that checks the order of the payloads it gets."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import select

from shopctrl_desktop.domain.model import IncomingEvent, ItemStatus
from shopctrl_desktop.domain.retry import RetryPolicy
from shopctrl_desktop.domain.superseding import superseded_message, superseding_item
from shopctrl_desktop.store import queue
from shopctrl_desktop.store.bulk import BulkOperation, run_in_chunks
from shopctrl_desktop.store.ingest import enqueue_events
from shopctrl_desktop.store.models import QueueItemRow
from tests.helpers.engine_harness import fast_settings, running_engine
from tests.helpers.factories import make_action
from tests.helpers.receivers import Receiver


def order_event(version: int, order_id: int = 1) -> IncomingEvent:
    return IncomingEvent(
        event="OrderChanged",
        shop_id=1,
        occurred_at=datetime(2026, 12, 3, 10, version, tzinfo=UTC),
        data={"Order": {"Id": order_id, "Version": version}},
        entity_data={"OrderId": order_id, "Version": version},
        entity_type="Order",
        entity_id=str(order_id),
        entity_code=f"ORD-{order_id}",
    )


def ingest(db, box, version: int, order_id: int = 1) -> list[int]:
    with db.session() as s:
        result = enqueue_events(s, box, [order_event(version, order_id)])
    return result.new_item_ids + result.updated_item_ids


class OrderCheckingReceiver:
    """Records the version of every payload per order; fails versions in ``failing`` (optionally only after
    ``gate`` is set, to hold a request in flight). ``stale`` counts requests with an older version of an
    order than one it got before."""

    def __init__(self, failing: set[int]) -> None:
        self.failing = failing
        self.seen: list[int] = []
        self.by_order: dict[int, list[int]] = {}
        self.stale = 0
        self.gate: asyncio.Event | None = None
        self.arrived = asyncio.Event()

    async def __call__(self, req, _n):
        data = json.loads(req.body)["entityData"]
        version, seen = data["Version"], self.by_order.setdefault(data["OrderId"], [])
        if seen and version < max(seen):
            self.stale += 1
        seen.append(version)
        self.seen.append(version)
        self.arrived.set()
        if self.gate is not None and version in self.failing:
            await self.gate.wait()
        if version in self.failing:
            return web.Response(status=503, text="busy")
        return web.Response(status=200, text="ok")


def item(db, item_id: int) -> QueueItemRow:
    with db.session() as s:
        row = s.get(QueueItemRow, item_id)
        s.expunge(row)
        return row


def test_the_rule():
    assert superseding_item(5, 9) == 9
    assert (
        superseding_item(9, 9) is None
        and superseding_item(9, 5) is None
        and superseding_item(9, None) is None
    )
    assert superseded_message(12) == "superseded by #12"


async def test_a_retrying_item_is_superseded_at_intake_by_a_newer_event(db, box):
    answer = OrderCheckingReceiver(failing={1})
    receiver = await Receiver(responder=answer).start()
    try:
        make_action(db, box, receiver.url(), unique_queue_items=True, title="Orders to ERP")
        [older] = ingest(db, box, 1)
        slow_retries = RetryPolicy(kind="custom", delays=(3600.0,), max_retries=10)  # it stays retrying
        settings = fast_settings(circuit_failures=1000, retry=slow_retries)
        async with running_engine(db, box, settings) as (_engine, observer):
            await observer.wait_until(lambda: observer.status.get(older) == ItemStatus.RETRYING)
        assert item(db, older).status == "retrying"
        # a queued (never tried) item of another order still takes newer payloads in place
        [other] = ingest(db, box, 1, order_id=2)
        assert ingest(db, box, 2, order_id=2) == [other]

        [newer] = ingest(db, box, 2)  # the newer event: its own item; the older is cancelled at intake
        assert newer != older
        row = item(db, older)
        assert (row.status, row.response_message) == ("cancelled", f"superseded by #{newer}")
        assert row.finished_at is not None and row.next_attempt_at is None
        with db.session() as s:
            listed = {i.id: i for i in queue.list_items(s, limit=10)}
        assert listed[older].to_json()["responseMessage"] == f"superseded by #{newer}"

        async with running_engine(db, box, settings) as (_engine, observer):
            await observer.wait_until(lambda: observer.status.get(newer) == ItemStatus.DELIVERED)
        assert answer.seen[0] == 1 and 2 in answer.seen and answer.stale == 0
        assert item(db, older).status == "cancelled"
    finally:
        await receiver.stop()


async def test_an_older_item_that_fails_in_flight_is_cancelled_instead_of_retried(db, box):
    answer = OrderCheckingReceiver(failing={1})
    answer.gate = asyncio.Event()
    receiver = await Receiver(responder=answer).start()
    try:
        make_action(db, box, receiver.url(), unique_queue_items=True, title="Orders to ERP")
        [older] = ingest(db, box, 1)
        # per host 2: the newer item is sent while the older is still in flight, and delivered first
        settings = fast_settings(circuit_failures=1000, per_host_concurrency=2)
        async with running_engine(db, box, settings) as (engine, observer):
            await asyncio.wait_for(answer.arrived.wait(), 10)
            assert item(db, older).status == "sending"
            [newer] = ingest(db, box, 2)  # not waiting: a new item
            assert newer != older
            engine.wake()
            await observer.wait_until(lambda: observer.status.get(newer) == ItemStatus.DELIVERED)
            answer.gate.set()  # now the older one fails
            final = await observer.wait_final([older])
        assert final[older] == ItemStatus.CANCELLED  # before: retrying, and sent again after the newer one
        row = item(db, older)
        assert (row.status, row.response_message, row.attempts) == ("cancelled", f"superseded by #{newer}", 1)
        assert answer.seen == [1, 2] and answer.stale == 0
    finally:
        await receiver.stop()


async def test_bulk_retry_leaves_out_failed_items_a_newer_one_superseded(db, box):
    answer = OrderCheckingReceiver(failing=set())
    receiver = await Receiver(responder=answer).start()
    try:
        make_action(db, box, receiver.url(), unique_queue_items=True)
        [older] = ingest(db, box, 1)
        with db.session() as s:
            s.get(QueueItemRow, older).status = "failed"
        [newer] = ingest(db, box, 2)
        [lonely] = ingest(db, box, 1, order_id=3)
        with db.session() as s:
            s.get(QueueItemRow, lonely).status = "failed"
        with db.session() as s:
            assert queue.retry_failed(s, dry_run=True).total == 1
            counts = queue.retry_failed(s)
        assert counts.total == 1 and item(db, lonely).status == "queued"
        assert item(db, older).status == "failed" and item(db, newer).status == "queued"
        # nor "Retry now", nor the background runner (selection or "Retry failed in filter")
        with db.session() as s:
            assert not queue.retry_item(s, older) and queue.superseded_by(s, older) == newer
            assert queue.superseded_by(s, newer) is None and queue.superseded_by(s, lonely) is None
        for operation in (BulkOperation.RETRY, BulkOperation.RETRY_FAILED):
            assert run_in_chunks(db, operation, [older]).changed == []
        with db.session() as s:
            assert s.scalar(select(QueueItemRow.status).where(QueueItemRow.id == older)) == "failed"
            s.get(QueueItemRow, lonely).status = "failed"
        assert run_in_chunks(db, BulkOperation.RETRY_FAILED, [older, lonely]).changed == [lonely]
    finally:
        await receiver.stop()
