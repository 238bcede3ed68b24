"""The admin's chair (issue 14 points 1, 6, 7, 9): mistyped merge fields warned, errors that clear after the
fix, the words the UI uses, and editors that fit a 1,024 × 768 screen."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from shopctrl_desktop.domain.model import SignatureScheme, Trigger
from shopctrl_desktop.domain.signing import validate_secret
from shopctrl_desktop.gui.mergefields.browser import MergeFieldBrowser
from shopctrl_desktop.gui.triggers.editor import TriggerEditorDialog, action_summary
from shopctrl_desktop.gui.webhook.editor import TAB_GENERAL, TAB_PAYLOAD, WebhookEditorDialog
from tests.gui.triggers_support import (  # noqa: F401
    OFFSCREEN_NOISE,
    ctx,
    dialogs,
    full_action,
    load_all,
    store_event,
)

pytestmark = OFFSCREEN_NOISE
TRIGGER = Trigger(title="ERP order sync", event="OrderChanged")
TYPO = '{"order": "$$Order.OrderCod$$"}'


def _webhook(dialogs, ctx, action=None) -> WebhookEditorDialog:  # noqa: F811
    return dialogs(WebhookEditorDialog(ctx, action, TRIGGER))


# --- 1. a mistyped merge field ---------------------------------------------------------------------------
def test_a_mistyped_merge_field_is_warned_in_amber_with_a_suggestion_and_underlined(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _webhook(dialogs, ctx, full_action(payload_body=""))
    dialog.tabs.setCurrentIndex(TAB_PAYLOAD)
    tab = dialog.payload_tab
    with qtbot.waitSignal(tab.validated, timeout=3000) as checked:
        qtbot.keyClicks(tab.editor, TYPO)
    assert checked.args == [True]  # never a blocker: the JSON is fine
    assert tab.message.severity() == "warning"
    assert "Order.OrderCod — did you mean Order.OrderCode?" in tab.message.text()
    assert "valid" not in tab.message.text()  # no green "renders to valid application/json"
    [(start, end)] = tab.editor.unknown_field_spans
    assert tab.editor.toPlainText()[start:end] == "Order.OrderCod"
    underlined = [
        s for s in tab.editor.extraSelections() if s.format.fontUnderline() or s.format.underlineStyle()
    ]
    assert len(underlined) == 1 and underlined[0].cursor.selectedText() == "Order.OrderCod"
    qtbot.keyClick(tab.editor, Qt.Key.Key_End)
    for _ in range(3):
        qtbot.keyClick(tab.editor, Qt.Key.Key_Left)
    with qtbot.waitSignal(tab.validated, timeout=3000):
        qtbot.keyClicks(tab.editor, "e")  # $$Order.OrderCode$$
    assert tab.message.severity() == "ok" and tab.editor.unknown_field_spans == []
    assert dialog.problems() == {}


def test_a_mistyped_merge_field_does_not_stop_saving(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _webhook(dialogs, ctx, full_action(payload_body=TYPO, client_certificate=None))
    dialog.accept()
    assert not dialog.isVisible() and dialog.action().payload_body == TYPO


def test_preview_names_the_unknown_field_and_what_was_meant(qtbot, ctx, dialogs):  # noqa: F811
    store_event(ctx)
    dialog = _webhook(dialogs, ctx, full_action(payload_body=TYPO + "\n", client_certificate=None))
    preview = dialog.show_preview()
    with qtbot.waitSignal(preview.preview_rendered, timeout=5000) as rendered:
        pass
    assert json.loads(rendered.args[0].body) == {"order": ""}  # what the receiver would get
    assert preview.fields_message.severity() == "warning"
    assert (
        "Unknown merge field Order.OrderCod — did you mean Order.OrderCode?" in preview.fields_message.text()
    )
    preview.close()


# --- 7. errors clear after the fix ------------------------------------------------------------------------
def test_fix_the_marked_fields_goes_when_the_last_field_is_fixed(qtbot, ctx, dialogs):  # noqa: F811
    dialog = dialogs(TriggerEditorDialog(ctx))
    qtbot.keyClicks(dialog.event_picker.lineEdit(), "Order exploded")
    assert dialog.save() is False
    assert dialog.form_message.text() == "Fix the marked fields to save."
    qtbot.keyClicks(dialog.title_edit, "ERP order sync")
    assert dialog.form_message.isVisible()  # the event is still wrong
    assert not dialog.title_message.isVisible()
    dialog.event_picker.lineEdit().clear()
    qtbot.keyClicks(dialog.event_picker.lineEdit(), "Order changed")
    assert not dialog.form_message.isVisible() and not dialog.event_message.isVisible()
    assert dialog.save() is True


def test_a_fixed_condition_clears_the_form_line_too(qtbot, ctx, dialogs):  # noqa: F811
    dialog = dialogs(TriggerEditorDialog(ctx))
    qtbot.keyClicks(dialog.title_edit, "Big orders")
    dialog.event_picker.set_event("OrderChanged")
    rule = dialog.condition_editor.add_rule()
    qtbot.keyClicks(rule.field_edit, "Order.TotalDue")
    rule.operator_combo.setCurrentIndex(rule.operator_combo.findData("greaterThan"))
    qtbot.keyClicks(rule.value_edit, "lots")
    assert dialog.save() is False
    assert dialog.form_message.isVisible()
    rule.value_edit.clear()
    qtbot.keyClicks(rule.value_edit, "100")
    assert not dialog.form_message.isVisible()


def test_the_tab_warning_and_the_summary_clear_when_the_url_is_fixed(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _webhook(dialogs, ctx)
    dialog.tabs.setCurrentIndex(TAB_PAYLOAD)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.tabs.tabText(TAB_GENERAL) == "General ⚠" and dialog.summary.isVisible()
    qtbot.keyClicks(dialog.general_tab.url_edit, "https://erp")
    qtbot.keyClicks(dialog.general_tab.url_edit, ".example/hook")
    assert dialog.tabs.tabText(TAB_GENERAL) == "General"
    assert not dialog.summary.isVisible()


def test_the_summary_keeps_only_what_is_still_wrong(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _webhook(dialogs, ctx)
    dialog.auth_tab.password_edit.setText("pw")  # a password without a user name
    dialog.accept()
    assert "URL (General)" in dialog.summary.text() and "Authentication" in dialog.summary.text()
    qtbot.keyClicks(dialog.general_tab.url_edit, "https://erp.example/hook")
    assert dialog.tabs.tabText(TAB_GENERAL) == "General"
    assert "URL" not in dialog.summary.text() and "Authentication" in dialog.summary.text()


# --- 6. words --------------------------------------------------------------------------------------------
def test_words_merge_fields_standard_webhooks_and_the_operator_as_shown(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _webhook(dialogs, ctx)
    assert dialog.payload_tab.mergefields_button.text() == "Available merge fields…"
    browser = dialogs(MergeFieldBrowser(ctx, "OrderChanged"))
    assert browser.windowTitle() == "Available merge fields"
    assert "mergefields" not in browser.show_all_button.text()
    signed = full_action(signature_scheme=SignatureScheme.STANDARD_WEBHOOKS)
    assert "signed (Standard Webhooks)" in action_summary(signed)
    editor = dialogs(TriggerEditorDialog(ctx))
    qtbot.keyClicks(editor.title_edit, "Big orders")
    editor.event_picker.set_event("OrderChanged")
    rule = editor.condition_editor.add_rule()
    qtbot.keyClicks(rule.field_edit, "Order.TotalDue")
    rule.operator_combo.setCurrentIndex(rule.operator_combo.findData("greaterThan"))
    qtbot.keyClicks(rule.value_edit, "lots")
    assert editor.save() is False
    assert rule.operator_combo.currentText() == ">"
    assert "'>' needs a number or a date" in editor.condition_message.text()
    assert "greaterThan" not in editor.condition_message.text()


# --- 9. fit and finish ------------------------------------------------------------------------------------
def test_timeout_is_as_wide_as_its_value_not_the_dialog(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _webhook(dialogs, ctx)
    dialog.resize(1024, 768)
    qtbot.waitExposed(dialog)
    general = dialog.general_tab
    assert general.timeout_spin.width() < general.url_edit.width() / 3
    assert general.method_combo.width() < general.url_edit.width() / 2


def test_a_generated_secret_can_be_copied_for_the_receiver(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _webhook(dialogs, ctx)
    general = dialog.general_tab
    assert not general.copy_button.isEnabled()  # nothing to copy yet
    qtbot.mouseClick(general.generate_button, Qt.MouseButton.LeftButton)
    secret = general.secret_edit.text()
    validate_secret(SignatureScheme.SHOPCTRL, secret)
    assert general.copy_button.isEnabled()
    assert general.copy_button.parentWidget() is general.generate_button.parentWidget()  # beside Generate
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(general.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == secret
    assert "Copied" in general.secret_message.text()
    assert not general.secret_edit.is_revealed()  # copying does not put it on screen


def test_the_editors_fit_a_1024_by_768_screen(qtbot, ctx, dialogs):  # noqa: F811
    usable = (1024, 768 - 48)  # minus a task bar
    trigger = dialogs(TriggerEditorDialog(ctx))
    webhook = _webhook(dialogs, ctx, full_action())
    for dialog in (trigger, webhook):
        qtbot.waitExposed(dialog)
        need = dialog.minimumSizeHint().expandedTo(dialog.minimumSize())
        assert need.width() <= usable[0] and need.height() <= usable[1], (type(dialog).__name__, need)
        assert dialog.width() <= usable[0] and dialog.height() <= usable[1], (
            type(dialog).__name__,
            dialog.size(),
        )
