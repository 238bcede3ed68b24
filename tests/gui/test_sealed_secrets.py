"""A workstation without the engine key (issue 11 item 3): a secret sealed for the engine is shown as
"stored — type to replace"; it can be replaced or cleared, never read, and saving keeps it as it is."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.model import Trigger
from shopctrl_desktop.domain.stored_secret import stored_secret
from shopctrl_desktop.gui.webhook.certificate import SEALED_TEXT
from shopctrl_desktop.gui.webhook.editor import WebhookEditorDialog
from shopctrl_desktop.gui.widgets.secret_edit import STORED_PLACEHOLDER
from shopctrl_desktop.store.keys import record_engine_key
from shopctrl_desktop.store.secrets import SecretBox
from tests.gui.triggers_support import (  # noqa: F401
    OFFSCREEN_NOISE,
    ctx,
    dialogs,
    full_action,
    load_all,
    save,
)

pytestmark = OFFSCREEN_NOISE
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TRIGGER = Trigger(title="ERP order sync", event="OrderChanged")


def test_a_sealed_secret_is_kept_replaced_or_cleared_never_shown(qtbot, ctx, dialogs):  # noqa: F811
    hmac, password, certificate = (stored_secret(f"v2:{c * 40}") for c in "ABC")
    action = full_action(hmac_secret=hmac, password=password, client_certificate=certificate, id=7)
    dialog = dialogs(WebhookEditorDialog(ctx, action, TRIGGER))
    general, auth = dialog.general_tab, dialog.auth_tab
    for field in (general.secret_edit, auth.password_edit):
        assert field.edit.text() == "" and field.edit.placeholderText() == STORED_PLACEHOLDER
        assert field.is_stored() and not field.toggle.isEnabled() and not field.clear_stored.isHidden()
    assert general.certificate_box.hidden_label.text() == SEALED_TEXT
    assert general.certificate_box.show_button.isHidden()
    assert not general.certificate_box.message.has_error()
    assert dialog.action() == action and not dialog.is_dirty()  # saving keeps what is stored
    general.show()
    general.resize(760, general.sizeHint().height())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert general.grab().save(str(SCREENSHOTS / "sealed-secret-editor.png"))

    qtbot.keyClicks(general.secret_edit.edit, "a-new-hmac-secret")  # typing replaces it
    assert dialog.action().hmac_secret == "a-new-hmac-secret" and general.secret_edit.toggle.isEnabled()
    qtbot.mouseClick(auth.password_edit.clear_stored, Qt.MouseButton.LeftButton)  # Clear removes it
    assert dialog.action().password is None and auth.password_edit.clear_stored.isHidden()
    assert auth.password_edit.edit.placeholderText() != STORED_PLACEHOLDER
    general.certificate_box._on_clear_button_clicked()  # noqa: SLF001 - the Clear button's slot
    assert dialog.action().client_certificate is None


def test_the_triggers_page_edits_triggers_whose_secrets_are_sealed_for_the_engine(qtbot, app_paths, db):
    from shopctrl_desktop.gui.triggers.page import TriggersPage

    engine = SecretBox.generate()
    with db.session() as s:
        assert record_engine_key(s, engine)
    admin = AppContext(paths=app_paths, settings=Settings(), db=db, box=SecretBox.generate())
    save(admin, Trigger(title="ERP", event="OrderChanged", actions=(full_action(),)))
    page = TriggersPage(admin)
    qtbot.addWidget(page)
    (trigger,) = page.model.triggers()
    assert page.secrets_problem is None and page.edit_action.isEnabled() and page.add_action.isEnabled()
    assert trigger.actions[0].hmac_secret != full_action().hmac_secret  # a marker, not the secret
    (readable,) = load_all(AppContext(paths=app_paths, settings=Settings(), db=db, box=engine))
    assert readable.actions[0].hmac_secret == full_action().hmac_secret  # the engine opens it


def test_a_workstation_without_the_engine_key_is_told_it_can_replace_not_read(qtbot, db):
    from types import SimpleNamespace

    from PySide6.QtWidgets import QLabel, QMainWindow

    from shopctrl_desktop.gui.app import show_key_warning

    engine, admin = SecretBox.generate(), SecretBox.generate()
    assert show_key_warning(QMainWindow(), SimpleNamespace(db=db, box=engine)) is None  # records the key
    window = QMainWindow()
    qtbot.addWidget(window)
    text = show_key_warning(window, SimpleNamespace(db=db, box=admin))
    assert text is not None and "does not hold the engine key" in text and engine.fingerprint in text
    label = window.findChild(QLabel, "key_warning")
    assert label is not None and label.text().startswith(
        "No engine key: secrets can be replaced here, not read"
    )


def test_send_test_with_a_sealed_secret_says_it_needs_the_engine_key(qtbot, ctx, dialogs):  # noqa: F811
    from shopctrl_desktop.domain.stored_secret import SEND_NEEDS_ENGINE_KEY

    action = full_action(url="http://127.0.0.1:9/x", hmac_secret=stored_secret("v2:" + "A" * 40))
    preview = dialogs(WebhookEditorDialog(ctx, action, TRIGGER)).show_preview()
    with qtbot.waitSignal(preview.preview_rendered, timeout=5000):
        pass
    with qtbot.waitSignal(preview.test_finished, timeout=5000) as finished:
        qtbot.mouseClick(preview.send_button, Qt.MouseButton.LeftButton)
    assert finished.args[0] == SEND_NEEDS_ENGINE_KEY
    assert "Not sent" in preview.status_label.text() and "engine key" in preview.response_view.toPlainText()
    preview.close()
