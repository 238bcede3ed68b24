"""The main window says so when this workstation's key is not the one the database's secrets need."""

from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLabel, QMainWindow

from shopctrl_desktop.gui.app import show_key_warning
from shopctrl_desktop.store.secrets import SecretBox


def test_a_wrong_key_is_shown_in_the_status_bar(qtbot, db):
    # older symmetric keys (a database from before the engine keypair); the sealed case: test_sealed_secrets.py
    key_a, key_b = SecretBox.generate_symmetric(), SecretBox.generate_symmetric()
    right = QMainWindow()
    qtbot.addWidget(right)
    assert show_key_warning(right, SimpleNamespace(db=db, box=key_a)) is None  # records the database's key
    assert right.findChild(QLabel, "key_warning") is None

    wrong = QMainWindow()
    qtbot.addWidget(wrong)
    text = show_key_warning(wrong, SimpleNamespace(db=db, box=key_b))
    assert text is not None and text.startswith("This database's secrets need key")
    label = wrong.findChild(QLabel, "key_warning")
    assert label is not None and "Wrong secret key" in label.text()
    assert key_a.fingerprint in label.toolTip() and "key import" in label.toolTip()
    assert wrong.statusBar().currentMessage() == text


def test_the_triggers_page_lists_another_keys_triggers_but_allows_no_edit(qtbot, app_paths, db):
    from shopctrl_desktop.app_context import AppContext
    from shopctrl_desktop.config import Settings
    from shopctrl_desktop.gui.triggers.page import TriggersPage
    from shopctrl_desktop.store.triggers import list_triggers
    from tests.helpers.factories import make_action

    key_a, key_b = SecretBox.generate(), SecretBox.generate()
    make_action(db, key_a, "http://127.0.0.1:9/x", title="ERP", hmac_secret="s" * 32)
    page = TriggersPage(AppContext(paths=app_paths, settings=Settings(), db=db, box=key_b))
    qtbot.addWidget(page)
    assert [t.title for t in page.model.triggers()] == ["ERP"]
    assert page.secrets_problem is not None and "key import" in page.secrets_problem
    assert not page.add_action.isEnabled() and not page.edit_action.isEnabled()
    assert not page.duplicate_action.isEnabled() and page.delete_action.isEnabled()
    assert "key import" in page.edit_action.toolTip()
    with db.session() as s:  # the secret is still there for the right key
        assert list_triggers(s, key_a)[0].actions[0].hmac_secret == "s" * 32

    right = TriggersPage(AppContext(paths=app_paths, settings=Settings(), db=db, box=key_a))
    qtbot.addWidget(right)
    assert right.secrets_problem is None and right.add_action.isEnabled() and right.edit_action.isEnabled()


def test_an_alert_link_to_a_trigger_with_unreadable_secrets_opens_no_editor(
    qtbot, app_paths, db, monkeypatch
):
    from shopctrl_desktop.app_context import AppContext
    from shopctrl_desktop.config import Settings
    from shopctrl_desktop.gui.main_window import MainWindow
    from shopctrl_desktop.gui.triggers.page import TriggersPage
    from tests.helpers.factories import make_action

    key_a = SecretBox.generate()
    action = make_action(db, key_a, "http://127.0.0.1:9/x", title="ERP", password="pw", username="u")
    with db.session() as s:
        from shopctrl_desktop.store.models import WebhookActionRow

        trigger_id = s.get(WebhookActionRow, action.id).trigger_id
    opened: list[object] = []
    monkeypatch.setattr(TriggersPage, "open_editor", lambda self, trigger: opened.append(trigger))
    window = MainWindow(AppContext(paths=app_paths, settings=Settings(), db=db, box=SecretBox.generate()))
    qtbot.addWidget(window)
    window.show_trigger(trigger_id)
    QCoreApplication.processEvents()  # the editor would open here (QTimer.singleShot(0))
    assert opened == []
    assert "key import" in window.statusBar().currentMessage()
