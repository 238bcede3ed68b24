"""A validation message that sits right under (or next to) the field it is about."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from shopctrl_desktop.gui.theme import style as themed

ERROR_STYLE = "color: #b3261e;"
INFO_STYLE = "color: #5f6368;"
OK_STYLE = "color: #1e7b34;"
WARNING_STYLE = "color: #8a5300;"  # amber (on a dark palette each is its twin in gui/theme.py)


class FieldMessage(QLabel):
    """Hidden while empty; red for errors, amber for warnings (never a blocker), grey for hints, green for
    good news."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.hide()

    def show_error(self, text: str) -> None:
        self._show(text, "error", ERROR_STYLE)

    def show_warning(self, text: str) -> None:
        self._show(text, "warning", WARNING_STYLE)

    def show_info(self, text: str) -> None:
        self._show(text, "info", INFO_STYLE)

    def show_ok(self, text: str) -> None:
        self._show(text, "ok", OK_STYLE)

    def clear_message(self) -> None:
        self.setProperty("severity", None)
        self.setText("")
        self.hide()

    def has_error(self) -> bool:
        return self.property("severity") == "error" and bool(self.text())

    def severity(self) -> str | None:
        """ "error", "warning", "info", "ok", or None while hidden."""
        value = self.property("severity")
        return str(value) if value and self.text() else None

    def _show(self, text: str, severity: str, style: str) -> None:
        if not text:
            self.clear_message()
            return
        self.setProperty("severity", severity)
        self.setStyleSheet(themed(style))
        self.setText(text)
        self.show()


def with_message(widget: QWidget, message: FieldMessage) -> QWidget:
    """``widget`` with ``message`` right under it, as one form row (the row hands the focus to ``widget``,
    so the row's label reaches it)."""
    box = QWidget()
    box.setFocusProxy(widget)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(widget)
    layout.addWidget(message)
    return box
