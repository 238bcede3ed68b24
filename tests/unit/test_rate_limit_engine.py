"""The per-endpoint rate limit through the real engine, real SQLite and real HTTP receivers on 127.0.0.1: the
arrival times the receiver records are spread by the limit; a limit set or taken off while the engine runs
applies without a restart; items waiting for the limit spend no attempt."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from shopctrl_desktop.domain.breaker import endpoint_key
from shopctrl_desktop.store import endpoints
from shopctrl_desktop.store.models import AuditEntryRow, QueueItemRow
from tests.helpers.engine_harness import fast_settings, running_engine
from tests.helpers.factories import add_items, make_action
from tests.helpers.receivers import Receiver

pytestmark = pytest.mark.serial  # asserts on timing: runs alone (scripts/test)

#: Concurrency well above what the limit lets through: the limit, not the slots, spaces the requests.
SETTINGS = fast_settings(concurrency=8, per_host_concurrency=8)
#: Arrival times are the receiver's, not the sender's: one request may arrive a little late and the next on
#: time. One request of slack per window absorbs that jitter (the unlimited engine sends 40 in ~0.1 s).
JITTER_SLACK = 1


async def until(predicate, timeout: float = 10.0) -> None:
    """Wait for a condition nothing reports (checked every 20 ms)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def worst_window_excess(times: list[float], rate: float, burst: int = 1) -> float:
    """The largest ``count - (burst + rate * length)`` over every window of arrivals (<= 0: within the limit)."""
    times = sorted(times)
    worst = float("-inf")
    for i, first in enumerate(times):
        for j in range(i, len(times)):
            worst = max(worst, (j - i + 1) - (burst + rate * (times[j] - first)))
    return worst


def attempts_of(db, ids):
    with db.session() as s:
        return {r.id: r.attempts for r in s.scalars(select(QueueItemRow).where(QueueItemRow.id.in_(ids)))}


async def test_a_limited_endpoint_gets_its_items_spread_and_the_others_are_not_held(db, box):
    limited, free = await Receiver().start(), await Receiver().start()
    try:
        erp = make_action(db, box, limited.url("/api/orders"), title="Orders to ERP")
        shop = make_action(db, box, free.url("/hook"), title="Orders to shop")
        with db.session() as s:
            key, before, changed = endpoints.set_rate_limit(s, limited.url("/api/orders?x=1"), 20)
        assert (key, before, changed) == (endpoint_key(limited.url("/api/orders")), None, True)
        erp_ids = add_items(db, erp, 40)
        shop_ids = add_items(db, shop, 40)
        async with running_engine(db, box, SETTINGS) as (engine, observer):
            engine.wake()
            await observer.wait_final(shop_ids)
            shop_done = len(limited.requests)
            final = await observer.wait_final(erp_ids, timeout=30)
        assert set(final.values()) == {"delivered"}
        arrivals = [r.at for r in limited.requests]
        assert len(arrivals) == 40
        assert max(arrivals) - min(arrivals) >= 1.9  # 39 intervals of 50 ms
        assert worst_window_excess(arrivals, 20) <= JITTER_SLACK
        # the unlimited shop endpoint was not held behind the ERP's limit
        assert shop_done < 30
        shop_arrivals = [r.at for r in free.requests]
        assert max(shop_arrivals) - min(shop_arrivals) < 1.5
        assert set(attempts_of(db, erp_ids).values()) == {1}  # waiting for the limit spent nothing
    finally:
        await limited.stop()
        await free.stop()


async def test_a_limit_set_and_taken_off_while_the_engine_runs_applies_without_a_restart(db, box):
    receiver = await Receiver().start()
    try:
        action = make_action(db, box, receiver.url("/erp"))
        key = endpoint_key(receiver.url("/erp"))
        async with running_engine(db, box, SETTINGS, poll_interval=0.05) as (engine, observer):
            with db.session() as s:  # as `endpoints rate-limit` from another process does
                endpoints.set_rate_limit(s, receiver.url("/erp"), 5)
            await until(lambda: engine._schedule.rate_limits is not None)  # noqa: SLF001 - within a refresh
            assert engine._schedule.rate_limits.limits() == {key: 5.0}  # noqa: SLF001
            slow = add_items(db, action, 10)
            engine.wake()
            await observer.wait_final(slow, timeout=20)
            arrivals = [r.at for r in receiver.requests]
            assert max(arrivals) - min(arrivals) >= 1.7  # 9 intervals of 200 ms
            assert worst_window_excess(arrivals, 5) <= JITTER_SLACK

            with db.session() as s:
                assert endpoints.set_rate_limit(s, str(key), None)[2]
            await until(lambda: engine._schedule.rate_limits is None)  # noqa: SLF001
            fast = add_items(db, action, 30)
            engine.wake()
            await observer.wait_final(fast, timeout=20)
            later = [r.at for r in receiver.requests[10:]]
            assert len(later) == 30 and max(later) - min(later) < 1.5  # 5/s would take 5.8 s
        with db.session() as s:
            audit = [
                (a.action, a.subject_name)
                for a in s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.id))
                if a.action == "endpoint.rateLimited"
            ]
        assert len(audit) == 2 and all(name == key.split("://", 1)[1] for _, name in audit)
    finally:
        await receiver.stop()


async def test_the_engine_sleeps_until_the_next_token_instead_of_polling(db, box):
    """A slow limit: the workers look for an item once per token (a timer), not in a loop meanwhile."""
    receiver = await Receiver().start()
    try:
        action = make_action(db, box, receiver.url("/slow"))
        with db.session() as s:
            endpoints.set_rate_limit(s, receiver.url("/slow"), 4)
        ids = add_items(db, action, 6)
        async with running_engine(db, box, SETTINGS) as (engine, observer):
            schedule = engine._schedule  # noqa: SLF001
            plain = schedule.next_to_send
            calls = []

            def counted(now: float = 0.0):
                calls.append(now)
                return plain(now)

            schedule.next_to_send = counted  # type: ignore[method-assign]
            engine.wake()
            await observer.wait_final(ids, timeout=20)
        arrivals = [r.at for r in receiver.requests]
        assert max(arrivals) - min(arrivals) >= 1.15  # 5 intervals of 250 ms
        # 8 workers woken per token, and once after each send: dozens of looks, where a spin makes thousands
        assert len(calls) < 200, len(calls)
    finally:
        await receiver.stop()
