"""End to end through the window: a trigger made in the dialogs, an event posted to the real listener, the
delivery to a real receiver appearing live in the queue table."""

from __future__ import annotations

import json

import httpx
import pytest
from PySide6.QtCore import Qt

from shopctrl_desktop.engine.token import load_or_create_token
from shopctrl_desktop.gui.main_window import PAGE_QUEUE, PAGE_TRIGGERS
from shopctrl_desktop.gui.queue.columns import Column
from shopctrl_desktop.gui.triggers.editor import TriggerEditorDialog
from shopctrl_desktop.gui.webhook.editor import TAB_PAYLOAD, WebhookEditorDialog
from tests.gui.queue_support import make_context, running_window, threaded_receiver
from tests.gui.triggers_support import OFFSCREEN_NOISE, when_modal

pytestmark = OFFSCREEN_NOISE


@pytest.mark.slow
def test_trigger_from_the_dialogs_event_to_the_listener_delivery_in_the_queue(qtbot, app_paths, db, box):
    ctx = make_context(app_paths, db, box, listen_port=0)
    token = load_or_create_token(app_paths)
    with threaded_receiver() as receiver:
        with running_window(qtbot, ctx) as (window, address):
            # 1. the trigger, by clicking and typing
            window.nav.setCurrentRow(PAGE_TRIGGERS)
            page = window.triggers_page

            def fill_webhook(dialog) -> None:
                assert isinstance(dialog, WebhookEditorDialog)
                qtbot.keyClicks(dialog.general_tab.url_edit, receiver.url("/orders"))
                dialog.tabs.setCurrentIndex(TAB_PAYLOAD)
                qtbot.keyClicks(dialog.payload_tab.editor, '{"order": "$$Order.OrderCode$$"}')
                qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
                assert not dialog.isVisible(), dialog.summary.text()

            def fill_trigger(dialog) -> None:
                assert isinstance(dialog, TriggerEditorDialog)
                qtbot.keyClicks(dialog.title_edit, "ERP order sync")
                qtbot.keyClicks(dialog.event_picker.lineEdit(), "Order changed")
                qtbot.keyClick(dialog.event_picker.lineEdit(), Qt.Key.Key_Tab)
                when_modal(fill_webhook)
                dialog.add_webhook_action.trigger()
                qtbot.mouseClick(dialog.save_close_button, Qt.MouseButton.LeftButton)

            when_modal(fill_trigger)
            with qtbot.waitSignal(page.triggers_changed, timeout=10_000):
                page.add_action.trigger()

            # 2. an event from the "shop back office", to the real listener
            event = {
                "id": "order-1001-v1",
                "event": "OrderChanged",
                "shopId": 3,
                "data": {"Order": {"Id": 1001, "OrderCode": "ORD-1001"}},
            }
            answer = httpx.post(
                f"http://{address}/events",
                json=event,
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            assert answer.status_code == 202 and answer.json()["queued"] == 1, answer.text

            # 3. delivered to the receiver, and visible in the queue table without a refresh
            qtbot.waitUntil(lambda: receiver.count == 1, timeout=20_000)
            assert json.loads(receiver.bodies[0]) == {"order": "ORD-1001"}
            window.nav.setCurrentRow(PAGE_QUEUE)
            model = window.queue_page.model
            qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=10_000)

            def delivered_row_shown() -> bool:
                model.index(0, Column.STATUS).data()  # asks for the row if it is not loaded
                return model.is_row_loaded(0) and model.index(0, Column.STATUS).data() == "Delivered"

            qtbot.waitUntil(delivered_row_shown, timeout=10_000)
            assert model.index(0, 4).data() == "ERP order sync"
            assert model.index(0, 5).data() == "Order changed"
            assert model.index(0, 10).data().startswith("200")
