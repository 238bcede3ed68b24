"""The Engine service wires intake to delivery: a committed event wakes the DeliveryEngine at once."""

from __future__ import annotations

from shopctrl_desktop.domain.model import IncomingEvent, Trigger, WebhookAction
from shopctrl_desktop.engine.delivery import DeliveryEngine
from shopctrl_desktop.engine.service import Engine
from shopctrl_desktop.store.models import utcnow
from shopctrl_desktop.store.triggers import save_trigger
from tests.helpers.engine_harness import RecordingObserver, fast_settings
from tests.helpers.receivers import Receiver


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
            event = IncomingEvent(
                event="OrderChanged",
                shop_id=1,
                occurred_at=utcnow(),
                data={"Order": {"Id": 7}},
                entity_data={"OrderId": 7},
                entity_type="Order",
                entity_id="7",
                entity_code=None,
            )
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
