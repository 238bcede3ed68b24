"""The first-run choice and joining a shared database from the desktop app (gui/first_run.py), against a real
PostgreSQL server that asks for passwords, with real logins made by store/roles.py, and with two keyrings: a
working one (an in-memory backend implementing keyring's protocol) and keyring's "fail" backend."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog
from sqlalchemy.engine import make_url

from shopctrl_desktop.config import Settings, load_settings
from shopctrl_desktop.domain.roles import Role
from shopctrl_desktop.gui import app as gui_app
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.first_run import DatabaseChoiceDialog, SignInDialog, prepare_database
from shopctrl_desktop.store import roles
from shopctrl_desktop.store.secrets import KEYRING_SERVICE
from shopctrl_desktop.store.shared_login import keyring_account
from tests.helpers.postgres import PostgresCluster, throwaway_postgres

OWNER_PASSWORD = "owner-pw-7d2c"
SUPPORT_PASSWORD = "anna-pw-41b9"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-join-", password=OWNER_PASSWORD) as cluster:
        yield cluster


@dataclass
class SharedDb:
    cluster: PostgresCluster
    name: str
    support: str  # a login in the support role
    stranger: str  # a login in no ShopCtrl role


@pytest.fixture
def shared(postgres: PostgresCluster, monkeypatch) -> Iterator[SharedDb]:
    import psycopg

    monkeypatch.delenv("SHOPCTRL_DATABASE_PASSWORD", raising=False)
    owner = postgres.new_database()  # the schema, as `db setup` makes it
    name = str(make_url(owner.url).database)
    suffix = uuid.uuid4().hex[:6]
    support, stranger = f"anna_{suffix}", f"otto_{suffix}"
    with owner.session() as s:
        roles.setup_roles(s)
    with owner.session() as s:
        roles.add_user(s, support, Role.SUPPORT, SUPPORT_PASSWORD)
    dsn = f"dbname=postgres user=shop password={OWNER_PASSWORD} host={postgres.base} port={postgres.port}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {stranger} LOGIN PASSWORD 'otto-pw'")
    owner.dispose()
    yield SharedDb(postgres, name, support, stranger)


def fill(dialog: DatabaseChoiceDialog, shared: SharedDb, user: str, password: str) -> None:
    dialog.shared_radio.setChecked(True)
    dialog.host_edit.setText(str(shared.cluster.base))  # the server's socket folder
    dialog.port_spin.setValue(shared.cluster.port)
    dialog.database_edit.setText(shared.name)
    dialog.user_edit.setText(user)
    dialog.password_edit.setText(password)


def when_shown(object_name: str, act) -> None:  # type: ignore[no-untyped-def]
    """Run ``act(dialog)`` once the modal dialog named ``object_name`` is shown (prepare_database exec()s)."""

    def poll() -> None:
        for widget in QApplication.topLevelWidgets():
            if widget.objectName() == object_name and widget.isVisible():
                act(widget)
                return
        QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)


def click_ok(dialog) -> None:  # type: ignore[no-untyped-def]
    dialog.ok_button.click()


def settings_text(paths) -> str:  # type: ignore[no-untyped-def]
    return paths.settings_file.read_text("utf-8")


def test_first_run_this_computer_only_starts_on_sqlite(qtbot, app_paths) -> None:
    seen: list[DatabaseChoiceDialog] = []

    def choose_local(dialog: DatabaseChoiceDialog) -> None:
        seen.append(dialog)
        assert dialog.local_radio.isChecked() and dialog.ok_button.isDefault()  # the default
        assert not dialog.shared_fields.isEnabled()
        click_ok(dialog)

    when_shown("database_choice_dialog", choose_local)
    prepared = prepare_database(app_paths, load_settings(app_paths, environ={}))
    assert seen and prepared is not None
    settings, password = prepared
    assert settings.database_url is None and password is None
    assert json.loads(settings_text(app_paths))["database_url"] is None  # the choice is kept
    ctx = gui_app.build_context(paths=app_paths, settings=settings)
    try:
        assert ctx.db.is_sqlite and app_paths.database_file.exists()
        with ctx.db.session() as s:
            assert roles.current_identity(s, "os-user").role is Role.ADMIN
    finally:
        ctx.db.dispose()
    # the next start: an existing install, no dialog
    assert prepare_database(app_paths, load_settings(app_paths, environ={})) == (settings, None)


def test_quitting_the_first_run_choice_writes_nothing(qtbot, app_paths) -> None:
    when_shown("database_choice_dialog", lambda d: d.reject())
    assert prepare_database(app_paths, Settings()) is None
    assert not app_paths.settings_file.exists() and not app_paths.database_file.exists()


def test_existing_install_or_a_given_url_shows_no_dialog(qtbot, app_paths, db) -> None:
    # a database file from before (no settings.json): start as before
    assert app_paths.database_file.exists() and not app_paths.settings_file.exists()
    assert prepare_database(app_paths, Settings()) == (Settings(), None)
    assert not app_paths.settings_file.exists()


def test_wrong_password_says_so_and_writes_nothing(qtbot, app_paths, shared, memory_keyring) -> None:
    dialog = DatabaseChoiceDialog(app_paths)
    qtbot.addWidget(dialog)
    dialog.show()
    fill(dialog, shared, shared.support, "not-the-password")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: not dialog.busy and "wrong password" in dialog.message.text().lower(), timeout=10_000
    )
    assert dialog.isVisible() and dialog.choice is None
    assert shared.support in dialog.message.text() and "Traceback" not in dialog.message.text()
    assert not app_paths.settings_file.exists()
    assert memory_keyring.passwords == {}


def test_a_login_without_a_role_is_told_whom_to_ask(qtbot, app_paths, shared, memory_keyring) -> None:
    dialog = DatabaseChoiceDialog(app_paths)
    qtbot.addWidget(dialog)
    dialog.show()
    fill(dialog, shared, shared.stranger, "otto-pw")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "no ShopCtrl role" in dialog.message.text(), timeout=10_000)
    assert f"db add-user {shared.stranger} --role" in dialog.message.text()
    assert dialog.isVisible() and not app_paths.settings_file.exists()


def test_an_unreachable_server_is_named_quickly(qtbot, app_paths, memory_keyring) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    dialog = DatabaseChoiceDialog(app_paths)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.shared_radio.setChecked(True)
    dialog.url_edit.setText("")
    qtbot.keyClicks(dialog.url_edit, f"postgresql://anna:secret@127.0.0.1:{closed}/shop")
    # the pasted URL filled the fields; its password left the URL field
    assert dialog.host_edit.text() == "127.0.0.1" and dialog.port_spin.value() == closed
    assert dialog.password_edit.text() == "secret" and "secret" not in dialog.url_edit.text()
    started = time.monotonic()
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert not dialog.test_button.isEnabled()  # working on a worker; the window still paints
    qtbot.waitUntil(lambda: "nothing answers" in dialog.message.text().lower(), timeout=5_000)
    assert time.monotonic() - started < 5
    assert f"127.0.0.1:{closed}" in dialog.message.text() and dialog.test_button.isEnabled()
    assert not app_paths.settings_file.exists()


def _join(qtbot, app_paths, shared: SharedDb) -> tuple[Settings, str | None, list[str]]:  # type: ignore[no-untyped-def]
    said: list[str] = []

    def join(dialog: DatabaseChoiceDialog) -> None:
        fill(dialog, shared, shared.support, SUPPORT_PASSWORD)
        dialog.finished.connect(lambda _r: said.append(dialog.message.text()))
        click_ok(dialog)

    when_shown("database_choice_dialog", join)
    prepared = prepare_database(app_paths, load_settings(app_paths, environ={}))
    assert prepared is not None
    return prepared[0], prepared[1], said


def _start(app_paths, password: str | None = None):  # type: ignore[no-untyped-def]
    settings = load_settings(app_paths, environ={})
    ctx = gui_app.build_context(paths=app_paths, settings=settings, database_password=password)
    with ctx.db.session() as s:
        me = roles.current_identity(s, "os-user")
    ctx.db.dispose()
    return me


def test_joining_with_a_support_login_keeps_the_password_in_a_working_keyring(
    qtbot, app_paths, shared, memory_keyring
) -> None:
    settings, password, said = _join(qtbot, app_paths, shared)
    assert said == [f"Connected as {shared.support} — support"]
    stored = json.loads(settings_text(app_paths))
    assert stored["database_url"] == settings.database_url and settings.database_url
    assert make_url(settings.database_url).username == shared.support
    assert SUPPORT_PASSWORD not in settings_text(app_paths)
    assert stored["ask_database_password"] is True
    assert memory_keyring.passwords == {
        (KEYRING_SERVICE, keyring_account(settings.database_url)): SUPPORT_PASSWORD
    }
    me = _start(app_paths, password)
    assert (me.user, me.role) == (shared.support, Role.SUPPORT)
    # the next start finds the password in the keyring: no sign-in dialog
    again = prepare_database(app_paths, load_settings(app_paths, environ={}))
    assert again is not None and again[1] is None
    assert _start(app_paths).role is Role.SUPPORT


def test_joining_without_a_keyring_stores_no_password_and_the_next_start_asks(
    qtbot, app_paths, shared, fail_keyring
) -> None:
    settings, password, said = _join(qtbot, app_paths, shared)
    assert said == [f"Connected as {shared.support} — support"]
    assert password == SUPPORT_PASSWORD  # used for this start only
    assert SUPPORT_PASSWORD not in settings_text(app_paths)
    assert not any(
        SUPPORT_PASSWORD.encode() in f.read_bytes() for f in app_paths.data_dir.rglob("*") if f.is_file()
    )
    assert _start(app_paths, password).role is Role.SUPPORT

    # the next start asks, in a small dialog: the user prefilled, Remember disabled and saying why
    asked: list[SignInDialog] = []

    def sign_in(dialog: SignInDialog) -> None:
        asked.append(dialog)
        dialog.password_edit.setText("wrong")
        click_ok(dialog)

    def then_right() -> None:
        dialog = asked[0]
        if dialog.busy or "wrong password" not in dialog.message.text().lower():
            QTimer.singleShot(20, then_right)
            return
        dialog.password_edit.setText(SUPPORT_PASSWORD)
        click_ok(dialog)

    when_shown("sign_in_dialog", lambda d: (sign_in(d), QTimer.singleShot(20, then_right)))
    again = prepare_database(app_paths, load_settings(app_paths, environ={}))
    assert again is not None and again[1] == SUPPORT_PASSWORD
    dialog = asked[0]
    assert dialog.user_edit.text() == shared.support
    assert not dialog.remember_check.isEnabled() and "keyring" in dialog.remember_check.toolTip()
    assert _start(app_paths, again[1]).role is Role.SUPPORT


def test_the_password_can_come_from_the_environment(
    qtbot, app_paths, shared, fail_keyring, monkeypatch
) -> None:
    _settings, _password, _said = _join(qtbot, app_paths, shared)
    monkeypatch.setenv("SHOPCTRL_DATABASE_PASSWORD", SUPPORT_PASSWORD)
    again = prepare_database(app_paths, load_settings(app_paths, environ={}))
    assert again is not None and again[1] is None  # no dialog
    assert _start(app_paths).role is Role.SUPPORT


@pytest.fixture(autouse=True)
def _background_done() -> Iterator[None]:
    yield
    assert wait_for_background(10_000)


def test_choice_dialog_is_a_modal_dialog_that_quits(qtbot, app_paths) -> None:
    dialog = DatabaseChoiceDialog(app_paths)
    qtbot.addWidget(dialog)
    QTimer.singleShot(0, dialog.reject)
    assert dialog.exec() == QDialog.DialogCode.Rejected and dialog.choice is None


def test_the_app_on_a_fresh_data_folder_asks_first_and_quit_writes_nothing(qtbot, tmp_path) -> None:
    fresh = tmp_path / "fresh"
    shown: list[str] = []

    def quit_(dialog: DatabaseChoiceDialog) -> None:
        shown.append(dialog.windowTitle())
        dialog.reject()

    when_shown("database_choice_dialog", quit_)
    assert gui_app.main(["--data-dir", str(fresh)]) == 0
    assert shown and not (fresh / "settings.json").exists() and not (fresh / "shopctrl.sqlite3").exists()


def test_settings_show_the_database_and_change_it_with_the_same_dialog(
    qtbot, ctx, shared, memory_keyring
) -> None:
    from shopctrl_desktop.gui.settings.dialog import SettingsDialog

    settings_dialog = SettingsDialog(ctx)
    qtbot.addWidget(settings_dialog)
    settings_dialog.show()
    assert settings_dialog.database_summary.text().startswith("This computer only")
    assert "restart" in settings_dialog.database_summary.text()
    choice = settings_dialog.change_database()
    qtbot.waitExposed(choice)
    assert choice.local_radio.isChecked() and choice.ok_button.text() == "OK"
    fill(choice, shared, shared.support, SUPPORT_PASSWORD)
    qtbot.mouseClick(choice.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not choice.isVisible(), timeout=10_000)
    summary = settings_dialog.database_summary.text()
    assert summary.startswith(
        f"Shared: {shared.support}@{shared.cluster.base}:{shared.cluster.port}/{shared.name}"
    )
    with qtbot.waitSignal(settings_dialog.settings_saved, timeout=5_000):
        settings_dialog.buttons.button(settings_dialog.buttons.StandardButton.Save).click()
    stored = json.loads(settings_text(ctx.paths))
    assert make_url(stored["database_url"]).username == shared.support and stored["ask_database_password"]
    assert SUPPORT_PASSWORD not in settings_text(ctx.paths)
    assert SUPPORT_PASSWORD in memory_keyring.passwords.values()
    # a password typed into the URL by hand is refused, in words, and nothing is saved
    again = SettingsDialog(ctx)
    qtbot.addWidget(again)
    again.database_edit.setText("postgresql+psycopg://anna:typed-pw@db.example/shop")
    again.buttons.button(again.buttons.StandardButton.Save).click()
    assert again.database_error.isVisibleTo(again) and "keyring" in again.database_error.text()
    assert "typed-pw" not in settings_text(ctx.paths)


def test_a_stale_password_in_the_keyring_asks_again_at_start(
    qtbot, app_paths, shared, memory_keyring
) -> None:
    settings, _password, _said = _join(qtbot, app_paths, shared)
    assert settings.database_url
    memory_keyring.set_password(KEYRING_SERVICE, keyring_account(settings.database_url), "changed-since")
    asked: list[str] = []

    def sign_in(dialog: SignInDialog) -> None:
        asked.append(dialog.message.text())
        dialog.password_edit.setText(SUPPORT_PASSWORD)
        click_ok(dialog)

    when_shown("sign_in_dialog", sign_in)
    ctx = gui_app.build_context_signing_in(app_paths, load_settings(app_paths, environ={}), None)
    try:
        with ctx.db.session() as s:
            assert roles.current_identity(s, "os").role is Role.SUPPORT
    finally:
        ctx.db.dispose()
    assert asked == ["The database refused the password: enter it again."]
    # "Remember" was ticked (a working keyring): the keyring holds the right password again
    assert (
        memory_keyring.get_password(KEYRING_SERVICE, keyring_account(settings.database_url))
        == SUPPORT_PASSWORD
    )


def test_quitting_while_it_connects_stores_nothing(qtbot, app_paths, shared, memory_keyring) -> None:
    dialog = DatabaseChoiceDialog(app_paths)
    qtbot.addWidget(dialog)
    dialog.show()
    fill(dialog, shared, shared.support, SUPPORT_PASSWORD)
    dialog.ok_button.click()
    assert dialog.busy
    dialog.reject()  # Quit (or the window's close button) before the answer
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.choice is None and memory_keyring.passwords == {}
    assert not app_paths.settings_file.exists()
