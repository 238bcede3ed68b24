"""Merge-field browser: the tree model, search, the dynamic list with values, insertion at the cursor."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor

from shopctrl_desktop.domain import mergefields
from shopctrl_desktop.domain.model import Trigger
from shopctrl_desktop.gui.mergefields.browser import MergeFieldBrowser
from shopctrl_desktop.gui.mergefields.model import Column, FieldRole, MergeFieldTreeModel
from shopctrl_desktop.gui.webhook.editor import TAB_PAYLOAD, WebhookEditorDialog
from tests.gui.triggers_support import OFFSCREEN_NOISE, ORDER_DATA, ctx, dialogs, full_action, store_event  # noqa: F401

pytestmark = OFFSCREEN_NOISE


def _double_click(qtbot, browser: MergeFieldBrowser) -> None:
    index = browser.tree.currentIndex()
    rect = browser.tree.visualRect(index)
    assert rect.isValid(), "the field is not on screen"
    # a real double-click is press, release, double-click, release: QTest's mouseDClick alone is not enough
    qtbot.mouseClick(browser.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(browser.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_models_pass_qtmodeltester(qtmodeltester):
    model = MergeFieldTreeModel()
    model.set_fields(mergefields.fields_for_event("OrderChanged"))
    qtmodeltester.check(model)
    model.set_fields(mergefields.dynamic_tree(ORDER_DATA), with_values=True)
    qtmodeltester.check(model)
    order = model.index(0, 0)
    assert model.data(order) == "Order"
    codes = [model.index(r, Column.FIELD, order).data() for r in range(model.rowCount(order))]
    row = codes.index("OrderCode")
    assert model.index(row, Column.DETAIL, order).data() == "ORD-1001"
    assert model.index(row, 0, order).data(FieldRole.PATH) == "Order.OrderCode"
    assert model.headerData(Column.DETAIL, Qt.Orientation.Horizontal) == "Value"


def test_double_click_inserts_the_field_at_the_payload_cursor(qtbot, ctx, dialogs):  # noqa: F811
    dialog = dialogs(
        WebhookEditorDialog(ctx, full_action(payload_body=""), Trigger(title="T", event="OrderChanged"))
    )
    dialog.tabs.setCurrentIndex(TAB_PAYLOAD)
    editor = dialog.payload_tab.editor
    editor.setPlainText('{"code": ""}')
    cursor = editor.textCursor()
    cursor.setPosition(10)  # between the quotes
    editor.setTextCursor(cursor)
    qtbot.mouseClick(dialog.payload_tab.mergefields_button, Qt.MouseButton.LeftButton)
    browser = dialog.show_merge_fields()
    assert browser.select_path("Order.OrderCode")
    _double_click(qtbot, browser)
    assert editor.toPlainText() == '{"code": "$$Order.OrderCode$$"}'
    assert editor.textCursor().position() == 10 + len("$$Order.OrderCode$$")

    editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.mouseClick(
        browser.jinja_check, Qt.MouseButton.LeftButton, pos=QPoint(6, browser.jinja_check.height() // 2)
    )
    assert browser.jinja_check.isChecked()
    assert browser.select_path("Order.TotalDue")
    qtbot.mouseClick(browser.insert_button, Qt.MouseButton.LeftButton)
    assert editor.toPlainText().endswith("}{{ Order.TotalDue }}")


def test_collection_inserts_a_loop(qtbot, ctx, dialogs):  # noqa: F811
    browser = dialogs(MergeFieldBrowser(ctx, "OrderChanged"))
    chosen = []
    browser.field_chosen.connect(chosen.append)
    assert browser.select_path("Order.OrderRow")
    browser.insert_current()
    assert chosen == ["<!-- RangeStart:OrderRow -->\n\n<!-- RangeEnd:OrderRow -->"]


def test_search_filters_the_tree(qtbot, ctx, dialogs):  # noqa: F811
    browser = dialogs(MergeFieldBrowser(ctx, "OrderChanged"))
    qtbot.keyClicks(browser.filter_edit, "trackingcode")
    paths = [browser.model.field_at(i).path for i in _all_indexes(browser.model)]
    assert paths and all("Order" in p or "Shipment" in p or "Parcel" in p for p in paths)
    assert any(p.endswith("TrackingCode") for p in paths)
    assert not any(p.endswith("OrderCode") for p in paths)
    browser.filter_edit.clear()
    assert browser.select_path("Order.OrderCode")


def test_entity_id_loads_the_dynamic_list_with_values(qtbot, ctx, dialogs):  # noqa: F811
    store_event(ctx)
    browser = dialogs(MergeFieldBrowser(ctx, "OrderChanged"))
    qtbot.keyClicks(browser.entity_id_edit, "4242")
    with qtbot.waitSignal(browser.load_button.clicked):
        qtbot.mouseClick(browser.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: browser.load_button.isEnabled())
    assert "No event about Order 4242" in browser.source_message.text()
    browser.entity_id_edit.setText("1001")
    with qtbot.waitSignal(browser.fields_loaded, timeout=5000) as loaded:
        qtbot.keyClick(browser.entity_id_edit, Qt.Key.Key_Return)
    assert loaded.args == [True]
    assert browser.model.with_values
    assert browser.select_path("Order.Customer.Email")
    index = browser.tree.currentIndex()
    assert index.siblingAtColumn(Column.DETAIL).data() == "anna@example.com"
    assert "ORD-1001" in browser.source_message.text()
    qtbot.mouseClick(browser.show_all_button, Qt.MouseButton.LeftButton)
    assert not browser.model.with_values


def _all_indexes(model, parent=None):
    from PySide6.QtCore import QModelIndex

    parent = parent or QModelIndex()
    for row in range(model.rowCount(parent)):
        index = model.index(row, 0, parent)
        yield index
        yield from _all_indexes(model, index)
