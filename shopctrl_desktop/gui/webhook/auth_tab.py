"""Authentication tab: HTTP basic authentication (user name, password with show/hide). The HMAC secret, its
scheme and its rotation are on the General tab (the tab says so)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QWidget

from shopctrl_desktop.domain.model import WebhookAction
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.gui.widgets.accessibility import name_form_fields
from shopctrl_desktop.gui.widgets.field_message import FieldMessage
from shopctrl_desktop.gui.widgets.secret_edit import SecretLineEdit


class AuthTab(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        intro = QLabel(
            "HTTP basic authentication: every request carries an <tt>Authorization: Basic …</tt> header "
            "built from this user name and password. Leave both empty when the endpoint needs none.",
            self,
        )
        intro.setWordWrap(True)
        self.username_edit = QLineEdit(self)
        self.username_edit.setPlaceholderText("no authentication")
        self.password_edit = SecretLineEdit(self)
        self.message = FieldMessage(self)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(intro)
        form.addRow("&User name:", self.username_edit)
        form.addRow("&Password:", self.password_edit)
        form.addRow("", self.message)
        name_form_fields(form)
        where = QLabel(
            "The HMAC secret (request signing), its scheme and “Rotate secret…” are on the General tab.", self
        )
        where.setObjectName("hmac_on_general_tab")
        where.setWordWrap(True)
        where.setStyleSheet(style("color: #555;"))
        form.addRow(where)
        self.tab_chain: tuple[QWidget, ...] = (
            self.username_edit,
            self.password_edit.edit,
            self.password_edit.toggle,
            self.password_edit.clear_stored,
        )
        self.username_edit.textChanged.connect(self._on_changed)
        self.password_edit.text_changed.connect(self._on_changed)

    def load(self, action: WebhookAction) -> None:
        self.username_edit.setText(action.username or "")
        self.password_edit.setText(action.password)
        self.password_edit.set_revealed(False)

    def values(self) -> dict[str, object]:
        return {
            "username": self.username_edit.text().strip() or None,
            "password": self.password_edit.text() or None,
        }

    def problems(self) -> list[str]:
        if ":" in self.username_edit.text():
            self.message.show_error("A basic-authentication user name cannot contain a colon (:).")
            return ["user name"]
        if self.password_edit.text() and not self.username_edit.text().strip():
            self.message.show_error("Enter the user name that goes with this password.")
            return ["user name"]
        self.message.clear_message()
        return []

    def _on_changed(self, *_args: object) -> None:
        self.problems()
        self.changed.emit()
