"""Help menu: About shows version, data dir, database URL (password hidden) and listener; Open folder/log."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QMessageBox

from shopctrl_desktop import __version__
from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.gui import help as help_menu

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def ctx(app_paths, db, box) -> AppContext:
    return AppContext(paths=app_paths, settings=Settings(), db=db, box=box)


@pytest.fixture
def window(qtbot, ctx):
    win = QMainWindow()
    win.menuBar().addMenu("&File")
    qtbot.addWidget(win)
    help_menu.install_help_menu(win, ctx, listener_address=lambda: "127.0.0.1:49152")
    return win


def _action(window: QMainWindow, name: str):
    menu = window.menuBar().findChild(QMenu, "help_menu")
    assert menu is not None
    found = [a for a in menu.actions() if a.objectName() == name]
    assert found, name
    return found[0]


@pytest.mark.qt_log_ignore("propagateSizeHints")  # the offscreen platform's note when a dialog opens
def test_about_shows_version_paths_database_and_listener(qtbot, window, ctx):
    _action(window, "action_about").trigger()
    box = window.findChild(QMessageBox, "about_dialog")
    assert box is not None
    qtbot.waitExposed(box)
    text = box.text()
    assert __version__ in text
    assert str(ctx.paths.data_dir) in text
    assert "sqlite:///" in text
    assert "127.0.0.1:49152" in text
    if os.environ.get("SHOPCTRL_SCREENSHOTS"):  # refresh docs/screenshots only when asked
        box.grab().save(str(SCREENSHOTS / "about.png"))
    box.close()


def test_about_hides_the_database_password(ctx):
    # no database given: opening it (a PostgreSQL server that is not there) would fail the test
    pg = AppContext(
        ctx.paths, Settings(database_url="postgresql+psycopg://shop:pw-very-secret@db.example/shopctrl")
    )
    text = help_menu.about_html(pg, "127.0.0.1:8765")
    assert "pw-very-secret" not in text
    assert "db.example/shopctrl" in text and "***" in text


def test_help_menu_is_reused_not_duplicated(qtbot, ctx):
    win = QMainWindow()
    qtbot.addWidget(win)
    existing = win.menuBar().addMenu("&Help")
    menu = help_menu.install_help_menu(win, ctx)
    assert menu is existing
    assert sum(1 for a in win.menuBar().actions() if a.menu() is not None) == 1


def test_open_data_folder_and_log_file(window, ctx, monkeypatch):
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    ctx.paths.log_file.write_text("log line\n", "utf-8")
    _action(window, "action_open_data_folder").trigger()
    _action(window, "action_open_log_file").trigger()
    assert opened == [str(ctx.paths.data_dir), str(ctx.paths.log_file)]


def test_open_path_without_handler_copies_the_path(qtbot, ctx, monkeypatch):
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append(text))
    assert not help_menu.open_path(None, ctx.paths.data_dir, "data folder")
    assert QApplication.clipboard().text() == str(ctx.paths.data_dir)
    assert shown and str(ctx.paths.data_dir) in shown[0]


def test_app_icon_has_all_sizes(qapp):
    icon = help_menu.app_icon()
    assert not icon.isNull()
    assert {s.width() for s in icon.availableSizes()} >= {16, 32, 48, 64, 128, 256}
