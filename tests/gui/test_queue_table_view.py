"""The queue table paints its own cells (gui/queue/table_view.py): what shows on screen, pixel by pixel."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage, QPalette

from shopctrl_desktop.domain.queue import ItemChange
from shopctrl_desktop.gui.queue.columns import STATUS_COLOURS, Column
from shopctrl_desktop.gui.queue.page import QueuePage
from shopctrl_desktop.store.models import QueueItemRow
from tests.gui.queue_support import OFFSCREEN_NOTE, add_queue_items

pytestmark = OFFSCREEN_NOTE


@pytest.fixture
def page(qtbot, ctx):
    widget = QueuePage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    return widget


def shown(qtbot, page: QueuePage, rows: int) -> None:
    """Load the page and wait until the first ``rows`` rows arrived (a paint asks for them)."""
    page.start()
    qtbot.waitUntil(lambda: page.model.is_complete and not page.model.is_loading, timeout=10_000)
    page.table.viewport().repaint()
    qtbot.waitUntil(lambda: all(page.model.is_row_loaded(r) for r in range(rows)), timeout=5_000)


def picture(page: QueuePage) -> QImage:
    return page.table.viewport().grab().toImage()


def colour_at(image: QImage, page: QueuePage, row: int, column: int, *, inset: int = 1) -> str:
    """The colour just inside the left edge of a cell (where no text is drawn)."""
    rect = page.table.visualRect(page.model.index(row, column))
    return QColor(image.pixel(QPoint(rect.left() + inset, rect.center().y()))).name()


def dark_columns(image: QImage, page: QueuePage, row: int, column: int) -> list[int]:
    """The x positions (relative to the cell) where text pixels are painted in the cell's middle band."""
    rect = page.table.visualRect(page.model.index(row, column))
    xs = []
    for x in range(rect.left(), rect.right() + 1):
        for y in range(rect.top() + 2, rect.bottom() - 1):
            if QColor(image.pixel(x, y)).lightness() < 140:
                xs.append(x - rect.left())
                break
    return xs


def test_status_cells_rows_and_selection_are_painted_in_their_colours(qtbot, page, ctx):
    add_queue_items(ctx.db, 6, status="failed")
    shown(qtbot, page, 6)
    image = picture(page)
    failed_bg = STATUS_COLOURS["failed"][1]
    assert colour_at(image, page, 0, Column.STATUS) == failed_bg
    assert colour_at(image, page, 1, Column.STATUS) == failed_bg
    palette = page.table.palette()
    base = palette.color(QPalette.ColorRole.Base).name()
    alternate = palette.color(QPalette.ColorRole.AlternateBase).name()
    assert base != alternate
    assert colour_at(image, page, 0, Column.EVENT) == base
    assert colour_at(image, page, 1, Column.EVENT) == alternate  # alternating rows

    page.select_row(2)
    image = picture(page)
    group = QPalette.ColorGroup.Active if page.table.isActiveWindow() else QPalette.ColorGroup.Inactive
    highlight = palette.color(group, QPalette.ColorRole.Highlight).name()
    for column in (Column.ID, Column.STATUS, Column.EVENT):  # the whole row, the status cell too
        assert colour_at(image, page, 2, column) == highlight
    assert colour_at(image, page, 3, Column.STATUS) == failed_bg


def test_cell_texts_are_painted_aligned_and_cut_to_their_column(qtbot, page, ctx):
    add_queue_items(ctx.db, 3)
    shown(qtbot, page, 3)
    table = page.table
    table.setColumnWidth(Column.TRIGGER, 40)  # far narrower than "Order to ERP"
    image = picture(page)
    width = table.columnWidth(Column.ID)
    id_text = dark_columns(image, page, 0, Column.ID)
    assert id_text and min(id_text) > width // 2  # numbers are right-aligned
    event_text = dark_columns(image, page, 0, Column.EVENT)
    assert event_text and min(event_text) < 10  # text is left-aligned
    trigger_text = dark_columns(image, page, 0, Column.TRIGGER)
    assert trigger_text and max(trigger_text) < 40  # elided: nothing painted past its own column
    assert page.model.index(0, Column.TRIGGER).data(
        Qt.ItemDataRole.ToolTipRole
    )  # the whole text is the tooltip


def test_a_changed_status_is_painted_after_the_row_is_re_read(qtbot, page, ctx):
    ids = add_queue_items(ctx.db, 4, status="queued")
    shown(qtbot, page, 4)
    assert colour_at(picture(page), page, 0, Column.STATUS) == STATUS_COLOURS["queued"][1]
    with ctx.db.session() as s:
        s.get(QueueItemRow, ids[-1]).status = "delivered"
    page.on_engine_items_changed([ItemChange(ids[-1], "delivered", 1)])
    delivered = STATUS_COLOURS["delivered"][1]
    qtbot.waitUntil(lambda: colour_at(picture(page), page, 0, Column.STATUS) == delivered, timeout=5_000)
    assert colour_at(picture(page), page, 1, Column.STATUS) == STATUS_COLOURS["queued"][1]
