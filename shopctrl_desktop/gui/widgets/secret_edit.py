"""A line edit for secrets: masked by default, with a Show/Hide toggle next to it.

A secret stored sealed for the engine key (domain/stored_secret.py: this workstation cannot read it) is shown
as "stored — type to replace": typing replaces it, Clear removes it, and ``text()`` gives the marker back
while nothing is typed, so saving keeps it as it is."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QToolButton, QWidget

from shopctrl_desktop.domain.stored_secret import is_stored_secret

STORED_PLACEHOLDER = "stored — type to replace (it cannot be read on this workstation)"


class SecretLineEdit(QWidget):
    """Masked text with a Show/Hide button. ``text()``/``setText()`` as on QLineEdit."""

    text_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, placeholder: str = "") -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setPlaceholderText(placeholder)
        self._placeholder = placeholder
        self._stored: str | None = None
        self.edit.textChanged.connect(self._on_edit_text_changed)
        self.toggle = QToolButton(self)
        self.toggle.setText("Show")
        self.toggle.setCheckable(True)
        self.toggle.setToolTip("Show or hide the value")
        self.toggle.toggled.connect(self._on_toggle_toggled)
        self.clear_stored = QToolButton(self)
        self.clear_stored.setObjectName("clear_stored_secret")
        self.clear_stored.setText("Clear")
        self.clear_stored.setToolTip("Remove the stored secret")
        self.clear_stored.clicked.connect(self._on_clear_stored_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.toggle)
        layout.addWidget(self.clear_stored)
        self.setFocusProxy(self.edit)
        self._show_state()

    def text(self) -> str:
        """What was typed; while nothing is typed over a stored (sealed) secret, its marker (kept on save)."""
        typed = self.edit.text()
        return typed if typed or self._stored is None else self._stored

    def setText(self, text: str | None) -> None:  # noqa: N802 - Qt naming
        self._stored = text if is_stored_secret(text) else None
        self.edit.setText("" if self._stored is not None else (text or ""))
        self._show_state()

    def is_stored(self) -> bool:
        """A stored secret that this workstation cannot read is kept (nothing typed over it)."""
        return self._stored is not None and not self.edit.text()

    def _show_state(self) -> None:
        stored = self._stored is not None
        self.edit.setPlaceholderText(STORED_PLACEHOLDER if stored else self._placeholder)
        self.clear_stored.setVisible(stored)
        self.toggle.setEnabled(not self.is_stored())

    def _on_edit_text_changed(self, _text: str) -> None:
        self.toggle.setEnabled(not self.is_stored())
        self.text_changed.emit(self.text())

    def _on_clear_stored_clicked(self) -> None:
        self._stored = None
        self.edit.clear()
        self._show_state()
        self.text_changed.emit("")

    def is_revealed(self) -> bool:
        return self.edit.echoMode() == QLineEdit.EchoMode.Normal

    def set_revealed(self, revealed: bool) -> None:
        self.toggle.setChecked(revealed)

    def _on_toggle_toggled(self, checked: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if checked else QLineEdit.EchoMode.Password)
        self.toggle.setText("Hide" if checked else "Show")
