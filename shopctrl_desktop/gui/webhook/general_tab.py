"""General tab of the Call Webhook editor: URL, method, priority, uniqueness, signing (the secret, its scheme and
its rotation), certificates, timeout."""

from __future__ import annotations

from urllib.parse import urlsplit

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.domain.model import HTTP_METHODS, Priority, SignatureScheme, WebhookAction
from shopctrl_desktop.domain.signing import generate_secret, validate_secret
from shopctrl_desktop.domain.trigger_file import CREDENTIALS_IN_URL, url_has_credentials
from shopctrl_desktop.gui.webhook.certificate import CaCertificateBox, ClientCertificateBox
from shopctrl_desktop.gui.webhook.rotation_row import RotationRow
from shopctrl_desktop.gui.widgets.accessibility import chain_tab_order, name_form_fields
from shopctrl_desktop.gui.widgets.field_message import FieldMessage, with_message
from shopctrl_desktop.gui.widgets.secret_edit import SecretLineEdit

#: the signature schemes' names, as the action list says "signed (Standard Webhooks)"
SCHEME_NAMES = {
    SignatureScheme.SHOPCTRL: "ShopCtrl",
    SignatureScheme.STANDARD_WEBHOOKS: "Standard Webhooks",
    SignatureScheme.GITHUB: "GitHub",
}
SCHEME_LABELS = {
    SignatureScheme.SHOPCTRL: "ShopCtrl (X-SIGNATURE, HMAC-SHA512)",
    SignatureScheme.STANDARD_WEBHOOKS: "Standard Webhooks (webhook-signature)",
    SignatureScheme.GITHUB: "GitHub (X-Hub-Signature-256)",
}


def url_problem(url: str) -> str | None:
    """None when the URL can be called, else what is wrong in words."""
    url = url.strip()
    if not url:
        return "Enter the URL to call, e.g. https://erp.example/hooks/order."
    if any(c.isspace() for c in url):
        return "The URL contains spaces; encode them as %20."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        return f"This is not a valid URL: {exc}."
    if parts.scheme.lower() not in ("http", "https"):
        return "The URL must start with http:// or https://."
    if not parts.hostname:
        return "The URL has no host name, e.g. https://erp.example/hooks."
    if url_has_credentials(url):
        return f"The URL {CREDENTIALS_IN_URL}."
    return None


class GeneralTab(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.url_edit = QLineEdit(self)
        self.url_edit.setPlaceholderText("https://erp.example/hooks/order")
        self.url_message = FieldMessage(self)
        self.method_combo = QComboBox(self)
        self.method_combo.addItems(list(HTTP_METHODS))
        self.priority_combo = QComboBox(self)
        for priority in Priority:
            self.priority_combo.addItem(priority.label, int(priority))
        self.unique_check = QCheckBox("Queue items must be unique", self)
        self.unique_check.setToolTip(
            "Skip a new item while one for the same action and the same entity is still waiting;\n"
            "the waiting item takes the newest payload and counts the skipped events."
        )
        self.secret_edit = SecretLineEdit(self, placeholder="no signature")
        self.generate_button = QPushButton("Generate", self)
        self.generate_button.setToolTip("Create a new random secret for the chosen scheme")
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setToolTip("Copy the secret to the clipboard, to hand it to the receiver")
        self.copy_button.setEnabled(False)
        self.scheme_combo = QComboBox(self)
        for scheme, label in SCHEME_LABELS.items():
            self.scheme_combo.addItem(label, scheme.value)
        self.secret_message = FieldMessage(self)
        self.rotation = RotationRow(self)  # shown once the action has a stored secret (show_rotation)
        secret_row = QWidget(self)
        secret_layout = QHBoxLayout(secret_row)
        secret_layout.setContentsMargins(0, 0, 0, 0)
        secret_layout.addWidget(self.secret_edit, 1)
        secret_layout.addWidget(self.generate_button)
        secret_layout.addWidget(self.copy_button)
        secret_row.setFocusProxy(self.secret_edit)
        self.certificate_box = ClientCertificateBox(self)
        self.ca_box = CaCertificateBox(self)
        self.timeout_spin = QDoubleSpinBox(self)
        self.timeout_spin.setRange(1, 600)
        self.timeout_spin.setDecimals(0)
        self.timeout_spin.setSuffix(" s")
        self.timeout_spin.setValue(30)
        for narrow in (self.method_combo, self.priority_combo, self.timeout_spin):  # as wide as their values
            narrow.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

        outer = QVBoxLayout(self)
        form = QFormLayout()
        outer.addLayout(form)
        outer.addStretch(1)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("&URL:", with_message(self.url_edit, self.url_message))
        form.addRow("&Method:", self.method_combo)
        form.addRow("&Priority:", self.priority_combo)
        form.addRow("", self.unique_check)
        form.addRow("HMAC &secret:", with_message(secret_row, self.secret_message))
        form.addRow("Signature s&cheme:", self.scheme_combo)
        form.addRow("Secret rotation:", self.rotation)
        self._form = form
        form.addRow("C&lient certificate:", self.certificate_box)
        form.addRow("Trusted C&A:", self.ca_box)
        form.addRow("&Timeout:", self.timeout_spin)
        name_form_fields(form)
        self.unique_check.setAccessibleName(self.unique_check.text())
        certificate, ca = self.certificate_box, self.ca_box
        #: Tab follows the visual order, top to bottom, left to right (issue 14 point 3)
        self.tab_chain: tuple[QWidget, ...] = (
            self.url_edit,
            self.method_combo,
            self.priority_combo,
            self.unique_check,
            self.secret_edit.edit,
            self.secret_edit.toggle,
            self.secret_edit.clear_stored,
            self.generate_button,
            self.copy_button,
            self.scheme_combo,
            self.rotation.rotate_button,
            certificate.pem_edit,
            certificate.show_button,
            certificate.import_button,
            certificate.clear_button,
            certificate.passphrase_edit.edit,
            certificate.passphrase_edit.toggle,
            certificate.passphrase_edit.clear_stored,
            ca.pem_edit,
            self.timeout_spin,
        )
        chain_tab_order(*self.tab_chain)

        self.url_edit.textChanged.connect(self._on_url_edit_text_changed)
        self.secret_edit.text_changed.connect(self._on_secret_changed)
        self.scheme_combo.currentIndexChanged.connect(self._on_secret_changed)
        self.generate_button.clicked.connect(self._on_generate_button_clicked)
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        for signal in (
            self.method_combo.currentIndexChanged,
            self.priority_combo.currentIndexChanged,
            self.unique_check.toggled,
            self.timeout_spin.valueChanged,
            self.certificate_box.changed,
            self.ca_box.changed,
        ):
            signal.connect(self.changed)

    def load(self, action: WebhookAction) -> None:
        self.url_edit.setText(action.url)
        self.method_combo.setCurrentText(action.method)
        self.priority_combo.setCurrentIndex(self.priority_combo.findData(int(action.priority)))
        self.unique_check.setChecked(action.unique_queue_items)
        self.secret_edit.setText(action.hmac_secret)
        self.secret_edit.set_revealed(False)
        self.scheme_combo.setCurrentIndex(
            self.scheme_combo.findData(SignatureScheme(action.signature_scheme).value)
        )
        self.certificate_box.load(action.client_certificate, action.client_certificate_passphrase)
        self.ca_box.load(action.ca_certificate)
        self.timeout_spin.setValue(action.timeout_seconds)
        self.url_message.clear_message()
        self.secret_message.clear_message()

    def show_rotation(self, action: WebhookAction) -> None:
        """The stored secret's rotation row: shown only when there is a stored secret to rotate."""
        self._form.setRowVisible(self.rotation, self.rotation.show_rotation(action))

    def values(self) -> dict[str, object]:
        return {
            "url": self.url_edit.text().strip(),
            "method": self.method_combo.currentText(),
            "priority": Priority(self.priority_combo.currentData()),
            "unique_queue_items": self.unique_check.isChecked(),
            "hmac_secret": self.secret_edit.text() or None,
            "signature_scheme": SignatureScheme(self.scheme_combo.currentData()),
            "client_certificate": self.certificate_box.pem(),
            "client_certificate_passphrase": self.certificate_box.passphrase()
            if self.certificate_box.pem()
            else None,
            "ca_certificate": self.ca_box.pem(),
            "timeout_seconds": float(self.timeout_spin.value()),
        }

    def problems(self) -> list[str]:
        """Validate every field, show the messages next to them, return short summaries."""
        problems = []
        url = url_problem(self.url_edit.text())
        if url:
            self.url_message.show_error(url)
            problems.append("URL")
        else:
            self.url_message.clear_message()
        if self._check_secret():
            problems.append("HMAC secret")
        if self.certificate_box.has_error():
            problems.append("client certificate")
        if self.ca_box.has_error():
            problems.append("trusted CA")
        return problems

    def _check_secret(self) -> bool:
        secret = self.secret_edit.text()
        if not secret:
            self.secret_message.clear_message()
            return False
        try:
            validate_secret(SignatureScheme(self.scheme_combo.currentData()), secret)
        except ValueError as exc:
            text = str(exc)
            self.secret_message.show_error(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))
            return True
        self.secret_message.clear_message()
        return False

    def _on_url_edit_text_changed(self, text: str) -> None:
        problem = url_problem(text)
        if problem and text.strip():
            self.url_message.show_error(problem)
        else:
            self.url_message.clear_message()
        self.changed.emit()

    def _on_secret_changed(self, *_args: object) -> None:
        self._check_secret()
        self.copy_button.setEnabled(bool(self.secret_edit.edit.text()))  # never a sealed secret's marker
        self.changed.emit()

    def _on_copy_button_clicked(self) -> None:
        secret = self.secret_edit.edit.text()
        if not secret:
            return
        QGuiApplication.clipboard().setText(secret)
        if not self.secret_message.has_error():
            self.secret_message.show_info("Copied. Give it to the receiver; it checks the signature with it.")

    def _on_generate_button_clicked(self) -> None:
        self.secret_edit.setText(generate_secret(SignatureScheme(self.scheme_combo.currentData())))
