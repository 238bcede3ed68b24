"""The GUI shows what the current login may do (SPEC §10), against a real PostgreSQL server with real logins:
a support (or engine) login sees the triggers, their editors and the shop names read-only, with a line saying
why, the secrets only as "set" / "not set" (never selected: the login may not), and still retries from the
queue; a save the server refuses becomes a message in a dialog. An admin login on PostgreSQL and the user of a
SQLite file can edit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.domain.roles import Role
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.main_window import MainWindow
from shopctrl_desktop.gui.permissions import REFUSED_TITLE, is_read_only_input
from shopctrl_desktop.gui.queue.page import QueuePage
from shopctrl_desktop.gui.triggers.editor import TriggerEditorDialog
from shopctrl_desktop.gui.triggers.page import TriggersPage
from shopctrl_desktop.gui.triggers.shops_dialog import ShopsDialog
from shopctrl_desktop.store import roles
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import TriggerRow
from tests.gui.queue_support import OFFSCREEN_NOTE, add_queue_items, item_status
from tests.gui.triggers_support import answer_message_boxes
from tests.helpers.postgres import PostgresCluster, throwaway_postgres

pytestmark = OFFSCREEN_NOTE

HMAC, PASSWORD = "hmac-plain-5e1f", "hunter2-password"
INPUTS = (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractButton, QComboBox, QAbstractSpinBox)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-readonly-") as cluster:
        yield cluster


@dataclass
class Shared:
    owner: Database
    logins: dict[Role, str]
    url: dict[Role, str]
    opened: list[Database]

    def context(self, role: Role, app_paths, box) -> AppContext:  # type: ignore[no-untyped-def]
        database = Database(self.url[role])
        self.opened.append(database)
        return AppContext(app_paths, Settings(deliver_here=False), db=database, box=box)


@pytest.fixture
def shared(postgres, box) -> Iterator[Shared]:
    """A database set up by its owner with one login per role and the trigger "ERP" (signed, basic auth)."""
    owner = postgres.new_database()
    name = make_url(owner.url).database
    suffix = uuid.uuid4().hex[:6]
    logins = {role: f"{role.value}_{suffix}" for role in Role}
    with owner.session() as s:
        roles.setup_roles(s)
    for role, login in logins.items():
        with owner.session() as s:
            roles.add_user(s, login, role, "pw-" + suffix)
    with owner.session() as s:
        trigger_store.save_trigger(
            s,
            box,
            Trigger(
                title="ERP",
                event="OrderChanged",
                actions=(
                    WebhookAction(
                        url="https://erp.example/hook", hmac_secret=HMAC, username="erp", password=PASSWORD
                    ),
                ),
            ),
        )
    base, port = postgres.base, postgres.port
    urls = {r: f"postgresql+psycopg://{u}@/{name}?host={base}&port={port}" for r, u in logins.items()}
    state = Shared(owner, logins, urls, [])
    yield state
    assert wait_for_background(10_000)
    for database in (*state.opened, owner):
        database.dispose()


def editable_inputs(root: QWidget, *, spare: tuple[QWidget, ...] = ()) -> list[str]:
    """The inputs under ``root`` a person could change something with (tab-bar scroll buttons and the
    widgets in ``spare`` aside)."""
    found = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INPUTS) or widget in spare or isinstance(widget.parentWidget(), QTabBar):
            continue
        if isinstance(widget, QLineEdit) and isinstance(widget.parentWidget(), (QComboBox, QAbstractSpinBox)):
            continue  # judged by its combo or spin box
        if not is_read_only_input(widget):
            found.append(f"{type(widget).__name__} {widget.objectName() or getattr(widget, 'text', str)()}")
    return found


def test_support_may_not_read_the_secret_columns_and_the_triggers_page_still_lists(
    qtbot, shared, app_paths, box
):
    ctx = shared.context(Role.SUPPORT, app_paths, box)
    with ctx.db.session() as s:  # the server's own answer: no secret column for support
        assert not roles.may_read_secrets(s)
        assert not s.scalar(text("SELECT has_column_privilege('webhook_actions', 'password_enc', 'SELECT')"))
    page = TriggersPage(ctx)
    qtbot.addWidget(page)
    page.show()
    login = shared.logins[Role.SUPPORT]
    assert [t.title for t in page.model.triggers()] == ["ERP"]
    assert page.model.triggers()[0].actions[0].hmac_secret is None  # never fetched
    assert page.read_only_label.text() == (
        f"Read-only: you are signed in as {login} (support). Only an admin can change triggers."
    )
    for action in (page.add_action, page.duplicate_action, page.delete_action, page.enable_action):
        assert not action.isEnabled()
    assert page.edit_action.isEnabled() and page.edit_action.text() == "View…"
    enabled_cell = page.model.index(0, 4)
    assert not page.model.flags(enabled_cell) & Qt.ItemFlag.ItemIsUserCheckable
    assert not page.model.setData(enabled_cell, Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.ENGINE])
def test_support_and_engine_open_the_editors_read_only_with_secrets_only_set_or_not(
    qtbot, shared, app_paths, box, role
):
    ctx = shared.context(role, app_paths, box)
    with ctx.db.session() as s:
        (trigger,) = trigger_store.list_public_triggers(s)
    editor = TriggerEditorDialog(ctx, trigger)
    qtbot.addWidget(editor)
    editor.show()
    why = f"Read-only: you are signed in as {shared.logins[role]} ({role.value}). Only an admin can change triggers."
    assert editor.read_only_label.text() == why and editor.read_only_label.isVisible()
    assert editable_inputs(editor, spare=(editor.edit_action_button, editor.cancel_button)) == []
    assert not editor.save_button.isVisible() and not editor.save_close_button.isVisible()
    assert editor.cancel_button.text() == "Close" and editor.edit_action_button.text() == "View…"
    assert editor.edit_action_button.isEnabled()
    assert not editor.is_dirty()

    action = editor.open_action_editor(trigger.actions[0])
    qtbot.addWidget(action)
    action.show()
    close = action.buttons.button(action.buttons.StandardButton.Cancel)
    assert action.read_only_label.text() == why
    assert editable_inputs(action, spare=(close,)) == []
    assert not action.ok_button.isVisible() and close.text() == "Close"
    assert action.general_tab.url_edit.text() == "https://erp.example/hook"
    secret = action.general_tab.secret_edit.edit
    password = action.auth_tab.password_edit.edit
    passphrase = action.general_tab.certificate_box.passphrase_edit.edit
    assert (secret.text(), secret.placeholderText()) == ("", "set")
    assert (password.text(), password.placeholderText()) == ("", "set")
    assert passphrase.placeholderText() == "not set"
    assert HMAC not in secret.text() + secret.placeholderText()
    action.accept()  # Enter: closes, changes nothing
    assert action.result() == action.DialogCode.Rejected


def test_support_sees_shop_names_read_only_and_the_login_in_the_status_bar(qtbot, shared, app_paths, box):
    ctx = shared.context(Role.SUPPORT, app_paths, box)
    dialog = ShopsDialog(ctx)
    qtbot.addWidget(dialog)
    assert dialog.read_only and "Only an admin can change shop names" in dialog.read_only
    assert not dialog.rename_button.isEnabled()
    assert dialog.table.editTriggers() == dialog.table.EditTrigger.NoEditTriggers
    qtbot.waitUntil(lambda: dialog.stack.currentWidget() is not dialog.loading_label, timeout=5_000)

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    assert window.identity_label.text() == f"{shared.logins[Role.SUPPORT]} — support"
    assert window.triggers_page.read_only
    window.activity_page.reload()  # the trail is the admins': no query, a line saying so
    assert "Only an admin can see the activity" in window.activity_page.empty_label.text()


def test_support_retries_a_failed_item_from_the_queue_page(qtbot, shared, app_paths, box):
    ids = add_queue_items(shared.owner, 6)
    failed = next(i for i in ids if item_status(shared.owner, i) == "failed")
    ctx = shared.context(Role.SUPPORT, app_paths, box)
    page = QueuePage(ctx)
    qtbot.addWidget(page)
    page.resize(1300, 800)
    page.show()
    page.start()
    qtbot.waitUntil(lambda: page.model.is_complete and not page.model.is_loading, timeout=10_000)
    page.model.index(page.model.row_of(failed), 0).data()
    qtbot.waitUntil(lambda: page.model.is_row_loaded(page.model.row_of(failed)), timeout=5_000)
    page.select_row(page.model.row_of(failed))
    qtbot.waitUntil(page.retry_button.isEnabled, timeout=5_000)
    with qtbot.waitSignal(page.items_requeued, timeout=10_000):
        qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    assert item_status(shared.owner, failed) == "queued"


def test_a_save_the_server_refuses_is_a_message_in_a_dialog(qtbot, shared, app_paths, box, monkeypatch):
    """The editor believes it may save (as if the role had been taken away after start); the server refuses
    the INSERT and the dialog says so in words; nothing is stored. The same store call, made directly (as
    psql would), is refused with the same words."""
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, message: shown.append((title, message)))
    answer_message_boxes(monkeypatch, QMessageBox.StandardButton.Discard)  # closing the unsaved editor
    ctx = shared.context(Role.SUPPORT, app_paths, box)
    login = shared.logins[Role.SUPPORT]
    ctx.identity = roles.Identity(login, Role.ADMIN, False)  # a stale belief: the server decides
    editor = TriggerEditorDialog(ctx, None)
    qtbot.addWidget(editor)
    assert not editor.read_only
    editor.title_edit.setText("Sneaky")
    editor.event_picker.set_event("OrderChanged")
    assert editor.save() is False
    assert len(shown) == 1
    title, message = shown[0]
    assert title == REFUSED_TITLE
    assert f"refused this for the login '{login}'" in message and "permission denied" in message
    assert "Traceback" not in message and "SELECT" not in message and "INSERT" not in message
    assert "not saved" in editor.form_message.text()
    with shared.owner.session() as s:
        assert s.scalar(select(func.count()).select_from(TriggerRow)) == 1

    with pytest.raises(Exception) as caught, ctx.db.session() as s:
        trigger_store.set_enabled(s, 1, False)
    assert roles.refusal_message(caught.value, login) is not None


@pytest.mark.parametrize("where", ["postgresql-admin", "sqlite"])
def test_an_admin_and_the_sqlite_user_can_edit(qtbot, shared, app_paths, box, db, where):
    if where == "sqlite":
        ctx = AppContext(app_paths, Settings(), db=db, box=box)
        with db.session() as s:
            trigger_store.save_trigger(
                s, box, Trigger(title="ERP", event="OrderChanged", actions=(WebhookAction(url="https://x/"),))
            )
    else:
        ctx = shared.context(Role.ADMIN, app_paths, box)
    assert ctx.identity.role is Role.ADMIN
    page = TriggersPage(ctx)
    qtbot.addWidget(page)
    assert page.read_only is None and page.add_action.isEnabled() and page.enable_action.isEnabled()
    trigger = page.model.triggers()[0]
    editor = TriggerEditorDialog(ctx, trigger)
    qtbot.addWidget(editor)
    editor.show()
    assert editor.read_only is None and editor.save_button.isVisible()
    assert not editor.title_edit.isReadOnly() and editor.event_picker.isEnabled()
    action = editor.open_action_editor(trigger.actions[0])
    qtbot.addWidget(action)
    assert action.read_only is None and not action.general_tab.url_edit.isReadOnly()
    if where != "sqlite":
        assert action.general_tab.secret_edit.text() == HMAC  # an admin works with the secrets
    editor.title_edit.setText("ERP 2")
    assert editor.save()
    with ctx.db.session() as s:
        assert [t.title for t in trigger_store.list_public_triggers(s)] == ["ERP 2"]
