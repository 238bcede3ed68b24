"""Trigger editor: a trigger made entirely by clicking and typing, validation, and the unsaved-changes prompt."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from shopctrl_desktop.domain.model import Priority, SignatureScheme, Trigger
from shopctrl_desktop.gui.triggers.editor import TriggerEditorDialog
from shopctrl_desktop.gui.triggers.page import TriggersPage
from shopctrl_desktop.gui.webhook.editor import TAB_PAYLOAD, WebhookEditorDialog
from tests.gui.triggers_support import (  # noqa: F401
    OFFSCREEN_NOISE,
    answer_message_boxes,
    ctx,
    dialogs,
    full_action,
    load_all,
    save,
    when_modal,
)

Button = QMessageBox.StandardButton
pytestmark = OFFSCREEN_NOISE


def _editor(dialogs, ctx, trigger=None) -> TriggerEditorDialog:  # noqa: F811
    return dialogs(TriggerEditorDialog(ctx, trigger))


def _fill_webhook(qtbot, dialog: WebhookEditorDialog) -> None:
    assert isinstance(dialog, WebhookEditorDialog)
    qtbot.keyClicks(dialog.general_tab.url_edit, "https://erp.example/hooks/order")
    dialog.general_tab.priority_combo.setCurrentIndex(dialog.general_tab.priority_combo.findText("High"))
    dialog.general_tab.unique_check.setFocus()
    qtbot.keyClick(dialog.general_tab.unique_check, Qt.Key.Key_Space)
    dialog.tabs.setCurrentIndex(TAB_PAYLOAD)
    qtbot.keyClicks(dialog.payload_tab.editor, '{"order": "$$Order.OrderCode$$"}')
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible(), dialog.summary.text()


def test_create_a_trigger_entirely_through_the_dialogs(qtbot, ctx):  # noqa: F811
    page = TriggersPage(ctx)
    qtbot.addWidget(page)
    seen: dict[str, object] = {}

    def fill_trigger(dialog) -> None:
        assert isinstance(dialog, TriggerEditorDialog)
        qtbot.keyClicks(dialog.title_edit, "ERP order sync")
        qtbot.keyClicks(dialog.event_picker.lineEdit(), "Order changed")
        qtbot.keyClick(dialog.event_picker.lineEdit(), Qt.Key.Key_Tab)
        seen["event"] = dialog.event_picker.system_name()
        qtbot.mouseClick(dialog.one_shop_radio, Qt.MouseButton.LeftButton)
        dialog.shop_combo.setFocus()
        qtbot.keyClicks(dialog.shop_combo.lineEdit(), "3")
        qtbot.mouseClick(dialog.condition_editor.add_button, Qt.MouseButton.LeftButton)
        rule = dialog.condition_editor.rows[0]
        qtbot.keyClicks(rule.field_edit, "Order.TotalDue")
        seen["operators"] = [rule.operator_combo.itemText(i) for i in range(rule.operator_combo.count())]
        rule.operator_combo.setCurrentIndex(rule.operator_combo.findData("greaterThan"))
        qtbot.keyClicks(rule.value_edit, "100")
        when_modal(lambda webhook: _fill_webhook(qtbot, webhook))
        dialog.add_webhook_action.trigger()  # "Add action → Call Webhook…"
        seen["actions"] = dialog.action_list.count()
        qtbot.mouseClick(dialog.save_close_button, Qt.MouseButton.LeftButton)
        seen["open_after_save"] = dialog.isVisible()

    when_modal(fill_trigger)
    with qtbot.waitSignal(page.triggers_changed):
        page.add_action.trigger()

    assert seen == {
        "event": "OrderChanged",
        "operators": ["=", "≠", ">", "≥", "<", "≤", "between", "is null", "is not null"],
        "actions": 1,
        "open_after_save": False,
    }
    [trigger] = load_all(ctx)
    assert (trigger.title, trigger.event, trigger.shop_id, trigger.enabled) == (
        "ERP order sync",
        "OrderChanged",
        3,
        True,
    )
    assert trigger.condition == {
        "match": "all",
        "rules": [{"field": "Order.TotalDue", "operator": "greaterThan", "value": 100}],
    }
    [action] = trigger.actions
    assert action.id is not None
    assert (action.url, action.priority, action.unique_queue_items) == (
        "https://erp.example/hooks/order",
        Priority.HIGH,
        True,
    )
    assert action.payload_body == '{"order": "$$Order.OrderCode$$"}'
    assert page.model.rowCount() == 1 and page.selected_trigger().title == "ERP order sync"


def test_title_is_required_and_unique(qtbot, ctx, dialogs):  # noqa: F811
    save(ctx, Trigger(title="ERP order sync", event="OrderChanged"))
    dialog = _editor(dialogs, ctx)
    dialog.event_picker.set_event("OrderChanged")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.title_message.isVisible() and "title" in dialog.title_message.text()
    qtbot.keyClicks(dialog.title_edit, "ERP order sync")
    assert not dialog.title_message.isVisible()  # typing clears the old message
    # leaving the field checks it at once (offscreen windows never get focus, so the signal stands in for Tab)
    dialog.title_edit.editingFinished.emit()
    assert "already called" in dialog.title_message.text()
    dialog.title_message.clear_message()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "already called" in dialog.title_message.text()
    assert len(load_all(ctx)) == 1


def test_unknown_event_and_bad_condition_are_named_next_to_their_fields(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _editor(dialogs, ctx)
    qtbot.keyClicks(dialog.title_edit, "Broken")
    qtbot.keyClicks(dialog.event_picker.lineEdit(), "Order exploded")
    rule = dialog.condition_editor.add_rule()
    qtbot.keyClicks(rule.field_edit, "Order.Date")
    rule.operator_combo.setCurrentIndex(rule.operator_combo.findData("before"))
    qtbot.keyClicks(rule.value_edit, "next tuesday")
    assert dialog.save() is False
    assert "Order exploded" in dialog.event_message.text()
    assert "Order.Date" in dialog.condition_message.text()
    assert load_all(ctx) == []


def test_unsaved_changes_prompt_on_escape(qtbot, ctx, dialogs, monkeypatch):  # noqa: F811
    dialog = _editor(dialogs, ctx)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # nothing changed: closes without asking
    assert not dialog.isVisible()

    dialog = _editor(dialogs, ctx)
    qtbot.keyClicks(dialog.title_edit, "Half done")
    dialog.event_picker.set_event("OrderChanged")
    asked = answer_message_boxes(monkeypatch, Button.Cancel)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert asked and "Half done" in asked[0]
    assert dialog.isVisible()  # Cancel keeps editing

    answer_message_boxes(monkeypatch, Button.Discard)
    dialog.close()  # the window's close button asks too
    assert not dialog.isVisible()
    assert load_all(ctx) == []


def test_unsaved_changes_prompt_can_save(qtbot, ctx, dialogs, monkeypatch):  # noqa: F811
    dialog = _editor(dialogs, ctx)
    qtbot.keyClicks(dialog.title_edit, "Kept")
    dialog.event_picker.set_event("Shipment shipped")
    answer_message_boxes(monkeypatch, Button.Save)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert [(t.title, t.event) for t in load_all(ctx)] == [("Kept", "ShipmentShipped")]


def test_save_keeps_the_dialog_open_and_clean(qtbot, ctx, dialogs, monkeypatch):  # noqa: F811
    trigger_id = save(ctx, Trigger(title="ERP order sync", event="OrderChanged", actions=(full_action(),)))
    dialog = _editor(dialogs, ctx, load_all(ctx)[0])
    assert dialog.action_list.count() == 1
    dialog.title_edit.setText("ERP order sync v2")
    assert dialog.is_dirty()
    with qtbot.waitSignal(dialog.trigger_saved) as saved:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert saved.args == [trigger_id]
    assert dialog.isVisible() and not dialog.is_dirty()
    answer_message_boxes(monkeypatch, Button.Cancel)
    dialog.reject()  # clean: no question asked
    assert not dialog.isVisible()
    [stored] = load_all(ctx)
    assert stored.title == "ERP order sync v2" and stored.actions[0].password == "hunter2-password"


def test_actions_move_and_remove(qtbot, ctx, dialogs, monkeypatch):  # noqa: F811
    first, second = full_action(url="https://a.example/1"), full_action(url="https://b.example/2")
    save(ctx, Trigger(title="Two", event="OrderChanged", actions=(first, second)))
    dialog = _editor(dialogs, ctx, load_all(ctx)[0])
    dialog.action_list.setCurrentRow(1)
    qtbot.mouseClick(dialog.up_button, Qt.MouseButton.LeftButton)
    assert "b.example" in dialog.action_list.item(0).text()
    answer_message_boxes(monkeypatch, Button.Yes)
    qtbot.mouseClick(dialog.remove_action_button, Qt.MouseButton.LeftButton)
    assert dialog.action_list.count() == 1
    assert dialog.save()
    assert [a.url for a in load_all(ctx)[0].actions] == ["https://a.example/1"]


def test_the_event_picker_takes_a_seed_spelling(qtbot):
    from shopctrl_desktop.gui.triggers.event_picker import EventPicker

    picker = EventPicker()
    qtbot.addWidget(picker)
    picker.show()
    picker.setFocus()
    with qtbot.waitSignal(picker.event_changed, check_params_cb=lambda name: name == "TicketOutgoingMessage"):
        qtbot.keyClicks(picker.lineEdit(), "Ticket Outcoming Message")
    assert picker.system_name() == "TicketOutgoingMessage"


def test_an_action_line_fits_the_list_at_1024_by_768(qtbot, ctx, dialogs):  # noqa: F811
    """What the action does on one line, how (priority, signing, auth) on a second; a long URL is shortened
    in the middle to the list's width — never cut at the right edge behind a horizontal scroll bar."""
    from PySide6.QtWidgets import QApplication, QStyleOptionViewItem

    long_url = "https://erp.example-shop.internal:8443/api/v2/accounting/invoices/webhooks/incoming-payments"
    action = full_action(url=long_url, signature_scheme=SignatureScheme.STANDARD_WEBHOOKS)
    save(ctx, Trigger(title="Invoices", event="OrderChanged", actions=(action,)))
    dialog = _editor(dialogs, ctx, load_all(ctx)[0])
    dialog.resize(760, 489)  # as the 1024 × 768 screenshot shows it
    QApplication.processEvents()
    view = dialog.action_list
    item = view.item(0)
    what, how = item.text().split("\n")
    assert what == f"Call Webhook — POST {long_url}"
    assert how == "High priority · signed (Standard Webhooks) · basic auth"
    assert not view.horizontalScrollBar().isVisible()
    rect = view.visualItemRect(item)
    assert rect.right() <= view.viewport().width()
    assert long_url in item.toolTip() and how in item.toolTip()
    option = QStyleOptionViewItem()  # what is painted: the long line shortened in the middle to the width
    option.initFrom(view)
    view.itemDelegate().initStyleOption(option, view.model().index(0, 0))
    painted = option.text.split("\u2028")
    assert painted[1] == how and "…" in painted[0]
    assert painted[0].startswith("Call Webhook — POST https://erp.") and painted[0].endswith(
        "incoming-payments"
    )
    assert option.fontMetrics.horizontalAdvance(painted[0]) <= view.viewport().width()
