"""The queue table's view: it paints its visible cells itself, from texts laid out once and kept.

Why not the item delegate: for each cell of each repaint, ``QStyledItemDelegate`` asks the model for seven
roles (a Python call) and the style lays the text out again (shaping, eliding) — 12–25 ms for one repaint of
a 1400×900 table on the 2-core machine, and the table repaints on every refresh tick while the engine
delivers (rows arrive at the top, statuses change). Here one Python call paints the rows in the damaged
rectangle: the model's per-row ``{role: value}`` cells (``QueueTableModel.painted_cells``) and, per distinct
text, a ``QStaticText`` elided to its column's width, kept across repaints (most columns repeat a few values,
so even new rows are mostly drawn from texts laid out already). A repaint draws prepared glyphs only
(1.5–3 ms instead of 12–25 ms). What the delegate painted, this paints too: alternating rows, the selected
rows in the highlight colours, the status cell's colours and bold font, right-aligned numbers, the focus
frame of the current cell. Tooltips and everything else still
come from the model through Qt (``data()``/``multiData()``).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPoint, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPaintEvent, QPalette, QStaticText
from PySide6.QtWidgets import QStyle, QStyleOptionFocusRect, QTableView, QWidget

from shopctrl_desktop.gui.queue.model import QueueTableModel

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_RIGHT_FLAG = int(Qt.AlignmentFlag.AlignRight.value)
#: Prepared texts kept (a screen shows ~300 cells; scrolling around builds more, then they start over).
TEXT_CACHE_CELLS = 6000


class QueueTableView(QTableView):
    """A ``QTableView`` over :class:`QueueTableModel` whose viewport is painted from prepared cell texts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: (text, column width, own font?) -> the text laid out (elided to fit) and its width. Keyed by the
        #: text, not the cell: most columns repeat a few values (status, trigger, event, URL, response), so
        #: new rows mostly reuse what is laid out already.
        self._texts: dict[tuple[str, int, bool], tuple[QStaticText, float]] = {}

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        model = self.model()
        if not isinstance(model, QueueTableModel):
            super().paintEvent(event)
            return
        rows = model.rowCount()
        area = event.rect()
        first = self.rowAt(area.top())
        if rows == 0 or first < 0:
            return
        last = self.rowAt(area.bottom())
        last = rows - 1 if last < 0 else last
        columns = self._columns_in(area.left(), area.right())
        if not columns:
            return
        painter = QPainter(self.viewport())
        try:
            self._paint_rows(painter, model, first, last, columns)
        finally:
            painter.end()

    def _columns_in(self, left: int, right: int) -> list[tuple[int, int, int]]:
        """(column, x, width) of the visible columns between ``left`` and ``right``, in the user's order."""
        header = self.horizontalHeader()
        first = header.visualIndexAt(left)
        last = header.visualIndexAt(right)
        first = 0 if first < 0 else first
        last = header.count() - 1 if last < 0 else last
        columns = []
        for visual in range(first, last + 1):
            column = header.logicalIndex(visual)
            if column >= 0 and not header.isSectionHidden(column):
                columns.append((column, header.sectionViewportPosition(column), header.sectionSize(column)))
        return columns

    def _paint_rows(
        self,
        painter: QPainter,
        model: QueueTableModel,
        first: int,
        last: int,
        columns: list[tuple[int, int, int]],
    ) -> None:
        palette = self.palette()
        group = QPalette.ColorGroup.Active if self.isActiveWindow() else QPalette.ColorGroup.Inactive
        highlight = palette.brush(group, QPalette.ColorRole.Highlight)
        highlighted_text = palette.color(group, QPalette.ColorRole.HighlightedText)
        text_colour = palette.color(group, QPalette.ColorRole.Text)
        alternate = (
            palette.brush(group, QPalette.ColorRole.AlternateBase) if self.alternatingRowColors() else None
        )
        font = self.font()
        margin = self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1
        selection = self.selectionModel()
        root = QModelIndex()
        x0 = columns[0][1]
        span = columns[-1][1] + columns[-1][2] - x0
        texts = self._texts
        if len(texts) > TEXT_CACHE_CELLS:
            texts.clear()
        metrics: dict[int, tuple[QFontMetrics, int]] = {}  # per font (by identity): metrics, text top offset
        height = self.rowHeight(first)
        y = self.rowViewportPosition(first)
        for row in range(first, last + 1):
            cells = model.painted_cells(row)[1]
            selected = selection is not None and selection.isRowSelected(row, root)
            if selected:
                painter.fillRect(x0, y, span, height, highlight)
            elif alternate is not None and row & 1:
                painter.fillRect(x0, y, span, height, alternate)
            for column, x, width in columns:
                values = cells[column]
                if not selected:
                    background = values.get(_BACKGROUND)
                    if background is not None:
                        painter.fillRect(x, y, width, height, background)
                text = values.get(_DISPLAY)
                if not text:
                    continue
                cell_font: QFont = values.get(_FONT) or font
                known = metrics.get(id(cell_font))
                if known is None:
                    fm = QFontMetrics(cell_font)
                    known = metrics[id(cell_font)] = (fm, (height - fm.height()) // 2)
                fm, top = known
                key = (text, width, cell_font is not font)
                prepared = texts.get(key)
                if prepared is None:
                    prepared = texts[key] = _prepare(text, cell_font, fm, width - 2 * margin)
                static, text_width = prepared
                align = values.get(_ALIGN)
                if align is not None and int(align) & _RIGHT_FLAG:
                    left = x + width - margin - text_width
                else:
                    left = x + margin
                foreground: Any = values.get(_FOREGROUND)
                painter.setPen(highlighted_text if selected else (foreground or text_colour))
                painter.setFont(cell_font)
                painter.drawStaticText(QPoint(int(left), y + top), static)
            y += height
        self._paint_focus(painter, first, last)

    def _paint_focus(self, painter: QPainter, first: int, last: int) -> None:
        current = self.currentIndex()
        if not self.hasFocus() or not current.isValid() or not first <= current.row() <= last:
            return
        option = QStyleOptionFocusRect()
        option.initFrom(self)
        option.rect = self.visualRect(current)
        option.state |= QStyle.StateFlag.State_KeyboardFocusChange | QStyle.StateFlag.State_HasFocus
        option.backgroundColor = self.palette().color(QPalette.ColorRole.Highlight)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_FrameFocusRect, option, painter, self)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._texts.clear()  # laid out in the old font
        if event.type() == QEvent.Type.PaletteChange and isinstance(model := self.model(), QueueTableModel):
            model.forget_painted_cells()  # the status badges' colours are for the old palette
            self.viewport().update()
        super().changeEvent(event)


def _prepare(text: str, font: QFont, fm: QFontMetrics, room: int) -> tuple[QStaticText, float]:
    """``text`` laid out once in ``font``; elided when it is wider than ``room``."""
    static = QStaticText(text)
    static.setTextFormat(Qt.TextFormat.PlainText)
    static.prepare(font=font)
    width = static.size().width()
    if width > room:
        static = QStaticText(fm.elidedText(text, Qt.TextElideMode.ElideRight, max(0, room)))
        static.setTextFormat(Qt.TextFormat.PlainText)
        static.prepare(font=font)
        width = static.size().width()
    return static, width


__all__ = ["TEXT_CACHE_CELLS", "QueueTableView"]
