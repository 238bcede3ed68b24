"""The payload body editor: monospace, line numbers, merge-field insertion, the error line marked in red."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

from shopctrl_desktop.domain.model import MimeType
from shopctrl_desktop.gui.theme import colour
from shopctrl_desktop.gui.webhook.highlighter import PayloadHighlighter

ERROR_LINE_COLOR = QColor("#ffd7d5")
UNKNOWN_FIELD_COLOR = QColor("#c26e00")  # amber wavy underline: a merge field the catalogue lacks
UNKNOWN_FIELD_BACKGROUND = QColor("#ffe2a6")


class _LineNumbers(QWidget):
    def __init__(self, editor: PayloadEditor) -> None:
        super().__init__(editor)
        self._editor = editor

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self._editor.line_number_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        self._editor.paint_line_numbers(event)


class PayloadEditor(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabChangesFocus(False)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 2)
        self.highlighter = PayloadHighlighter(self.document())
        self._numbers = _LineNumbers(self)
        self._error_line: int | None = None
        self._unknown: list[tuple[int, int]] = []
        self.blockCountChanged.connect(self._update_margin)
        self.updateRequest.connect(self._on_update_request)
        self._update_margin()

    # --- API ------------------------------------------------------------------------------------
    def set_mime_type(self, mime: MimeType) -> None:
        self.highlighter.set_mime_type(mime)

    def insert_at_cursor(self, text: str) -> None:
        """Insert (replacing a selection) where the cursor is, and keep the focus here."""
        cursor = self.textCursor()
        cursor.insertText(text)
        self.setTextCursor(cursor)
        self.setFocus()

    def mark_error_line(self, line: int | None) -> None:
        """Mark a 1-based line (None clears)."""
        self._error_line = line
        self._update_selections()

    def mark_unknown_fields(self, spans: list[tuple[int, int]]) -> None:
        """Underline these (start, end) character ranges: merge-field paths the catalogue does not have."""
        self._unknown = list(spans)
        self._update_selections()

    @property
    def unknown_field_spans(self) -> list[tuple[int, int]]:
        return list(self._unknown)

    def _update_selections(self) -> None:
        line = self._error_line
        selections: list[QTextEdit.ExtraSelection] = []
        length = self.document().characterCount() - 1
        for start, end in self._unknown:
            if end > length:
                continue
            selection = QTextEdit.ExtraSelection()
            selection.format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            selection.format.setUnderlineColor(colour(UNKNOWN_FIELD_COLOR.name()))
            selection.format.setBackground(colour(UNKNOWN_FIELD_BACKGROUND.name()))
            selection.format.setToolTip("Unknown merge field")
            cursor = QTextCursor(self.document())
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            selection.cursor = cursor
            selections.append(selection)
        if line is not None and 1 <= line <= self.blockCount():
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(colour(ERROR_LINE_COLOR.name()))
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            cursor = QTextCursor(self.document().findBlockByNumber(line - 1))
            cursor.clearSelection()
            selection.cursor = cursor
            selections.append(selection)
        self.setExtraSelections(selections)
        self._numbers.update()

    @property
    def error_line(self) -> int | None:
        return self._error_line

    # --- line numbers ---------------------------------------------------------------------------
    def line_number_width(self) -> int:
        digits = max(2, len(str(max(1, self.blockCount()))))
        return 10 + self.fontMetrics().horizontalAdvance("9") * digits

    def _update_margin(self, *_args: object) -> None:
        self.setViewportMargins(self.line_number_width(), 0, 0, 0)

    def _on_update_request(self, rect: QRect, dy: int) -> None:
        if dy:
            self._numbers.scroll(0, dy)
        else:
            self._numbers.update(0, rect.y(), self._numbers.width(), rect.height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        rect = self.contentsRect()
        self._numbers.setGeometry(QRect(rect.left(), rect.top(), self.line_number_width(), rect.height()))

    def paint_line_numbers(self, event: QPaintEvent) -> None:
        painter = QPainter(self._numbers)
        painter.fillRect(event.rect(), self.palette().color(self.palette().ColorRole.AlternateBase))
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        bottom = top + round(self.blockBoundingRect(block).height())
        height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible() and bottom >= event.rect().top():
                is_error = self._error_line == number + 1
                painter.setPen(colour("#b3261e") if is_error else colour("#8c959f"))
                painter.drawText(
                    0, top, self._numbers.width() - 5, height, Qt.AlignmentFlag.AlignRight, str(number + 1)
                )
            block = block.next()
            top = bottom
            bottom = top + round(self.blockBoundingRect(block).height())
            number += 1
        painter.end()
