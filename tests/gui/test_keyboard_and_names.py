"""Keyboard and screen readers (issue 14 point 3 and "Accessibility"): Tab follows the visual order in every
editor, the PEM boxes pass Tab on, every focusable widget has a name and every input a label, and a trigger
with a signed webhook can be created with key presses alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from shopctrl_desktop.domain.model import SignatureScheme, Trigger
from shopctrl_desktop.domain.signing import validate_secret
from shopctrl_desktop.gui.erase_dialog import EraseDialog
from shopctrl_desktop.gui.first_run import DatabaseChoiceDialog, SignInDialog
from shopctrl_desktop.gui.mergefields.browser import MergeFieldBrowser
from shopctrl_desktop.gui.settings.dialog import SettingsDialog
from shopctrl_desktop.gui.triggers.conditions import RuleRow
from shopctrl_desktop.gui.triggers.editor import TriggerEditorDialog
from shopctrl_desktop.gui.triggers.shops_dialog import ShopsDialog
from shopctrl_desktop.gui.webhook.editor import TAB_TITLES, WebhookEditorDialog
from shopctrl_desktop.gui.webhook.preview import RequestPreviewDialog
from shopctrl_desktop.store.models import Shop
from tests.gui.a11y_support import (
    describe,
    inputs_without_label,
    press_tab,
    tab_walk,
    unnamed_focusables,
)
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


def _active(qtbot, dialogs, dialog: QWidget) -> QWidget:  # noqa: F811
    """Shown and the active window, as a dialog the user just opened (keys go to the focus widget)."""
    dialogs(dialog)
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def _names(widgets: list[QWidget]) -> list[str]:
    return [describe(w) for w in widgets]


# --- Tab order ---------------------------------------------------------------------------------------
def test_call_webhook_general_tab_order_follows_the_visual_order(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _active(qtbot, dialogs, WebhookEditorDialog(ctx, None, TRIGGER))
    general = dialog.general_tab
    assert dialog.focusWidget() is general.url_edit  # the dialog opens on the URL
    expected = [
        general.url_edit,
        general.method_combo,
        general.priority_combo,
        general.unique_check,
        general.secret_edit.edit,
        general.secret_edit.toggle,
        general.generate_button,  # Copy is disabled while there is no secret
        general.scheme_combo,
        general.certificate_box.pem_edit,
        general.certificate_box.import_button,  # Show PEM and Clear show only once a key is there
        general.certificate_box.passphrase_edit.edit,
        general.certificate_box.passphrase_edit.toggle,
        general.ca_box.pem_edit,
        general.timeout_spin,
        dialog.ok_button,
        dialog.buttons.button(dialog.buttons.StandardButton.Cancel),
    ]
    walked = tab_walk(general.url_edit, len(expected) - 1)
    assert _names(walked) == _names(expected) and walked == expected
    general.url_edit.setFocus()
    assert press_tab(back=True) is dialog.tabs.tabBar()  # above the fields: the tab bar


def test_tab_in_the_certificate_boxes_moves_on_instead_of_typing_a_tab(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _active(qtbot, dialogs, WebhookEditorDialog(ctx, None, TRIGGER))
    client = dialog.general_tab.certificate_box
    for box, after in (
        (client, client.show_button),  # with text in the box, "Show PEM" appears beside Import
        (dialog.general_tab.ca_box, dialog.general_tab.timeout_spin),
    ):
        box.pem_edit.setFocus()
        qtbot.keyClicks(box.pem_edit, "-----BEGIN")
        assert describe(press_tab()) == describe(after)
        assert "\t" not in box.pem_edit.toPlainText()


def test_the_other_webhook_tabs_walk_in_visual_order(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _active(qtbot, dialogs, WebhookEditorDialog(ctx, None, TRIGGER))
    dialog.tabs.setCurrentIndex(TAB_TITLES.index("Authentication"))
    auth = dialog.auth_tab
    walked = tab_walk(auth.username_edit, 4)
    assert walked == [
        auth.username_edit,
        auth.password_edit.edit,
        auth.password_edit.toggle,
        dialog.ok_button,
        dialog.buttons.button(dialog.buttons.StandardButton.Cancel),
    ]
    dialog.tabs.setCurrentIndex(TAB_TITLES.index("Payload"))
    payload = dialog.payload_tab
    walked = tab_walk(payload.mime_combo, 4)
    assert walked == [
        payload.mime_combo,
        payload.mergefields_button,
        payload.preview_button,
        payload.send_test_button,
        payload.editor,
    ]
    dialog.tabs.setCurrentIndex(TAB_TITLES.index("Headers"))
    headers = dialog.headers_tab
    walked = tab_walk(headers.table, 3)
    assert walked == [headers.table, headers.add_button, headers.remove_button, dialog.ok_button]


def test_trigger_editor_opens_on_title_and_tabs_in_visual_order(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _active(qtbot, dialogs, TriggerEditorDialog(ctx))
    assert dialog.focusWidget() is dialog.title_edit
    rule = dialog.condition_editor.add_rule()
    assert isinstance(rule, RuleRow)
    expected = [
        dialog.title_edit,
        dialog.event_picker,
        dialog.all_shops_radio,  # the checked radio of the pair (arrow keys choose "Only shop")
        dialog.shops_button,  # the shop box is disabled while "All shops" is chosen
        dialog.enabled_check,
        dialog.condition_editor.add_button,  # "all/any" is disabled for one rule
        rule.field_edit,
        rule.operator_combo,
        rule.value_edit,
        rule.remove_button,
        dialog.action_list,
        dialog.add_action_button,
        dialog.save_button,
        dialog.save_close_button,
        dialog.cancel_button,
    ]
    walked = [
        w.parentWidget() if w is dialog.event_picker.lineEdit() else w
        for w in tab_walk(dialog.title_edit, len(expected) - 1)
    ]
    assert _names(walked) == _names(expected) and walked == expected


# --- names and labels --------------------------------------------------------------------------------
Walk = tuple[str, Callable[[], QWidget], Callable[[QWidget], None]]


def _settings_tab(index: int) -> Callable[[QWidget], None]:
    def on_tab(dialog: SettingsDialog) -> None:
        dialog.tabs.setCurrentIndex(index)

    return on_tab  # type: ignore[return-value]


def _dialogs_to_walk(ctx, app_paths) -> list[Walk]:  # noqa: F811
    def with_rule(dialog: TriggerEditorDialog) -> None:
        dialog.condition_editor.add_rule({"field": "Order.TotalDue", "operator": "between", "value": [1, 2]})

    def shared(dialog: DatabaseChoiceDialog) -> None:
        dialog.shared_radio.setChecked(True)

    nothing: Callable[[QWidget], None] = lambda _d: None  # noqa: E731
    walks: list[tuple[str, Callable[[], QWidget], Callable[[QWidget], None]]] = [
        ("trigger editor", lambda: TriggerEditorDialog(ctx), with_rule),
        *(
            (f"settings › tab {index}", lambda: SettingsDialog(ctx), _settings_tab(index))
            for index in range(4)  # General, Delivery, Data, Appearance: only the shown tab is reachable
        ),
        ("erase customer data", lambda: EraseDialog(ctx), nothing),
        ("shops", lambda: ShopsDialog(ctx), nothing),
        ("first run", lambda: DatabaseChoiceDialog(app_paths), nothing),
        ("first run, shared database", lambda: DatabaseChoiceDialog(app_paths), shared),
        ("sign in", lambda: SignInDialog("postgresql://anna@db.example/shop"), nothing),
        ("preview / send test", lambda: RequestPreviewDialog(ctx, TRIGGER, full_action()), nothing),
        ("merge fields", lambda: MergeFieldBrowser(ctx, "OrderChanged"), nothing),
    ]
    for index, title in enumerate(TAB_TITLES):

        def on_tab(dialog: WebhookEditorDialog, index: int = index) -> None:
            dialog.tabs.setCurrentIndex(index)

        walks.append(
            (f"Call Webhook › {title}", lambda: WebhookEditorDialog(ctx, full_action(), TRIGGER), on_tab)
        )
    return walks


def test_every_dialog_names_every_focusable_widget_and_labels_every_input(qtbot, ctx, dialogs, app_paths):  # noqa: F811
    with ctx.db.session() as session:
        session.add(Shop(id=3, name="Webshop NL"))
    store_event(ctx)
    problems = {}
    for title, make, prepare in _dialogs_to_walk(ctx, app_paths):
        dialog = dialogs(make())
        qtbot.waitExposed(dialog)
        prepare(dialog)
        QApplication.processEvents()
        unnamed = unnamed_focusables(dialog)
        unlabelled = inputs_without_label(dialog, exempt=(RuleRow,))  # a rule row is named, not labelled
        if unnamed or unlabelled:
            problems[title] = {"unnamed": unnamed, "no label": unlabelled}
        dialog.done(0)
    assert problems == {}


# --- keyboard only -----------------------------------------------------------------------------------
def _when(kind: type, callback: Callable[[QWidget], None]) -> None:
    """Run ``callback`` on the first active popup or modal dialog of ``kind`` (polling inside its loop)."""
    tries = {"n": 0}

    def poll() -> None:
        widget = QApplication.activePopupWidget() or QApplication.activeModalWidget()
        if not isinstance(widget, kind) or not widget.isActiveWindow():  # keys go to the active window
            if isinstance(widget, kind):
                widget.activateWindow()
            tries["n"] += 1
            if tries["n"] < 500:
                QTimer.singleShot(10, poll)
            return
        try:
            callback(widget)
        except BaseException:
            if isinstance(widget, QDialog):
                widget.done(0)
            else:
                widget.close()
            raise

    QTimer.singleShot(0, poll)


def _key(key: Qt.Key, times: int = 1, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    for _ in range(times):
        widget = QApplication.focusWidget()
        assert widget is not None
        QTest.keyClick(widget, key, modifier)


def _type(text: str) -> None:
    widget = QApplication.focusWidget()
    assert widget is not None
    QTest.keyClicks(widget, text)


def _tab_to(target: QWidget, limit: int = 40) -> None:
    """Press Tab until ``target`` has the focus (a user looking at the screen does the same)."""
    for _ in range(limit):
        if QApplication.focusWidget() is target:
            return
        _key(Qt.Key.Key_Tab)
    raise AssertionError(f"Tab never reached {describe(target)}")


def test_a_trigger_with_a_signed_webhook_is_created_with_key_presses_alone(qtbot, ctx, dialogs):  # noqa: F811
    from PySide6.QtWidgets import QMenu

    dialog = _active(qtbot, dialogs, TriggerEditorDialog(ctx))
    assert QApplication.focusWidget() is dialog.title_edit
    seen: dict[str, object] = {}

    def fill_webhook(webhook: WebhookEditorDialog) -> None:
        general = webhook.general_tab
        assert QApplication.focusWidget() is general.url_edit
        _type("https://erp.example/hooks/order")
        _tab_to(general.scheme_combo)
        _key(Qt.Key.Key_Down)  # ShopCtrl → Standard Webhooks
        _key(Qt.Key.Key_Tab, 1, Qt.KeyboardModifier.ShiftModifier)
        assert QApplication.focusWidget() is general.generate_button
        _key(Qt.Key.Key_Space)  # Generate
        seen["copy enabled"] = general.copy_button.isEnabled()
        _key(Qt.Key.Key_Tab, 2, Qt.KeyboardModifier.ShiftModifier)  # back to the secret box
        assert QApplication.focusWidget() is general.secret_edit.edit
        _key(Qt.Key.Key_Return)  # OK is the dialog's default button

    def choose_call_webhook(menu: QMenu) -> None:
        _when(WebhookEditorDialog, fill_webhook)
        QTest.keyClick(menu, Qt.Key.Key_Down)
        QTest.keyClick(menu, Qt.Key.Key_Return)

    _type("ERP order sync")
    _key(Qt.Key.Key_Tab)
    _type("Order changed")
    _key(Qt.Key.Key_Tab)
    _tab_to(dialog.add_action_button)
    _when(QMenu, choose_call_webhook)
    _key(Qt.Key.Key_Space)  # opens "Add action ▾"
    qtbot.waitUntil(lambda: dialog.action_list.count() == 1)
    # a window manager gives the focus back to the editor when the Call Webhook dialog closes; offscreen
    # Qt does not, so the test does what the window manager would
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    assert "signed (Standard Webhooks)" in dialog.action_list.item(0).text()
    _tab_to(dialog.save_button)
    _key(Qt.Key.Key_Space)
    [trigger] = load_all(ctx)
    assert (trigger.title, trigger.event, trigger.enabled) == ("ERP order sync", "OrderChanged", True)
    [action] = trigger.actions
    assert action.url == "https://erp.example/hooks/order"
    assert action.signature_scheme == SignatureScheme.STANDARD_WEBHOOKS
    validate_secret(SignatureScheme.STANDARD_WEBHOOKS, action.hmac_secret or "")
    assert seen == {"copy enabled": True}
    assert dialog.form_message.text() == "Saved."
    dialog.done(0)


@pytest.fixture(autouse=True)
def _focus_free_of_other_windows(qapp):  # noqa: PT004
    yield
    for widget in qapp.topLevelWidgets():
        if isinstance(widget, QDialog) and widget.isVisible():
            widget.done(0)
