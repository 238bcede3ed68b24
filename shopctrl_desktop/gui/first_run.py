"""Where this workstation keeps its webhooks: the first-run choice ("This computer only" or "Shared
database"), the sign-in to a shared database when no keyring keeps its password, and what the app does at
start with both (:func:`prepare_database`).

Connections are tested for real on a worker thread (gui/background.py), so the dialog keeps painting; the
answer is in words (store/shared_login.py ``check_shared_database``). Nothing is written until a choice
succeeds: no settings.json, no keyring entry. The password never goes into settings.json — it goes into the
OS keyring when a working one exists, otherwise the app asks for it at each start.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.engine import make_url

from shopctrl_desktop.config import Settings, save_settings
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.gui.widgets.accessibility import name_form_fields, name_from_label
from shopctrl_desktop.paths import AppPaths
from shopctrl_desktop.store import shared_login
from shopctrl_desktop.store.audit import os_user
from shopctrl_desktop.store.shared_login import JoinCheck, SharedLoginError

LOCAL_TEXT = "This computer only"
NO_KEYRING_TIP = (
    "No OS keyring is available on this computer, so the password cannot be remembered: ShopCtrl Desktop "
    "asks for it at each start (or set SHOPCTRL_DATABASE_PASSWORD)."
)
RESTART_NOTE = "A different database takes effect when ShopCtrl Desktop is restarted."


@dataclass(frozen=True)
class DatabaseChoice:
    """What the person chose: ``url`` None is "This computer only"; a shared URL never holds the password."""

    url: str | None
    password: str | None = None
    remembered: bool = False  # the password went into the OS keyring

    @property
    def summary(self) -> str:
        return database_summary(self.url)


def database_summary(url: str | None) -> str:
    """ "This computer only" or "Shared: anna@db.example:5432/shop" (another URL: shown without password)."""
    if not url:
        return LOCAL_TEXT
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.username and parsed.database:
        return f"Shared: {shared_login.describe(parsed)}"
    return parsed.render_as_string(hide_password=True)


def _message_label() -> QLabel:
    label = QLabel()
    label.setObjectName("connection_message")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setMinimumHeight(36)
    return label


def _no_keyring_note() -> QLabel:
    note = QLabel("No keyring on this computer: the app asks for the password at each start.")
    note.setObjectName("no_keyring_note")
    note.setStyleSheet(style("color: #555;"))
    return note


def _remember_box(checked: bool = True) -> QCheckBox:
    box = QCheckBox("Remember the password in this computer's keyring")
    box.setObjectName("remember_password")
    if shared_login.keyring_available():
        box.setChecked(checked)
        box.setToolTip("Kept by the OS keyring (service “shopctrl-desktop”), never in settings.json.")
    else:
        box.setChecked(False)
        box.setEnabled(False)
        box.setToolTip(NO_KEYRING_TIP)
    return box


class _Checking:
    """Shared by both dialogs: run the real connection check on a worker, show its words."""

    message: QLabel
    busy: bool = False

    def _show(self, text: str, ok: bool | None) -> None:
        colour = {True: "#1b6e2a", False: "#a61b1b", None: "#555"}[ok]
        self.message.setStyleSheet(style(f"color: {colour};"))
        self.message.setText(text[:1].upper() + text[1:])

    def _start_check(self, url: str, password: str, then) -> None:  # type: ignore[no-untyped-def]
        self.busy = True
        self._set_busy(True)
        self._show(f"Connecting to {shared_login.describe(url)} …", None)
        full = shared_login.with_password(url, password)
        user = os_user()

        def done(check: JoinCheck) -> None:
            self.busy = False
            self._set_busy(False)
            self._show(check.message, check.ok)
            then(check)

        def failed(message: str) -> None:
            self.busy = False
            self._set_busy(False)
            self._show(message, False)

        run_in_background(
            lambda: shared_login.check_shared_database(full, user),
            done,
            failed,
            owner=self,  # type: ignore[arg-type]
        )

    def _set_busy(self, busy: bool) -> None:
        raise NotImplementedError


class DatabaseChoiceDialog(_Checking, QDialog):
    """ "Where does this workstation keep its webhooks?" — at first start, and from Settings → Change…"""

    def __init__(
        self, paths: AppPaths, current: Settings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("database_choice_dialog")
        self.setWindowTitle("ShopCtrl Desktop — where to keep the webhooks")
        self.choice: DatabaseChoice | None = None
        first_run = current is None

        heading = QLabel("<b>Where does this workstation keep its webhooks?</b>")
        heading.setStyleSheet("font-size: 14px;")
        self.local_radio = QRadioButton(LOCAL_TEXT)
        self.local_radio.setObjectName("local_choice")
        local_note = QLabel(
            f"Triggers, the queue and the settings stay in a database file in {paths.data_dir}. "
            "For one workstation that receives and delivers the webhooks."
        )
        self.shared_radio = QRadioButton("Shared database (PostgreSQL)")
        self.shared_radio.setObjectName("shared_choice")
        shared_note = QLabel(
            "Several workstations work on one PostgreSQL database: admins configure, support watches and "
            "retries. The database owner sets it up (<tt>shopctrl-desktop db setup</tt>) and gives you a "
            "login (<tt>db add-user</tt>)."
        )
        for note in (local_note, shared_note):
            note.setWordWrap(True)
            note.setStyleSheet(style("color: #555; margin-left: 22px;"))
        group = QButtonGroup(self)
        group.addButton(self.local_radio)
        group.addButton(self.shared_radio)

        self.host_edit = QLineEdit()
        self.host_edit.setObjectName("host_edit")
        self.host_edit.setPlaceholderText("db.example or 192.0.2.10")
        self.port_spin = QSpinBox()
        self.port_spin.setObjectName("port_spin")
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(shared_login.DEFAULT_PORT)
        server = QHBoxLayout()
        server.addWidget(self.host_edit, 1)
        port_label = QLabel("Port")
        name_from_label(port_label, self.port_spin)
        self.host_edit.setAccessibleName("Server")
        server.addWidget(port_label)
        server.addWidget(self.port_spin)
        self.database_edit = QLineEdit()
        self.database_edit.setObjectName("database_name_edit")
        self.database_edit.setPlaceholderText("shop")
        self.user_edit = QLineEdit()
        self.user_edit.setObjectName("user_edit")
        self.user_edit.setPlaceholderText("your login, e.g. anna")
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("password_edit")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember_check = _remember_box()
        self.url_edit = QLineEdit()
        self.url_edit.setObjectName("url_edit")
        self.url_edit.setPlaceholderText("or paste a URL: postgresql://anna@db.example:5432/shop")
        self.shared_fields = QWidget()
        form = QFormLayout(self.shared_fields)
        form.setContentsMargins(22, 0, 0, 0)
        form.addRow("Server", server)
        form.addRow("Database", self.database_edit)
        form.addRow("User", self.user_edit)
        form.addRow("Password", self.password_edit)
        form.addRow("", self.remember_check)
        if not shared_login.keyring_available():
            form.addRow("", _no_keyring_note())
        form.addRow("URL", self.url_edit)
        name_form_fields(form)
        server_label = form.labelForField(server)
        if isinstance(server_label, QLabel):
            server_label.setBuddy(self.host_edit)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)

        self.message = _message_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Continue" if first_run else "OK")
        self.ok_button.setDefault(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Quit" if first_run else "Cancel")
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("test_connection")
        self.test_button.setAutoDefault(False)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        form.addRow("", test_row)

        lay = QVBoxLayout(self)
        lay.addWidget(heading)
        lay.addSpacing(6)
        lay.addWidget(self.local_radio)
        lay.addWidget(local_note)
        lay.addSpacing(6)
        lay.addWidget(self.shared_radio)
        lay.addWidget(shared_note)
        lay.addWidget(self.shared_fields)
        lay.addWidget(self.message)
        if not first_run:
            restart = QLabel(RESTART_NOTE)
            restart.setWordWrap(True)
            restart.setStyleSheet(style("background: #fff6d6; border: 1px solid #e8d48a; padding: 6px;"))
            lay.addWidget(restart)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(600)

        self._prefill(current)
        self.local_radio.toggled.connect(self._update_fields)
        self.url_edit.textEdited.connect(self._on_url_edited)
        self.test_button.clicked.connect(self.test_connection)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._update_fields()

    def _prefill(self, current: Settings | None) -> None:
        url = current.database_url if current is not None else None
        if url and make_url(url).get_backend_name() == "postgresql":
            try:
                self._fill_from(shared_login.parse_shared_url(url))
            except SharedLoginError:
                self.url_edit.setText(make_url(url).render_as_string(hide_password=True))
            self.shared_radio.setChecked(True)
        else:
            self.local_radio.setChecked(True)

    def _fill_from(self, parsed) -> None:  # type: ignore[no-untyped-def]
        host, port = shared_login.server_of(parsed)
        self.host_edit.setText(host)
        self.port_spin.setValue(port)
        self.database_edit.setText(parsed.database or "")
        self.user_edit.setText(parsed.username or "")
        if parsed.password:
            self.password_edit.setText(parsed.password)

    def _on_url_edited(self, text: str) -> None:
        """A pasted URL fills the fields (its password too, which then never stays in the URL field)."""
        try:
            parsed = shared_login.parse_shared_url(text)
        except SharedLoginError:
            return
        self._fill_from(parsed)
        if parsed.password:
            self.url_edit.setText(shared_login.without_password(parsed))
        self.shared_radio.setChecked(True)

    def _update_fields(self) -> None:
        shared = self.shared_radio.isChecked()
        self.shared_fields.setEnabled(shared)
        self.test_button.setEnabled(shared and not self.busy)
        self.message.clear()

    def _set_busy(self, busy: bool) -> None:
        for widget in (
            self.ok_button,
            self.test_button,
            self.local_radio,
            self.shared_radio,
            self.shared_fields,
        ):
            widget.setEnabled(not busy)

    def shared_url(self) -> str:
        """The URL the fields name, without password; SharedLoginError in words."""
        url = shared_login.build_shared_url(
            self.host_edit.text(), self.port_spin.value(), self.database_edit.text(), self.user_edit.text()
        )
        return shared_login.without_password(url)

    def _checked_url(self) -> str | None:
        try:
            return self.shared_url()
        except SharedLoginError as exc:
            self._show(str(exc), False)
            return None

    def test_connection(self) -> None:
        url = self._checked_url()
        if url is not None:
            self._start_check(url, self.password_edit.text(), lambda _check: None)

    def accept(self) -> None:
        if self.busy:
            return
        if self.local_radio.isChecked():
            self.choice = DatabaseChoice(None)
            super().accept()
            return
        url = self._checked_url()
        if url is None:
            return
        password = self.password_edit.text()

        def decided(check: JoinCheck) -> None:
            if not check.ok or not self.isVisible():  # failed, or the person quit while it connected
                return
            remembered = bool(password) and self.remember_check.isChecked()
            remembered = remembered and shared_login.remember_password(url, password)
            self.choice = DatabaseChoice(url, password or None, remembered)
            QDialog.accept(self)

        self._start_check(url, password, decided)


class SignInDialog(_Checking, QDialog):
    """ "Sign in to the shared database": the password at start, when no keyring keeps it."""

    def __init__(self, url: str, problem: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sign_in_dialog")
        self.setWindowTitle("Sign in to the shared database")
        self.url = url
        self.password: str | None = None
        parsed = make_url(url)
        heading = QLabel(f"<b>Sign in to the shared database</b><br>{shared_login.describe(parsed)}")
        self.user_edit = QLineEdit(parsed.username or "")
        self.user_edit.setObjectName("user_edit")
        self.user_edit.setReadOnly(True)
        self.user_edit.setToolTip("Settings → Database → Change… joins with another login.")
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("password_edit")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember_check = _remember_box()
        form = QFormLayout()
        form.addRow("User", self.user_edit)
        form.addRow("Password", self.password_edit)
        form.addRow("", self.remember_check)
        name_form_fields(form)
        if not shared_login.keyring_available():
            form.addRow("", _no_keyring_note())
        self.message = _message_label()
        if problem:
            self._show(problem, False)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Sign in")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Quit")
        lay = QVBoxLayout(self)
        lay.addWidget(heading)
        lay.addLayout(form)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(440)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.password_edit.setFocus()

    def _set_busy(self, busy: bool) -> None:
        self.ok_button.setEnabled(not busy)
        self.password_edit.setEnabled(not busy)

    def accept(self) -> None:
        if self.busy:
            return
        password = self.password_edit.text()

        def decided(check: JoinCheck) -> None:
            if not check.ok or not self.isVisible():
                return
            if self.remember_check.isChecked():
                shared_login.remember_password(self.url, password)
            self.password = password
            QDialog.accept(self)

        self._start_check(self.url, password, decided)


# --- at start ----------------------------------------------------------------------------------------------
def is_first_run(paths: AppPaths, settings: Settings) -> bool:
    """No choice made yet: no settings.json, no database file in the data folder, no URL given (--database-url
    or SHOPCTRL_DATABASE_URL). An existing install — either file present — starts as before."""
    return not (paths.settings_file.exists() or paths.database_file.exists() or settings.database_url)


def needs_sign_in(settings: Settings) -> bool:
    url = settings.database_url
    if not url or not settings.ask_database_password:
        return False
    return make_url(url).password is None and shared_login.stored_password(url) is None


def prepare_database(paths: AppPaths, settings: Settings) -> tuple[Settings, str | None] | None:
    """Before the database is opened: the first-run choice, then the sign-in when a password is needed and
    not kept. Returns the settings to start with and the password (None: stored or not needed); None when
    the person chose Quit (nothing written)."""
    password: str | None = None
    if is_first_run(paths, settings):
        dialog = DatabaseChoiceDialog(paths)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.choice is None:
            return None
        choice = dialog.choice
        chosen = Settings(database_url=choice.url, ask_database_password=bool(choice.password))
        save_settings(paths, chosen)  # the file holds the choice only, never the password
        settings = replace(
            settings, database_url=choice.url, ask_database_password=chosen.ask_database_password
        )
        return settings, choice.password
    if needs_sign_in(settings):
        assert settings.database_url is not None
        sign_in = SignInDialog(settings.database_url)
        if sign_in.exec() != QDialog.DialogCode.Accepted:
            return None
        password = sign_in.password
    return settings, password


#: The server refused the login for its password: the sign-in dialog can put that right.
PASSWORD_REFUSALS = ("password authentication failed", "no password supplied")


def sign_in_after_refusal(settings: Settings, problem: str) -> str | None:
    """A shared database that refused the password at hand (a stale keyring entry, a changed password, a
    server that now asks): the sign-in dialog, showing ``problem``. Returns the password that worked; None
    when this is not such a refusal; raises SignInCancelled when the person chose Quit."""
    url = settings.database_url
    if not url or make_url(url).get_backend_name() != "postgresql":
        return None
    if not any(words in problem.lower() for words in PASSWORD_REFUSALS):
        return None
    plain = shared_login.without_password(make_url(url))
    dialog = SignInDialog(plain, "The database refused the password: enter it again.")
    if dialog.exec() != QDialog.DialogCode.Accepted or dialog.password is None:
        raise SignInCancelled
    return dialog.password


class SignInCancelled(Exception):
    """The person chose Quit in the sign-in dialog."""
