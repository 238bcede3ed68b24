"""The Settings dialog, on four tabs so it fits a 1024 × 768 screen: General (listener address and token),
Delivery (retry policy, concurrency), Data (data folder, the database — this computer only or shared:
"Change…" opens the first-run choice, gui/first_run.py — and how long finished items are kept with
"Purge now…", gui/settings/retention.py) and Appearance.

Saved with ``AppContext.save_settings`` (settings.json in the data folder, the change in the audit trail).
The token lives in its own file (engine/token.py); a running listener picks up a regenerated token within a
second. Listener, database and delivery settings apply when the application is restarted — the dialog says so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import ConfigError, Settings
from shopctrl_desktop.domain.retry import RetryPolicy
from shopctrl_desktop.engine.token import load_or_create_token, rotate_token
from shopctrl_desktop.gui.settings.retention import RetentionBox
from shopctrl_desktop.gui.theme import Appearance, style
from shopctrl_desktop.gui.widgets.accessibility import name_form_fields, name_from_label

if TYPE_CHECKING:
    from shopctrl_desktop.gui.first_run import DatabaseChoiceDialog

RETRY_KINDS = (
    ("linear", "Linear (90 s, 180 s, 270 s …)"),
    ("exponential", "Exponential"),
    ("custom", "Custom list"),
)
RESTART_NOTE = (
    "Changes to the listener, the database, delivery and retention take effect when ShopCtrl Desktop is "
    "restarted. A regenerated token is used by the running listener within a second."
)


def _error_label() -> QLabel:
    label = QLabel()
    label.setStyleSheet(style("color: #a61b1b;"))
    label.setWordWrap(True)
    label.setVisible(False)
    return label


def _has_password(url: str) -> bool:
    from sqlalchemy.engine import make_url

    try:
        return bool(make_url(url).password)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy reads: the database says so at start
        return False


class SettingsDialog(QDialog):
    settings_saved = Signal(object)  # Settings
    token_regenerated = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settings_dialog")
        self.setWindowTitle("Settings")
        self.ctx = ctx
        s = ctx.settings

        # listener
        self.host_edit = QLineEdit(s.listen_host)
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(s.listen_port or 8765)
        address = QHBoxLayout()
        address.addWidget(self.host_edit, 1)
        port_label = QLabel("Port")
        name_from_label(port_label, self.port_spin)
        address.addWidget(port_label)
        address.addWidget(self.port_spin)
        self.listener_error = _error_label()
        self.token_edit = QLineEdit(load_or_create_token(ctx.paths))
        self.token_edit.setObjectName("token_edit")
        self.token_edit.setReadOnly(True)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_token_button = QPushButton("Show")
        self.show_token_button.setCheckable(True)
        self.copy_token_button = QPushButton("Copy")
        self.regenerate_button = QPushButton("Regenerate…")
        token_row = QHBoxLayout()
        token_row.addWidget(self.token_edit, 1)
        for b in (self.show_token_button, self.copy_token_button, self.regenerate_button):
            token_row.addWidget(b)
        listener_box = QGroupBox("Event listener")
        lf = QFormLayout(listener_box)
        lf.addRow("Address", address)
        lf.addRow("", self.listener_error)
        lf.addRow("Token", token_row)
        hint = QLabel(
            f"Senders post events to http://{s.listen_address}/events with the header "
            "“Authorization: Bearer” followed by the token."
        )
        hint.setStyleSheet(style("color: #555;"))
        hint.setWordWrap(True)
        lf.addRow(hint)
        name_form_fields(lf)
        self.host_edit.setAccessibleName("Listener address")
        self.token_edit.setAccessibleName("Listener token")
        for row, field in ((0, self.host_edit), (2, self.token_edit)):  # rows whose field is a layout
            label = lf.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
            if isinstance(label, QLabel):
                label.setBuddy(field)

        # delivery
        self.retry_kind = QComboBox()
        self.retry_kind.setObjectName("retry_kind")
        for value, label in RETRY_KINDS:
            self.retry_kind.addItem(label, value)
        self.retry_kind.setCurrentIndex(max(0, self.retry_kind.findData(s.retry.kind)))
        self.base_spin = QDoubleSpinBox()
        self.base_spin.setRange(1, 86400)
        self.base_spin.setDecimals(0)
        self.base_spin.setSuffix(" s")
        self.base_spin.setValue(s.retry.base_seconds)
        self.delays_edit = QLineEdit(", ".join(f"{d:g}" for d in s.retry.delays))
        self.delays_edit.setObjectName("delays_edit")
        self.delays_edit.setPlaceholderText("seconds, e.g. 30, 60, 300, 900 (the last repeats)")
        self.delays_error = _error_label()
        self.max_retries_spin = QSpinBox()
        self.max_retries_spin.setObjectName("max_retries")
        self.max_retries_spin.setRange(0, 100)
        self.max_retries_spin.setValue(s.retry.max_retries)
        self.concurrency_spin = QSpinBox()
        self.concurrency_spin.setObjectName("concurrency")
        self.concurrency_spin.setRange(1, 256)
        self.concurrency_spin.setValue(s.concurrency)
        self.per_host_spin = QSpinBox()
        self.per_host_spin.setRange(1, 256)
        self.per_host_spin.setValue(s.per_host_concurrency)
        self.deliver_here_check = QCheckBox("Deliver from this workstation")
        self.deliver_here_check.setObjectName("deliver_here")
        self.deliver_here_check.setChecked(s.deliver_here)
        self.deliver_here_check.setToolTip(
            "Off: this workstation starts no listener and no delivery engine — another workstation (or "
            "“shopctrl-desktop serve”) on the same database delivers, and this window shows what it does."
        )
        delivery_box = QGroupBox("Delivery")
        df = QFormLayout(delivery_box)
        df.addRow(self.deliver_here_check)
        df.addRow("Retry policy", self.retry_kind)
        df.addRow("First wait", self.base_spin)
        df.addRow("Waits", self.delays_edit)
        df.addRow("", self.delays_error)
        df.addRow("Retries after the first attempt", self.max_retries_spin)
        df.addRow("Concurrent deliveries", self.concurrency_spin)
        df.addRow("Concurrent deliveries per host", self.per_host_spin)
        name_form_fields(df)
        self._delivery_form = df

        # storage
        self.data_dir_edit = QLineEdit(str(ctx.paths.data_dir))
        self.data_dir_edit.setReadOnly(True)
        data_note = QLabel("Chosen at start with --data-dir or SHOPCTRL_DATA_DIR.")
        data_note.setStyleSheet(style("color: #555;"))
        self.database_edit = QLineEdit(s.database_url or "")
        self.database_edit.setObjectName("database_edit")
        self.database_edit.setPlaceholderText(
            "empty = SQLite in the data folder; e.g. postgresql+psycopg://user@host/db"
        )
        self.database_error = _error_label()
        self._ask_database_password = s.ask_database_password
        self.database_summary = QLabel()
        self.database_summary.setObjectName("database_summary")
        self.change_database_button = QPushButton("Change…")
        self.change_database_button.setObjectName("change_database")
        self.change_database_button.setToolTip(
            "This computer only, or a shared PostgreSQL database: tested before it is chosen"
        )
        database_row = QHBoxLayout()
        database_row.addWidget(self.database_summary, 1)
        database_row.addWidget(self.change_database_button)
        storage_box = QGroupBox("Storage")
        sf = QFormLayout(storage_box)
        sf.addRow("Data folder", self.data_dir_edit)
        sf.addRow("", data_note)
        sf.addRow("Database", database_row)
        sf.addRow("Database URL", self.database_edit)
        sf.addRow("", self.database_error)
        name_form_fields(sf)

        # retention
        self.retention_box = RetentionBox(ctx)
        self.retention_box.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)

        # appearance (applies at once)
        self.appearance_combo = QComboBox()
        self.appearance_combo.setObjectName("appearance")
        for choice in Appearance:
            self.appearance_combo.addItem(choice.label, choice.value)
        self.appearance_combo.setCurrentIndex(
            max(0, self.appearance_combo.findData(Appearance.parse(s.appearance).value))
        )
        appearance_box = QGroupBox("Appearance")
        af = QFormLayout(appearance_box)
        af.addRow("Colours", self.appearance_combo)
        name_form_fields(af)

        note = QLabel(RESTART_NOTE)
        note.setObjectName("restart_note")
        note.setWordWrap(True)
        note.setStyleSheet(style("background: #fff6d6; border: 1px solid #e8d48a; padding: 6px;"))
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )

        # the boxes on tabs: all of them stacked were ~840 px tall, more than a 1024 × 768 screen has
        self.tabs = QTabWidget()
        self.tabs.setObjectName("settings_tabs")
        for title, boxes in (
            ("General", (listener_box,)),
            ("Delivery", (delivery_box,)),
            ("Data", (storage_box, self.retention_box)),
            ("Appearance", (appearance_box,)),
        ):
            page = QWidget()
            page.setObjectName(f"settings_{title.lower()}_tab")
            page_layout = QVBoxLayout(page)
            for box in boxes:
                page_layout.addWidget(box)
            page_layout.addStretch(1)
            self.tabs.addTab(page, title)

        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(note)
        lay.addWidget(self.buttons)
        for form in (lf, df, sf, af):
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.setMinimumWidth(620)

        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.retry_kind.currentIndexChanged.connect(self._update_retry_fields)
        self.show_token_button.toggled.connect(self._on_show_token_button_toggled)
        self.copy_token_button.clicked.connect(self._on_copy_token_button_clicked)
        self.regenerate_button.clicked.connect(self._on_regenerate_button_clicked)
        self.change_database_button.clicked.connect(self.change_database)
        self.database_edit.textChanged.connect(self._update_database_summary)
        self._update_retry_fields()
        self._update_database_summary()

    # -- token ------------------------------------------------------------------------------------------
    def _on_show_token_button_toggled(self, shown: bool) -> None:
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_token_button.setText("Hide" if shown else "Show")

    def _on_copy_token_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.token_edit.text())

    def _on_regenerate_button_clicked(self) -> None:
        answer = QMessageBox.question(
            self,
            "Regenerate token",
            "Senders using the current token will be refused until they use the new one. Regenerate?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.regenerate_token()

    def regenerate_token(self) -> str:
        token = rotate_token(self.ctx.paths)
        self.token_edit.setText(token)
        self.token_regenerated.emit()
        return token

    # -- database -----------------------------------------------------------------------------------------
    def _update_database_summary(self) -> None:
        from shopctrl_desktop.gui.first_run import database_summary

        try:
            summary = database_summary(self.database_edit.text().strip() or None)
        except Exception:  # noqa: BLE001 - a URL being typed
            summary = "(the URL below)"
        self.database_summary.setText(f"{summary} — a change takes effect after a restart")

    def change_database(self) -> DatabaseChoiceDialog:
        """The first-run choice again (tested before it is taken); the URL is saved with the settings."""
        from shopctrl_desktop.gui.first_run import DatabaseChoiceDialog

        dialog = DatabaseChoiceDialog(
            self.ctx.paths,
            replace(self.ctx.settings, database_url=self.database_edit.text().strip() or None),
            self,
        )

        def chosen(result: int) -> None:
            if result == QDialog.DialogCode.Accepted and dialog.choice is not None:
                self.database_edit.setText(dialog.choice.url or "")
                self._ask_database_password = bool(dialog.choice.password)

        dialog.finished.connect(chosen)
        dialog.open()
        return dialog

    # -- retry fields -----------------------------------------------------------------------------------
    def _update_retry_fields(self) -> None:
        kind = self.retry_kind.currentData()
        self._delivery_form.setRowVisible(self.base_spin, kind != "custom")
        self._delivery_form.setRowVisible(self.delays_edit, kind == "custom")
        if kind != "custom":
            self.delays_error.setVisible(False)

    # -- saving -----------------------------------------------------------------------------------------
    def collect(self) -> Settings:
        """The settings as entered; raises ConfigError naming the field."""
        self.listener_error.setVisible(False)
        self.delays_error.setVisible(False)
        host = self.host_edit.text().strip()
        if not host:
            self._field_error(self.listener_error, "Enter the address to listen on, e.g. 127.0.0.1")
        kind = str(self.retry_kind.currentData())
        delays: tuple[float, ...] = ()
        if kind == "custom":
            try:
                delays = tuple(
                    float(x) for x in self.delays_edit.text().replace(";", ",").split(",") if x.strip()
                )
            except ValueError:
                self._field_error(self.delays_error, "Waits must be numbers of seconds separated by commas")
            if not delays or any(d < 0 for d in delays):
                self._field_error(self.delays_error, "Enter at least one wait in seconds, e.g. 30, 60, 300")
        old = self.ctx.settings.retry
        retry = RetryPolicy(
            kind=kind,
            base_seconds=float(self.base_spin.value()),
            max_retries=int(self.max_retries_spin.value()),
            delays=delays or (old.delays if kind == "custom" else ()),
            jitter=old.jitter,
            cap_seconds=old.cap_seconds,
        )
        database_url = self.database_edit.text().strip() or None
        self.database_error.setVisible(False)
        if database_url and "@" in database_url and _has_password(database_url):
            self._field_error(
                self.database_error,
                "Leave the password out of the URL: “Change…” keeps it in the OS keyring or asks at start",
            )
        keep_delivered_days, keep_failed_days = self.retention_box.days()
        loopback = host in ("127.0.0.1", "localhost", "::1")
        return replace(
            self.ctx.settings,
            listen_host=host,
            listen_port=int(self.port_spin.value()),
            allow_remote=self.ctx.settings.allow_remote or not loopback,
            database_url=database_url,
            ask_database_password=self._ask_database_password if database_url else False,
            concurrency=int(self.concurrency_spin.value()),
            per_host_concurrency=int(self.per_host_spin.value()),
            retry=retry,
            deliver_here=self.deliver_here_check.isChecked(),
            keep_delivered_days=keep_delivered_days,
            keep_failed_days=keep_failed_days,
            appearance=str(self.appearance_combo.currentData()),
        )

    def _field_error(self, label: QLabel, text: str) -> None:
        """Say what is wrong beside the field, on its tab (brought to the front), and stop the save."""
        label.setText(text)
        for index in range(self.tabs.count()):
            if self.tabs.widget(index).isAncestorOf(label):
                self.tabs.setCurrentIndex(index)
        label.setVisible(True)
        raise ConfigError(text)

    def accept(self) -> None:
        try:
            settings = self.collect()
        except ConfigError:
            return
        if not settings.allow_remote or settings.listen_host in ("127.0.0.1", "localhost", "::1"):
            pass
        elif not self.ctx.settings.allow_remote:
            answer = QMessageBox.warning(
                self,
                "Listen on the network?",
                f"Listening on {settings.listen_host} lets other computers post events (with the token). Continue?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        try:
            self.ctx.save_settings(settings)  # settings.json + an audit entry
        except Exception as exc:  # noqa: BLE001 - shown in words, nothing written
            QMessageBox.warning(self, "Settings not saved", f"The settings could not be saved: {exc}")
            return
        self.settings_saved.emit(settings)
        super().accept()
