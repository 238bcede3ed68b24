"""The Engine service wires intake to delivery: a committed event wakes the DeliveryEngine at once."""

from __future__ import annotations

from shopctrl_desktop.domain.model import IncomingEvent, Trigger, WebhookAction
from shopctrl_desktop.domain.queue import QueueCounts
from shopctrl_desktop.engine.delivery import DeliveryEngine
from shopctrl_desktop.engine.service import Engine
from shopctrl_desktop.store.models import utcnow
from shopctrl_desktop.store.triggers import save_trigger
from tests.helpers.engine_harness import RecordingObserver, fast_settings
from tests.helpers.receivers import Receiver


def order_changed(order_id: int) -> IncomingEvent:
    return IncomingEvent(
        event="OrderChanged",
        shop_id=1,
        occurred_at=utcnow(),
        data={"Order": {"Id": order_id}},
        entity_data={"OrderId": order_id},
        entity_type="Order",
        entity_id=str(order_id),
        entity_code=None,
    )


async def test_an_ingested_event_is_delivered_without_waiting_for_a_poll(db, box, app_paths):
    receiver = await Receiver().start()
    try:
        with db.session() as s:
            save_trigger(
                s,
                box,
                Trigger(
                    title="ERP",
                    event="OrderChanged",
                    actions=(WebhookAction(url=receiver.url(), hmac_secret="s3cret"),),
                ),
            )
        observer = RecordingObserver()
        settings = fast_settings()
        engine = Engine(db, box, settings, app_paths, observer, listen=False)
        assert isinstance(engine.delivery, DeliveryEngine)
        # no periodic poll within this test: only Engine.wake() after the commit can start the delivery
        engine.delivery = DeliveryEngine(db, box, settings, observer, poll_interval=3600)
        await engine.start()
        try:
            event = order_changed(7)
            result = await engine.ingest([event])
            (item_id,) = result.new_item_ids
            assert await observer.wait_final([item_id], timeout=10) == {item_id: "delivered"}
        finally:
            await engine.stop()
        (req,) = receiver.requests
        assert req.header("X-ShopCtrl-Delivery") == str(item_id) and req.header("X-SIGNATURE")
        assert ("delivery", "stopped", "") in observer.states
    finally:
        await receiver.stop()


async def test_the_service_reports_the_counts_and_delivery_its_own_state(db, box, app_paths):
    """One reporter each: queue counts come from the service (also after delivery changed items, with
    what it delivered), the delivery state from the delivery engine alone."""
    receiver = await Receiver().start()
    try:
        with db.session() as s:
            save_trigger(
                s,
                box,
                Trigger(title="ERP", event="OrderChanged", actions=(WebhookAction(url=receiver.url()),)),
            )
        observer = RecordingObserver()
        engine = Engine(db, box, fast_settings(), app_paths, observer, listen=False)
        await engine.start()
        try:
            event = order_changed(8)
            (item_id,) = (await engine.ingest([event])).new_item_ids
            assert await observer.wait_final([item_id], timeout=10) == {item_id: "delivered"}
            # the first report (at start) was a full count; delivered items since are added, not re-counted
            await observer.wait_until(
                lambda: bool(observer.counts) and observer.counts[-1] == QueueCounts(delivered=1),
                timeout=10,
            )
        finally:
            await engine.stop()
        assert observer.counts[-1] == QueueCounts(delivered=1)  # the report after stopping
        assert [state for component, state, _ in observer.states if component == "delivery"] == [
            "starting",
            "running",
            "stopped",
        ]
    finally:
        await receiver.stop()
