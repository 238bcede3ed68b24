"""Authentication tab: HTTP basic authentication (user name, password with show/hide), and the HMAC secret's
rotation: when it was rotated and "Rotate secret…" (the dialog: rotate_dialog.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from shopctrl_desktop.domain.model import WebhookAction
from shopctrl_desktop.domain.secret_rotation import rotation_notice
from shopctrl_desktop.gui.widgets.accessibility import name_form_fields
from shopctrl_desktop.gui.widgets.field_message import FieldMessage
from shopctrl_desktop.gui.widgets.secret_edit import SecretLineEdit


class AuthTab(QWidget):
    changed = Signal()
    rotate_requested = Signal()

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
        self.rotation_box = QGroupBox("HMAC secret rotation", self)
        self.rotation_label = QLabel(self.rotation_box)
        self.rotation_label.setObjectName("secret_rotation_state")
        self.rotation_label.setWordWrap(True)
        self.rotate_button = QPushButton("&Rotate secret…", self.rotation_box)
        self.rotate_button.setToolTip(
            "Replace the HMAC secret; Standard Webhooks keeps signing with the previous one for an overlap"
        )
        hint = QLabel(
            "The secret and its signature scheme are on the General tab. Rotating replaces it when you save: "
            "Standard Webhooks keeps signing with the previous secret for an overlap (24 h by default); "
            "ShopCtrl and GitHub signatures switch at once.",
            self.rotation_box,
        )
        hint.setWordWrap(True)
        rotation_layout = QVBoxLayout(self.rotation_box)
        rotation_layout.addWidget(self.rotation_label)
        rotation_layout.addWidget(hint)
        rotation_layout.addWidget(self.rotate_button, 0, Qt.AlignmentFlag.AlignLeft)
        form.addRow(self.rotation_box)
        self.tab_chain: tuple[QWidget, ...] = (
            self.username_edit,
            self.password_edit.edit,
            self.password_edit.toggle,
            self.password_edit.clear_stored,
            self.rotate_button,
        )
        self.rotate_button.clicked.connect(self.rotate_requested)
        self.username_edit.textChanged.connect(self._on_changed)
        self.password_edit.text_changed.connect(self._on_changed)

    def load(self, action: WebhookAction) -> None:
        self.username_edit.setText(action.username or "")
        self.password_edit.setText(action.password)
        self.password_edit.set_revealed(False)

    def show_rotation(self, action: WebhookAction, now: datetime | None = None) -> None:
        """The stored rotation state of ``action`` (local time) and whether "Rotate secret…" can be used."""
        moment = now or datetime.now(UTC)
        notice = rotation_notice(
            action.signature_scheme,
            action.secret_rotated_at.astimezone() if action.secret_rotated_at else None,
            action.previous_secret_expires_at.astimezone() if action.previous_secret_expires_at else None,
            moment.astimezone(),
        )
        self.rotation_label.setText(notice or "The HMAC secret has not been rotated.")
        if action.id is None or not action.hmac_secret:
            self.rotate_button.setEnabled(False)
            self.rotate_button.setToolTip(
                "Save the action with an HMAC secret first (General tab); rotating replaces a stored secret"
            )

    def show_pending_rotation(self, overlap_hours: float) -> None:
        self.rotation_label.setText(
            "New secret chosen: it is rotated when you save"
            + (
                f"; the previous secret is then also signed for {overlap_hours:g} h."
                if overlap_hours > 0
                else " (receivers must use the new secret from then on)."
            )
        )

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
