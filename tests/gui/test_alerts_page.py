"""The Alerts page: severity icons, mark read / mark all read, the link to the queue item."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QUrl

from shopctrl_desktop.gui.alerts.model import AlertsModel
from shopctrl_desktop.gui.alerts.page import AlertsPage
from shopctrl_desktop.store import alerts as alert_store
from tests.gui.queue_support import OFFSCREEN_NOTE, add_alert, add_queue_items

pytestmark = OFFSCREEN_NOTE


@pytest.fixture
def page(qtbot, ctx):
    widget = AlertsPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1000, 600)
    widget.show()
    return widget


def unread(ctx) -> int:
    with ctx.db.sessions() as s:
        return alert_store.unread_count(s)


def test_model_passes_qtmodeltester(qtbot, qtmodeltester, ctx):
    ids = add_queue_items(ctx.db, 3)
    add_alert(ctx.db, ids[0])
    add_alert(ctx.db, None, severity="warning", title="Listener on the network")
    with ctx.db.sessions() as s:
        alerts = alert_store.list_alerts(s)
    model = AlertsModel()
    model.set_alerts(alerts)
    qtmodeltester.check(model)
    assert not model.index(0, 0).data(Qt.ItemDataRole.DecorationRole).isNull()


def test_mark_read_and_mark_all_read(qtbot, page, ctx):
    ids = add_queue_items(ctx.db, 3)
    for n, i in enumerate(ids):
        add_alert(ctx.db, i, title=f"Delivery failed: trigger {n}")  # three groups of one
    with qtbot.waitSignal(page.unread_changed, timeout=5_000) as blocker:
        page.reload()
    assert blocker.args == [3]
    assert page.model.rowCount() == 3 and page.summary.text() == "3 unread"
    assert page.model.index(0, 2).data(Qt.ItemDataRole.FontRole).bold()

    page.table.selectRow(0)
    with qtbot.waitSignal(page.unread_changed, timeout=5_000) as blocker:
        qtbot.mouseClick(page.mark_read_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [2] and unread(ctx) == 2
    assert page.model.index(0, 2).data(Qt.ItemDataRole.FontRole) is None

    with qtbot.waitSignal(page.unread_changed, timeout=5_000) as blocker:
        qtbot.mouseClick(page.mark_all_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [0] and unread(ctx) == 0
    assert not page.mark_all_button.isEnabled()


def test_double_click_opens_the_queue_item(qtbot, page, ctx):
    ids = add_queue_items(ctx.db, 2)
    add_alert(ctx.db, ids[1])
    with qtbot.waitSignal(page.unread_changed, timeout=5_000):
        page.reload()
    index = page.model.index(0, 2)
    rect = page.table.visualRect(index)
    # a real double click is press, release, double-click (QTest.mouseDClick alone sends no press)
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(page.item_requested, timeout=5_000) as blocker:
        qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [ids[1]]
    qtbot.waitUntil(lambda: unread(ctx) == 0, timeout=5_000)


def test_empty_state_is_explained(qtbot, page):
    with qtbot.waitSignal(page.unread_changed, timeout=5_000):
        page.reload()
    assert page.empty_label.isVisible()
    assert "No alerts" in page.empty_label.text()


def test_alerts_are_grouped_by_trigger_with_a_count_and_listed_below(qtbot, page, ctx):
    """8 alerts for 2 broken endpoints are 2 rows with their counts, not 8 rows (issue 14, point 10)."""
    ids = add_queue_items(ctx.db, 8)
    for i in ids[:5]:
        add_alert(ctx.db, i, title="Delivery failed: Order to ERP")
    for i in ids[5:]:
        add_alert(ctx.db, i, title="Delivery failed: Shipment to carrier")
    with qtbot.waitSignal(page.unread_changed, timeout=5_000) as blocker:
        page.reload()
    assert blocker.args == [8] and page.summary.text() == "8 unread"
    assert page.model.rowCount() == 2
    rows = {page.model.index(r, 2).data(): page.model.index(r, 3).data() for r in range(2)}
    assert rows == {
        "Delivery failed: Shipment to carrier": "3 alerts",
        "Delivery failed: Order to ERP": "5 alerts",
    }

    row = next(r for r in range(2) if page.model.index(r, 2).data().endswith("Order to ERP"))
    page.table.selectRow(row)
    listed = page.message_view.toPlainText()
    assert all(f"queue item #{i}" in listed for i in ids[:5])
    assert not any(f"queue item #{i}\n" in listed for i in ids[5:])
    # a link in the list opens that very item
    with qtbot.waitSignal(page.item_requested, timeout=5_000) as opened:
        page.message_view.anchorClicked.emit(QUrl(f"item:{ids[1]}"))
    assert opened.args == [ids[1]]
    # mark read marks the whole group
    with qtbot.waitSignal(page.unread_changed, timeout=5_000) as blocker:
        qtbot.mouseClick(page.mark_read_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: unread(ctx) == 3, timeout=5_000)
