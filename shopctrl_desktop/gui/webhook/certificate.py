"""Client certificate box: paste PEM (certificate + private key) or import PKCS#12; shows subject and expiry.

The PEM holds a private key, so a stored certificate is hidden until "Show PEM" is pressed.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.domain.stored_secret import is_stored_secret
from shopctrl_desktop.domain.tls import CertInfo, describe_certificate, parse_ca_bundle, pkcs12_to_pem
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.gui.widgets.field_message import FieldMessage
from shopctrl_desktop.gui.widgets.secret_edit import SecretLineEdit


def describe(info: CertInfo) -> str:
    if info.expired:
        when = f"EXPIRED on {info.not_after:%Y-%m-%d}"
    else:
        when = f"valid until {info.not_after:%Y-%m-%d} ({info.days_left} days left)"
    names = f"\nNames: {', '.join(info.alt_names[:4])}" if info.alt_names else ""
    return f"Subject: {info.subject}{names}\nIssued by: {info.issuer}\n{when}"


HIDDEN_TEXT = "Certificate and private key stored (hidden)."
SEALED_TEXT = "Certificate and key stored — cannot be read on this workstation; import or Clear to replace."


class ClientCertificateBox(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.pem_edit = QPlainTextEdit(self)
        self.pem_edit.setFont(mono)
        self.pem_edit.setPlaceholderText(
            "Paste the client certificate and its private key (PEM):\n"
            "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n…"
        )
        self.pem_edit.setFixedHeight(96)
        self.pem_edit.setTabChangesFocus(True)  # Tab moves on; a tab character would corrupt the PEM
        self._sealed_pem: str | None = None
        self.hidden_label = QLabel(HIDDEN_TEXT, self)
        self.hidden_label.setStyleSheet(style("color: #5f6368;"))
        self.show_button = QPushButton("Show PEM", self)
        self.show_button.setCheckable(True)
        self.import_button = QPushButton("Import PKCS#12…", self)
        self.clear_button = QPushButton("Clear", self)
        self.passphrase_edit = SecretLineEdit(self, placeholder="only if the private key is encrypted")
        self.info_label = QLabel(self)
        self.info_label.setWordWrap(True)
        self.message = FieldMessage(self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.hidden_label)
        buttons.addStretch(1)
        buttons.addWidget(self.show_button)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.clear_button)
        passphrase_row = QHBoxLayout()
        passphrase_label = QLabel("&Key passphrase:", self)
        passphrase_label.setBuddy(self.passphrase_edit)
        self.passphrase_edit.edit.setAccessibleName("Key passphrase")
        passphrase_row.addWidget(passphrase_label)
        passphrase_row.addWidget(self.passphrase_edit, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.pem_edit)
        layout.addLayout(buttons)
        layout.addLayout(passphrase_row)
        layout.addWidget(self.info_label)
        layout.addWidget(self.message)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self.refresh_info)
        self.pem_edit.textChanged.connect(self._on_text_changed)
        self.passphrase_edit.text_changed.connect(self._on_text_changed)
        self.show_button.toggled.connect(self._on_show_button_toggled)
        self.import_button.clicked.connect(self._on_import_button_clicked)
        self.clear_button.clicked.connect(self._on_clear_button_clicked)
        self._revealed = False
        self.info_label.hide()
        self.setFocusProxy(self.pem_edit)  # the form label "Client certificate" reaches the PEM box
        self._update_visibility()

    def load(self, pem: str | None, passphrase: str | None) -> None:
        """A stored key stays hidden; an empty box invites pasting. One sealed for the engine key (this
        workstation cannot read it) is kept as it is until it is replaced or cleared."""
        self._revealed = False
        self._sealed_pem = pem if is_stored_secret(pem) else None
        self.pem_edit.blockSignals(True)
        self.pem_edit.setPlainText("" if self._sealed_pem else (pem or ""))
        self.pem_edit.blockSignals(False)
        self.passphrase_edit.setText(passphrase)
        self._update_visibility()
        self.refresh_info()

    def pem(self) -> str | None:
        text = self.pem_edit.toPlainText()
        return text if text.strip() else self._sealed_pem

    def passphrase(self) -> str | None:
        return self.passphrase_edit.text() or None

    def has_error(self) -> bool:
        self._timer.stop()
        self.refresh_info()
        return self.message.has_error()

    def refresh_info(self) -> None:
        pem = self.pem()
        if pem is None or is_stored_secret(pem):
            self.info_label.clear()
            self.info_label.hide()
            self.message.clear_message()
            return
        try:
            info = describe_certificate(pem, self.passphrase())
        except ValueError as exc:
            self.info_label.hide()
            self.message.show_error(str(exc))
            return
        self.message.clear_message()
        self.info_label.setText(describe(info))
        self.info_label.setStyleSheet(style("color: #b3261e;" if info.expired else ""))
        self.info_label.show()
        if not info.has_private_key:
            self.message.show_error("The private key is missing: paste the certificate and its private key.")

    def _update_visibility(self) -> None:
        has_pem = bool(self.pem())
        sealed = is_stored_secret(self.pem())
        self.pem_edit.setVisible((self._revealed and not sealed) or not has_pem)
        self.hidden_label.setText(SEALED_TEXT if sealed else HIDDEN_TEXT)
        self.hidden_label.setVisible(has_pem and (sealed or not self._revealed))
        self.show_button.setVisible(has_pem and not sealed)
        self.show_button.blockSignals(True)
        self.show_button.setChecked(self._revealed)
        self.show_button.blockSignals(False)
        self.show_button.setText("Hide PEM" if self._revealed else "Show PEM")
        self.clear_button.setVisible(has_pem)

    def _on_text_changed(self) -> None:
        if not self.pem_edit.isHidden():
            self._revealed = True  # the user is typing or pasting into the visible box
        self._timer.start()
        self._update_visibility()
        self.changed.emit()

    def _on_show_button_toggled(self, checked: bool) -> None:
        self._revealed = checked
        self._update_visibility()

    def _on_clear_button_clicked(self) -> None:
        self.load(None, None)
        self.changed.emit()

    def _on_import_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import client certificate", "", "PKCS#12 files (*.p12 *.pfx);;All files (*)"
        )
        if path:
            password, ok = QInputDialog.getText(
                self, "PKCS#12 password", f"Password for {Path(path).name}:", QLineEdit.EchoMode.Password
            )
            if ok:
                self.import_pkcs12(Path(path).read_bytes(), password or None)

    def import_pkcs12(self, data: bytes, password: str | None) -> bool:
        try:
            pem = pkcs12_to_pem(data, password)
        except ValueError as exc:
            self.message.show_error(f"Import failed: {exc}")
            return False
        self.load(pem, None)
        self.changed.emit()
        return True


class CaCertificateBox(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pem_edit = QPlainTextEdit(self)
        self.pem_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.pem_edit.setPlaceholderText(
            "Optional: PEM of an extra CA to trust for this endpoint (internal or self-signed CA)"
        )
        self.pem_edit.setFixedHeight(64)
        self.pem_edit.setTabChangesFocus(True)
        self.info_label = QLabel(self)
        self.info_label.setWordWrap(True)
        self.message = FieldMessage(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.pem_edit)
        layout.addWidget(self.info_label)
        layout.addWidget(self.message)
        self.pem_edit.textChanged.connect(self._on_text_changed)
        self.info_label.hide()
        self.setFocusProxy(self.pem_edit)

    def load(self, pem: str | None) -> None:
        self.pem_edit.setPlainText(pem or "")

    def pem(self) -> str | None:
        text = self.pem_edit.toPlainText()
        return text if text.strip() else None

    def has_error(self) -> bool:
        return self.message.has_error()

    def _on_text_changed(self) -> None:
        pem = self.pem()
        if pem is None:
            self.info_label.hide()
            self.message.clear_message()
        else:
            try:
                infos = parse_ca_bundle(pem)
            except ValueError as exc:
                self.info_label.hide()
                self.message.show_error(str(exc))
            else:
                self.message.clear_message()
                self.info_label.setText("Trusts: " + "; ".join(i.subject for i in infos))
                self.info_label.show()
        self.changed.emit()
