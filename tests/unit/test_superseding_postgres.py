"""Stale data never wins on a shared PostgreSQL database: two engines (engine logins) deliver while a third
connection queues newer events; the database decides (advisory locks on the unique key, conditions in the
UPDATE), and the receiver never gets an older payload after a newer one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.domain.retry import RetryPolicy
from shopctrl_desktop.domain.roles import Role
from shopctrl_desktop.store import queue, roles
from shopctrl_desktop.store.db import Database
from tests.helpers.engine_harness import fast_settings, running_engine
from tests.helpers.factories import make_action
from tests.helpers.postgres import PostgresCluster, throwaway_postgres
from tests.helpers.receivers import Receiver
from tests.unit.test_endpoint_breaker_engine import until
from tests.unit.test_superseding import OrderCheckingReceiver, ingest, item


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-supersede-") as cluster:
        yield cluster


@pytest.fixture
def shared(postgres):
    owner = postgres.new_database()
    name = make_url(owner.url).database
    suffix = uuid.uuid4().hex[:6]
    with owner.session() as s:
        roles.setup_roles(s)
        roles.add_user(s, f"engine_{suffix}", Role.ENGINE, "pw-" + suffix)
    engines = [
        Database(f"postgresql+psycopg://engine_{suffix}@/{name}?host={postgres.base}&port={postgres.port}")
        for _ in range(3)  # two engines' databases and one intake's: separate connection pools
    ]
    yield owner, engines
    for database in (*engines, owner):
        database.dispose()


async def test_two_engines_never_send_an_older_payload_after_a_newer_one(shared, box):
    owner, (one_db, two_db, intake_db) = shared
    answer = OrderCheckingReceiver(failing={1})
    answer.gate = asyncio.Event()
    receiver = await Receiver(responder=answer).start()
    try:
        make_action(owner, box, receiver.url(), unique_queue_items=True, title="Orders to ERP")
        # order 1: in flight at one engine when the newer event comes; order 2: retrying when it comes
        [in_flight] = ingest(intake_db, box, 1, order_id=1)
        settings = fast_settings(circuit_failures=1000, per_host_concurrency=4, concurrency=4)
        async with (
            running_engine(one_db, box, settings, poll_interval=0.1) as (one, _),
            running_engine(two_db, box, settings, poll_interval=0.1) as (two, _),
        ):
            await asyncio.wait_for(answer.arrived.wait(), 10)
            assert item(owner, in_flight).status == "sending"
            [newer] = ingest(intake_db, box, 2, order_id=1)
            one.wake()
            two.wake()

            await until(lambda: item(owner, newer).status == "delivered")
            answer.gate.set()
            await until(lambda: item(owner, in_flight).status in ("cancelled", "retrying", "failed"))
        row = item(owner, in_flight)
        assert (row.status, row.response_message) == ("cancelled", f"superseded by #{newer}")

        # order 2 retrying (long retry wait) when a newer event arrives through another connection
        slow = fast_settings(circuit_failures=1000, retry=RetryPolicy(kind="custom", delays=(3600.0,)))
        [older] = ingest(intake_db, box, 1, order_id=2)
        async with running_engine(one_db, box, slow, poll_interval=0.1) as (_one, seen):
            await seen.wait_until(lambda: seen.status.get(older) == ItemStatus.RETRYING)
        [newest] = ingest(intake_db, box, 3, order_id=2)
        row = item(owner, older)
        assert (row.status, row.response_message) == ("cancelled", f"superseded by #{newest}")
        assert answer.by_order == {1: [1, 2], 2: [1]} and answer.stale == 0
        # and no retry brings a superseded item back (the same SQL on PostgreSQL), through the engine login
        with intake_db.session() as s:
            assert not queue.retry_item(s, older) and queue.superseded_by(s, older) == newest
            assert queue.retry_failed(s, dry_run=True).total == 0
    finally:
        await receiver.stop()
