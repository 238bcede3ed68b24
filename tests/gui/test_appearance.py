"""Appearance (Settings): System, Light or Dark; dark keeps the status badges and muted text readable."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from shopctrl_desktop.config import load_settings
from shopctrl_desktop.gui.main_window import MainWindow
from shopctrl_desktop.gui.queue.columns import STATUS_COLOURS, Column
from shopctrl_desktop.gui.theme import DARK_TWINS, Appearance, apply_appearance, contrast_ratio, dark_palette
from tests.gui.queue_support import OFFSCREEN_NOTE, add_queue_items

pytestmark = OFFSCREEN_NOTE


@pytest.fixture(autouse=True)
def system_appearance_afterwards(qapp) -> Iterator[None]:
    yield
    apply_appearance(Appearance.SYSTEM)  # the next test sees the palette it started with


def window_colour() -> int:
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness()


def save_appearance(qtbot, window: MainWindow, label: str) -> None:
    dialog = window.open_settings()
    combo = dialog.appearance_combo
    combo.setCurrentIndex(combo.findText(label))
    with qtbot.waitSignal(window.settings_saved, timeout=5_000):
        qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)


def badge_colours(window: MainWindow) -> dict[str, tuple[object, object]]:
    model = window.queue_page.model
    seen = {}
    for row in range(model.rowCount()):
        index = model.index(row, int(Column.STATUS))
        seen[index.data()] = (
            index.data(Qt.ItemDataRole.ForegroundRole),
            index.data(Qt.ItemDataRole.BackgroundRole),
        )
    return seen


def test_dark_is_chosen_in_settings_applied_at_once_and_saved(qtbot, ctx, app_paths, db):
    add_queue_items(db, 12)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: window.queue_page.model.is_complete, timeout=10_000)
    assert window_colour() > 128  # the offscreen platform's light palette
    light_hint = window.queue_page.empty_label.styleSheet()
    assert "#666" in light_hint

    save_appearance(qtbot, window, "Dark")
    assert window_colour() < 80
    assert QApplication.style().name().lower() == "fusion"
    assert json.loads(app_paths.settings_file.read_text("utf-8"))["appearance"] == "dark"
    assert load_settings(app_paths, environ={}).appearance == "dark"
    # the widgets already shown are re-coloured: the muted hint is light grey now, not #666
    assert window.queue_page.empty_label.styleSheet() == light_hint.replace("#666", DARK_TWINS["#666"])

    base = QGuiApplication.palette().color(QPalette.ColorRole.Base)
    wanted = {"Queued", "Delivered", "Failed", "Retrying"}
    qtbot.waitUntil(lambda: wanted <= set(badge_colours(window)), timeout=5_000)  # rows are read lazily
    badges = {k: v for k, v in badge_colours(window).items() if k in wanted | {"Cancelled", "Sending"}}
    for status, (fg, bg) in badges.items():
        assert contrast_ratio(fg, base) >= 3, status  # readable on the table, also where no badge is drawn
        assert contrast_ratio(fg, bg) >= 3, status  # and on its own badge
        assert bg.lightness() < 100, status  # no light badges glaring on a dark table

    save_appearance(qtbot, window, "Light")
    assert window_colour() > 200
    assert window.queue_page.empty_label.styleSheet() == light_hint
    fg, bg = badge_colours(window)["Failed"]
    assert fg.name() == STATUS_COLOURS["failed"][0]
    window.close()


def test_every_badge_and_dark_twin_keeps_contrast():
    """The status badges' colours, light on the light palette and their twins on the dark one."""
    dark_base = dark_palette().color(QPalette.ColorRole.Base)
    from PySide6.QtGui import QColor

    white = QColor("#ffffff")
    for status, (fg, bg) in STATUS_COLOURS.items():
        assert contrast_ratio(QColor(fg), QColor(bg)) >= 3, status
        assert contrast_ratio(QColor(fg), white) >= 3, status
        dark_fg, dark_bg = QColor(DARK_TWINS[fg]), QColor(DARK_TWINS[bg])
        assert contrast_ratio(dark_fg, dark_bg) >= 3, status
        assert contrast_ratio(dark_fg, dark_base) >= 3, status


def test_appearance_at_start_comes_from_settings(qtbot, ctx):
    from dataclasses import replace

    ctx.settings = replace(ctx.settings, appearance="dark")
    apply_appearance(ctx.settings.appearance)  # what gui/app.py does before the window is built
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    dialog = window.open_settings()
    assert dialog.appearance_combo.currentData() == "dark"
    assert window.palette().color(QPalette.ColorRole.Window).lightness() < 80
    dialog.reject()
    window.close()


def test_html_already_shown_is_recoloured_links_included(qtbot):
    from PySide6.QtWidgets import QTextBrowser

    from shopctrl_desktop.gui.theme import style

    apply_appearance(Appearance.LIGHT)
    light_link = QGuiApplication.palette().color(QPalette.ColorRole.Link).name()
    view = QTextBrowser()
    qtbot.addWidget(view)
    view.setHtml(style("<p style='color:#555'>muted</p><a href='queue:1'>queue item #1</a>"))
    view.show()
    assert light_link in view.toHtml()
    apply_appearance(Appearance.DARK)
    html = view.toHtml()
    assert light_link not in html and "#555555" not in html
    assert QGuiApplication.palette().color(QPalette.ColorRole.Link).name() in html  # readable on dark
    assert DARK_TWINS["#555"] in html
