""" "Rotate secret…": a new HMAC secret for a stored action (issue 12 item 7; the rule:
domain/secret_rotation.py). The dialog only chooses the new secret and the overlap; the editor applies it on
save (store/triggers.py), so an open trigger editor never writes the old secret back."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from shopctrl_desktop.domain.model import SignatureScheme
from shopctrl_desktop.domain.secret_rotation import MAX_OVERLAP_HOURS, keeps_previous
from shopctrl_desktop.domain.signing import generate_secret, validate_secret
from shopctrl_desktop.gui.widgets.field_message import FieldMessage
from shopctrl_desktop.gui.widgets.secret_edit import SecretLineEdit


class RotateSecretDialog(QDialog):
    """Choose the new secret (typed or generated) and, for Standard Webhooks, the overlap in hours."""

    def __init__(
        self,
        scheme: SignatureScheme,
        default_overlap_hours: float,
        current_secret: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.scheme = SignatureScheme(scheme)
        self._current = current_secret
        self.setWindowTitle("Rotate secret")
        overlap = keeps_previous(self.scheme)
        intro = QLabel(
            "The new secret signs every request from the moment you save. "
            + (
                "Standard Webhooks receivers accept any of several signatures, so the previous secret keeps "
                "signing beside it for the overlap below: update the receivers within that time."
                if overlap
                else "This scheme carries one signature: a clear cut-over. Receivers must use the new "
                "secret as soon as you save; requests signed with it fail at receivers that still have "
                "the old one."
            ),
            self,
        )
        intro.setWordWrap(True)
        self.secret_edit = SecretLineEdit(self, placeholder="enter the new secret or click Generate")
        self.generate_button = QPushButton("&Generate", self)
        self.generate_button.setToolTip("Create a new random secret for this scheme")
        row = QWidget(self)
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.secret_edit, 1)
        row_layout.addWidget(self.generate_button)
        self.overlap_spin = QDoubleSpinBox(self)
        self.overlap_spin.setRange(0, MAX_OVERLAP_HOURS)
        self.overlap_spin.setDecimals(1)
        self.overlap_spin.setSuffix(" h")
        self.overlap_spin.setValue(default_overlap_hours if overlap else 0)
        self.overlap_spin.setEnabled(overlap)
        self.overlap_spin.setToolTip(
            "How long the previous secret keeps signing (0: a cut-over)" if overlap else "Not for this scheme"
        )
        self.message = FieldMessage(self)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Rotate")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(intro)
        form.addRow("New &secret:", row)
        form.addRow("Previous secret also &signed for:", self.overlap_spin)
        form.addRow("", self.message)
        form.addRow(self.buttons)
        self.generate_button.clicked.connect(self._on_generate_button_clicked)
        self.secret_edit.text_changed.connect(lambda _t: self.message.clear_message())
        self.resize(560, self.sizeHint().height())

    def new_secret(self) -> str:
        return self.secret_edit.text()

    def overlap_hours(self) -> float:
        return float(self.overlap_spin.value()) if keeps_previous(self.scheme) else 0.0

    def _on_generate_button_clicked(self) -> None:
        self.secret_edit.setText(generate_secret(self.scheme))
        self.secret_edit.set_revealed(False)

    def accept(self) -> None:
        try:
            validate_secret(self.scheme, self.new_secret())
        except ValueError as exc:
            self.message.show_error(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
            self.secret_edit.setFocus()
            return
        if self.new_secret() == self._current:
            self.message.show_error(
                "The new secret is the same as the current one; enter another or Generate."
            )
            return
        super().accept()
