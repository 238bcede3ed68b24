"""The webhook editor's "Rotate secret…" (General tab, right under the signature scheme): the rotation state on
the tab, the dialog, the rotation applied on save, and no enabled button for a read-only login or an unsaved
action; the Authentication tab says where the secret is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel

from shopctrl_desktop.domain.model import SignatureScheme, Trigger, WebhookAction
from shopctrl_desktop.domain.roles import Role
from shopctrl_desktop.domain.signing import generate_secret
from shopctrl_desktop.gui.webhook.editor import TAB_AUTH, TAB_GENERAL, WebhookEditorDialog
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.roles import Identity
from shopctrl_desktop.store.secret_rotation import rotate_secret
from tests.gui.triggers_support import OFFSCREEN_NOISE, ctx, dialogs  # noqa: F401
from tests.helpers.factories import make_action

pytestmark = OFFSCREEN_NOISE
SW = SignatureScheme.STANDARD_WEBHOOKS


def _stored(ctx, action_id: int) -> tuple[Trigger, WebhookAction]:  # noqa: F811
    with ctx.db.session() as s:
        (trigger,) = [t for t in trigger_store.list_triggers(s, ctx.box) if t.actions[0].id == action_id]
    return trigger, trigger.actions[0]


def test_rotate_in_the_editor_then_save_keeps_the_previous_secret_signing(qtbot, ctx, dialogs):  # noqa: F811
    old = generate_secret(SW)
    stored = make_action(
        ctx.db,
        ctx.box,
        "https://erp.example/hook",
        title="Orders to ERP",
        hmac_secret=old,
        signature_scheme=SW,
    )
    trigger, action = _stored(ctx, stored.id)
    dialog = dialogs(WebhookEditorDialog(ctx, action, trigger))
    dialog.tabs.setCurrentIndex(TAB_GENERAL)
    tab = dialog.general_tab.rotation
    assert tab.isVisible() and tab.rotate_button.isVisible()
    assert tab.rotate_button.isEnabled() and "not been rotated" in tab.rotation_label.text()

    qtbot.mouseClick(tab.rotate_button, Qt.MouseButton.LeftButton)
    rotate = dialog.rotate_dialog
    qtbot.waitUntil(rotate.isVisible)
    assert rotate.overlap_spin.isEnabled() and rotate.overlap_spin.value() == 24
    rotate.secret_edit.setText("not-a-whsec-secret")
    qtbot.mouseClick(rotate.ok_button, Qt.MouseButton.LeftButton)
    assert rotate.isVisible() and "whsec_" in rotate.message.text()
    rotate.secret_edit.setText(old)
    qtbot.mouseClick(rotate.ok_button, Qt.MouseButton.LeftButton)
    assert rotate.isVisible() and "same as the current one" in rotate.message.text()
    qtbot.mouseClick(rotate.generate_button, Qt.MouseButton.LeftButton)
    new = rotate.new_secret()
    assert new.startswith("whsec_") and new != old
    with qtbot.waitSignal(rotate.accepted):
        qtbot.mouseClick(rotate.ok_button, Qt.MouseButton.LeftButton)
    assert "rotated when you save" in tab.rotation_label.text() and "24 h" in tab.rotation_label.text()
    assert dialog.general_tab.secret_edit.text() == new and dialog.is_dirty()

    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    edited = dialog.action()
    with ctx.db.session() as s:
        trigger_store.save_trigger(s, ctx.box, Trigger(**{**trigger.__dict__, "actions": (edited,)}))
    _, saved = _stored(ctx, stored.id)
    assert (saved.hmac_secret, saved.previous_hmac_secret) == (new, old)
    assert saved.previous_secret_expires_at - saved.secret_rotated_at == timedelta(hours=24)

    # opened again: the tab says when, and until when the previous secret signs (local time)
    reopened = dialogs(WebhookEditorDialog(ctx, saved, trigger))
    text = reopened.general_tab.rotation.rotation_label.text()
    until = saved.previous_secret_expires_at.astimezone().strftime("%Y-%m-%d %H:%M")
    assert text.startswith("Secret rotated ") and f"also signed until {until}" in text
    assert new not in text and old not in text


def test_a_cut_over_scheme_says_receivers_must_switch_and_offers_no_overlap(qtbot, ctx, dialogs):  # noqa: F811
    stored = make_action(
        ctx.db, ctx.box, "https://ci.example/hook", hmac_secret="gh-secret", signature_scheme="github"
    )
    with ctx.db.session() as s:
        rotate_secret(
            s,
            ctx.box,
            stored.id,
            "gh-secret-2",
            overlap_hours=24,
            now=datetime(2026, 12, 3, 10, 42, tzinfo=UTC),
        )
    trigger, action = _stored(ctx, stored.id)
    dialog = dialogs(WebhookEditorDialog(ctx, action, trigger))
    assert "(receivers must use the new secret now)" in dialog.general_tab.rotation.rotation_label.text()
    rotate = dialog.rotate_secret()
    qtbot.waitUntil(rotate.isVisible)
    assert not rotate.overlap_spin.isEnabled() and rotate.overlap_hours() == 0
    rotate.reject()


def test_no_rotation_for_a_read_only_login_or_an_unsaved_action(qtbot, ctx, dialogs):  # noqa: F811
    unsaved = dialogs(
        WebhookEditorDialog(
            ctx,
            WebhookAction(url="https://x.example/h", hmac_secret="s"),
            Trigger(title="New", event="OrderChanged"),
        )
    )
    assert not unsaved.general_tab.rotation.rotate_button.isEnabled()
    assert "Save the action" in unsaved.general_tab.rotation.rotate_button.toolTip()
    assert not unsaved.general_tab.rotation.isVisibleTo(unsaved)  # nothing to rotate yet: no row

    stored = make_action(
        ctx.db, ctx.box, "https://erp.example/hook", hmac_secret=generate_secret(SW), signature_scheme=SW
    )
    ctx.identity = Identity("anna", Role.SUPPORT, False)
    with ctx.db.session() as s:
        (public,) = [t for t in trigger_store.list_public_triggers(s) if t.actions[0].id == stored.id]
    read_only = dialogs(WebhookEditorDialog(ctx, public.actions[0], public))
    assert read_only.read_only and not read_only.general_tab.rotation.rotate_button.isEnabled()


def test_rotation_sits_under_the_signature_scheme_and_authentication_says_where(qtbot, ctx, dialogs):  # noqa: F811
    stored = make_action(
        ctx.db, ctx.box, "https://erp.example/hook", hmac_secret=generate_secret(SW), signature_scheme=SW
    )
    trigger, action = _stored(ctx, stored.id)
    dialog = dialogs(WebhookEditorDialog(ctx, action, trigger))
    dialog.resize(1024 - 80, 768 - 80)  # the editor on a 1024 × 768 screen
    general = dialog.general_tab
    form = general.findChild(QFormLayout)
    scheme_row, _ = form.getWidgetPosition(general.scheme_combo)
    rotation_row, _ = form.getWidgetPosition(general.rotation)
    assert rotation_row == scheme_row + 1
    label = form.itemAt(rotation_row, QFormLayout.ItemRole.LabelRole).widget()
    assert label.text() == "Secret rotation:"
    assert general.rotation.height() <= 2 * general.scheme_combo.height() + 8  # compact: one line
    assert not dialog.auth_tab.findChildren(type(general.rotation.rotate_button))  # no button there
    where = dialog.auth_tab.findChild(QLabel, "hmac_on_general_tab")
    assert where is not None and "General tab" in where.text()
    # the tab order: scheme, then Rotate secret…
    chain = general.tab_chain
    assert chain[chain.index(general.scheme_combo) + 1] is general.rotation.rotate_button
    dialog.tabs.setCurrentIndex(TAB_AUTH)
