"""The HMAC secret's rotation as one compact row of the General tab, right under the signature scheme: when
the secret was rotated (and until when the previous one still signs) and "Rotate secret…" (the dialog:
rotate_dialog.py). Shown once the action is saved with a secret — there is nothing to rotate before."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from shopctrl_desktop.domain.model import WebhookAction
from shopctrl_desktop.domain.secret_rotation import rotation_notice
from shopctrl_desktop.gui.theme import style

ROTATION_HINT = (
    "Rotating replaces the HMAC secret when you save: Standard Webhooks keeps signing with the previous "
    "secret for an overlap (24 h by default); ShopCtrl and GitHub signatures switch at once."
)


class RotationRow(QWidget):
    rotate_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rotation_label = QLabel(self)
        self.rotation_label.setObjectName("secret_rotation_state")
        self.rotation_label.setWordWrap(True)
        self.rotation_label.setStyleSheet(style("color: #555;"))
        self.rotation_label.setToolTip(ROTATION_HINT)
        small = self.rotation_label.font()  # a note about the secret, not a field: one line at 1024 px
        small.setPointSizeF(small.pointSizeF() * 0.9)
        self.rotation_label.setFont(small)
        self.rotate_button = QPushButton("&Rotate secret…", self)
        self.rotate_button.setObjectName("rotate_secret")
        self.rotate_button.setAccessibleName("Rotate secret")
        self.rotate_button.setToolTip(ROTATION_HINT)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.rotation_label, 1)
        layout.addWidget(self.rotate_button)
        self.rotate_button.clicked.connect(self.rotate_requested)

    def show_rotation(self, action: WebhookAction, now: datetime | None = None) -> bool:
        """The stored rotation state of ``action`` (local time); False when it has no stored secret to rotate
        (a new action, or none saved): the button is then disabled and says why."""
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
                "Save the action with an HMAC secret first; rotating replaces a stored secret"
            )
            return False
        return True

    def show_pending_rotation(self, overlap_hours: float) -> None:
        self.rotation_label.setText(
            "New secret chosen: it is rotated when you save"
            + (
                f"; the previous secret is then also signed for {overlap_hours:g} h."
                if overlap_hours > 0
                else " (receivers must use the new secret from then on)."
            )
        )
