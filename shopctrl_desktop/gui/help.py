"""The Help menu: About (version, data dir, database URL, listener address), Open data folder, Open log file.

The main window calls ``install_help_menu(self, ctx, listener_address=...)`` once; the application calls
``app_icon()`` for its window icon.
"""

from __future__ import annotations

import html
import platform
from collections.abc import Callable
from pathlib import Path

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QIcon
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QMenuBar, QMessageBox, QWidget
from sqlalchemy.engine import make_url

from shopctrl_desktop import __version__
from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.resources import ResourceNotFound, icon_path, icon_pngs

APP_TITLE = "ShopCtrl Desktop"


def app_icon() -> QIcon:
    """The application icon with every PNG size (and the SVG when the PNGs are missing)."""
    icon = QIcon()
    try:
        for png in icon_pngs():
            icon.addFile(str(png))
        if icon.isNull():
            icon.addFile(str(icon_path()))
    except ResourceNotFound:
        pass
    return icon


def display_database_url(ctx: AppContext) -> str:
    """The database URL with any password replaced by ***."""
    return make_url(ctx.database_url).render_as_string(hide_password=True)


def about_html(ctx: AppContext, listener_address: str) -> str:
    rows = [
        ("Version", __version__),
        ("Data folder", str(ctx.paths.data_dir)),
        ("Database", display_database_url(ctx)),
        ("Listener", f"http://{listener_address}/events"),
        ("Log file", str(ctx.paths.log_file)),
        ("Runtime", f"Python {platform.python_version()}, Qt {qVersion()}, PySide6 {PYSIDE_VERSION}"),
    ]
    table = "".join(
        f"<tr><td style='padding-right:12px; white-space:nowrap'><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return (
        f"<h3>{APP_TITLE} {html.escape(__version__)}</h3>"
        "<p>Outgoing webhooks for a ShopCtrl back office: triggers, payload templates and a live delivery "
        "queue.</p>"
        f"<table>{table}</table>"
    )


def show_about(parent: QWidget | None, ctx: AppContext, listener_address: str) -> QMessageBox:
    """Open the About box (window-modal, not blocking) and return it."""
    box = QMessageBox(parent)
    box.setObjectName("about_dialog")
    box.setWindowTitle(f"About {APP_TITLE}")
    box.setIconPixmap(app_icon().pixmap(64, 64))
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_html(ctx, listener_address))
    label = box.findChild(QLabel, "qt_msgbox_label")
    if label is not None:  # QMessageBox wraps narrowly; paths need room
        label.setMinimumWidth(560)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def open_path(parent: QWidget | None, path: Path, what: str) -> bool:
    """Open a folder or file with the desktop's default application; say where it is when that fails."""
    if not path.exists():
        QMessageBox.information(parent, APP_TITLE, f"The {what} does not exist yet:\n{path}")
        return False
    if QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        return True
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(str(path))
    QMessageBox.information(
        parent, APP_TITLE, f"No application is set up to open the {what}. Its path was copied:\n{path}"
    )
    return False


def _menu_bar(target: QMainWindow | QMenuBar) -> QMenuBar:
    return target.menuBar() if isinstance(target, QMainWindow) else target


def _find_help_menu(bar: QMenuBar) -> QMenu | None:
    for action in bar.actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text().replace("&", "").strip().lower() == "help":
            return menu
    return None


def install_help_menu(
    target: QMainWindow | QMenuBar,
    ctx: AppContext,
    *,
    listener_address: Callable[[], str] | str | None = None,
) -> QMenu:
    """Add (or fill the existing) Help menu with About, Open data folder and Open log file.

    ``listener_address``: the actual host:port of the running listener (a string, or a callable asked each
    time About opens); defaults to the configured ``ctx.settings.listen_address``.
    """
    bar = _menu_bar(target)
    parent = target if isinstance(target, QWidget) else None
    menu = _find_help_menu(bar) or bar.addMenu("&Help")
    menu.setObjectName("help_menu")

    def current_address() -> str:
        if callable(listener_address):
            return listener_address()
        return listener_address or ctx.settings.listen_address

    def add(text: str, name: str, handler: Callable[[], object]) -> QAction:
        action = QAction(text, menu)
        action.setObjectName(name)
        action.triggered.connect(lambda _checked=False: handler())
        menu.addAction(action)
        return action

    add(
        "Open &data folder",
        "action_open_data_folder",
        lambda: open_path(parent, ctx.paths.data_dir, "data folder"),
    )
    add(
        "Open &log file",
        "action_open_log_file",
        lambda: open_path(
            parent, ctx.paths.log_file if ctx.paths.log_file.exists() else ctx.paths.log_dir, "log file"
        ),
    )
    menu.addSeparator()
    about = add(f"&About {APP_TITLE}", "action_about", lambda: show_about(parent, ctx, current_address()))
    about.setMenuRole(QAction.MenuRole.AboutRole)
    return menu


__all__ = ["about_html", "app_icon", "display_database_url", "install_help_menu", "open_path", "show_about"]
