"""The delivery engine's scheduling through the real engine and database, with a scripted sender (no
sockets): strict priority over items claimed ahead, per-host slots, an unexpected sender error."""

from __future__ import annotations

from shopctrl_desktop.domain.model import Priority
from tests.helpers.engine_harness import fast_settings, running_engine
from tests.helpers.factories import add_items, make_action
from tests.helpers.senders import ScriptedSender, answer


async def test_a_highest_item_overtakes_the_lowest_items_claimed_ahead(db, box):
    """The issue's case, SHOPCTRL_CONCURRENCY=1: one slow item in flight, then three lowest queued, then
    one highest — when the slot frees, the highest is sent next."""
    sender = ScriptedSender()
    release = sender.hold(0)
    action = make_action(db, box, "http://receiver.invalid/hook")
    (slow,) = add_items(db, action)
    async with running_engine(db, box, fast_settings(concurrency=1), sender=sender) as (engine, observer):
        await sender.wait_for(1)
        lowest = add_items(db, action, 3, priority=Priority.LOWEST)
        engine.wake()
        # claimed ahead: they wait in hand for the one slot
        await observer.wait_until(lambda: all(observer.status.get(i) == "sending" for i in lowest))
        (highest,) = add_items(db, action, priority=Priority.HIGHEST)
        engine.wake()
        release.set()
        await observer.wait_final([slow, *lowest, highest])
    assert sender.delivery_ids() == [slow, highest, *lowest]


async def test_items_claimed_ahead_go_by_priority_not_by_claim_order(db, box):
    """Two claims land in hand while both slots are busy, the lower one first; the higher goes first."""
    sender = ScriptedSender()
    releases = [sender.hold(0), sender.hold(1)]
    action = make_action(db, box, "http://receiver.invalid/hook")
    busy = add_items(db, action, 2)
    async with running_engine(db, box, fast_settings(concurrency=2), sender=sender) as (engine, observer):
        await sender.wait_for(2)
        low = add_items(db, action, 2, priority=Priority.LOW)
        engine.wake()
        await observer.wait_until(lambda: all(observer.status.get(i) == "sending" for i in low))
        high = add_items(db, action, 2, priority=Priority.HIGH)
        engine.wake()
        await observer.wait_until(lambda: all(observer.status.get(i) == "sending" for i in high))
        assert len(sender.requests) == 2  # all four wait in hand
        for release in releases:
            release.set()
        await observer.wait_final([*busy, *low, *high])
    assert sender.delivery_ids()[2:] == [*high, *low]


async def test_a_wake_up_without_higher_items_does_not_stall_the_backlog(db, box):
    """After a wake-up the engine claims before sending what waits; with nothing higher the backlog goes on
    in its order."""
    sender = ScriptedSender()
    action = make_action(db, box, "http://receiver.invalid/hook")
    ids = add_items(db, action, 60)
    settings = fast_settings(concurrency=4, per_host_concurrency=4)
    async with running_engine(db, box, settings, sender=sender, poll_interval=600.0) as (engine, observer):
        await sender.wait_for(5)
        more = add_items(db, action, 5, priority=Priority.LOWEST)
        engine.wake()
        assert set((await observer.wait_final(ids + more)).values()) == {"delivered"}
    order = sender.delivery_ids()
    assert sorted(order) == sorted(ids + more) and order[-5:] == more


async def test_an_unexpected_sender_error_is_recorded_and_the_item_retried(db, box):
    from tests.unit.test_delivery_engine import attempts_of

    sender = ScriptedSender(lambda _req, n: RuntimeError("boom") if n == 0 else answer(200))
    action = make_action(db, box, "http://receiver.invalid/hook")
    (item_id,) = add_items(db, action)
    async with running_engine(db, box, sender=sender) as (_engine, observer):
        assert await observer.wait_final([item_id]) == {item_id: "delivered"}
    first, second = attempts_of(db, item_id)
    assert first.error == "internal error: RuntimeError('boom')" and second.status_code == 200
    assert sender.closed  # the engine closes its sender on stop


async def test_each_item_is_reported_once_per_change(db, box):
    """Every claimed item is reported "sending" once and its outcome once: the window and the relay do no
    work twice (a claim of n items once reported n x n changes)."""
    sender = ScriptedSender()
    action = make_action(db, box, "http://receiver.invalid/hook")
    ids = add_items(db, action, 40)
    async with running_engine(db, box, fast_settings(concurrency=8), sender=sender) as (_engine, observer):
        await observer.wait_final(ids)
    sending = [c.item_id for c in observer.changes if c.status == "sending"]
    delivered = [c.item_id for c in observer.changes if c.status == "delivered"]
    assert sorted(sending) == sorted(ids) and sorted(delivered) == sorted(ids)
