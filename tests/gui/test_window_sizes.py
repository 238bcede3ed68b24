"""The window fits a 1,024 × 768 screen, and a wide window gives its room to the queue columns cut first."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from shopctrl_desktop.gui.main_window import MainWindow
from shopctrl_desktop.gui.queue.columns import Column
from shopctrl_desktop.gui.queue.page import COLUMN_WIDTHS, QueuePage
from tests.gui.queue_support import OFFSCREEN_NOTE

pytestmark = OFFSCREEN_NOTE


def test_the_main_window_fits_a_1024_pixel_screen_on_every_page(qtbot, ctx):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    window.start()
    for row in range(window.nav.count()):
        window.nav.setCurrentRow(row)
        assert window.minimumSizeHint().width() <= 1024, window.nav.item(row).text()
        assert window.minimumSizeHint().height() <= 768
    window.close()


def test_a_wide_queue_widens_the_columns_cut_first_until_the_user_sets_widths(qtbot, ctx, tmp_path):
    page = QueuePage(ctx)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    qtbot.waitUntil(lambda: page.table.viewport().width() > 900)
    assert page.table.columnWidth(Column.TRIGGER) == COLUMN_WIDTHS[Column.TRIGGER]  # no room to give
    page.resize(1900, 900)
    qtbot.waitUntil(lambda: page.table.columnWidth(Column.TRIGGER) > COLUMN_WIDTHS[Column.TRIGGER])
    assert page.table.columnWidth(Column.ENTITY) > COLUMN_WIDTHS[Column.ENTITY]
    assert page.table.columnWidth(Column.URL) >= 300  # the URL still has room
    assert page.table.horizontalScrollBar().maximum() == 0  # and nothing needs scrolling sideways

    page.table.horizontalHeader().resizeSection(Column.TRIGGER, 120)  # the user's own width is kept
    page.resize(1700, 900)
    qtbot.waitUntil(lambda: page.table.viewport().width() < 1700)
    assert page.table.columnWidth(Column.TRIGGER) == 120

    settings = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    page.save_state(settings)
    again = QueuePage(ctx)
    qtbot.addWidget(again)
    again.restore_state(settings)  # restored widths are the user's too
    again.resize(1900, 900)
    again.show()
    qtbot.waitUntil(lambda: again.table.viewport().width() > 1500)
    assert again.table.columnWidth(Column.TRIGGER) == 120


def test_the_circuit_note_is_shortened_to_the_room_of_a_1024_pixel_status_bar(qtbot, ctx):
    from types import SimpleNamespace

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    name = "orders-erp.internal.example-shop.com:8443/api/v2/webhooks/orders"
    full = f"{name} failing since 10:42 — 312 waiting"
    window.show_circuit_note(SimpleNamespace(name=name, text=lambda: full))
    label = window.circuit_label
    qtbot.waitUntil(lambda: label.isVisible() and label.width() > 0)
    assert "…" in label.text() and full in label.toolTip()  # the whole note stays in the tooltip
    assert label.sizeHint().width() <= label.width()  # nothing cut off by the permanent labels
    window.resize(1900, 900)
    qtbot.waitUntil(lambda: "312 waiting" in label.text())  # a wide window has room for the end of the line
    window.close()
