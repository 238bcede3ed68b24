"""Appearance: System, Light or Dark (Qt's Fusion style with a dark palette), and colours that stay readable.

The GUI's own colours (status badges, muted hints, red/green outcomes, notices, syntax colours) are written for
a light background. Every place that sets one goes through `style()` (style sheets and HTML) or `colour()`
(QColor), which give the dark variant while the application palette is dark. `apply_appearance()` sets the
style and palette and re-colours the style sheets and rich-text labels of the widgets already shown, so a
change in Settings applies at once.
"""

from __future__ import annotations

import re
from enum import StrEnum

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette, QTextCharFormat
from PySide6.QtWidgets import QApplication, QLabel, QStyleFactory, QTextEdit


class Appearance(StrEnum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"

    @property
    def label(self) -> str:
        return {"system": "Same as the system", "light": "Light", "dark": "Dark"}[self.value]

    @classmethod
    def parse(cls, value: object) -> Appearance:
        try:
            return cls(str(value).lower())
        except ValueError:
            return cls.SYSTEM


#: Light colour → its dark-palette twin (text colours get lighter, backgrounds darker). One-to-one, so a style
#: sheet can be turned back to light.
DARK_TWINS: dict[str, str] = {
    # muted text
    "#333": "#dddddd",
    "#555": "#b4b8bd",
    "#57606a": "#b1bac4",
    "#5f6368": "#a9adb2",
    "#666": "#aeb2b7",
    "#6b6b6b": "#a0a0a0",
    "#6e7781": "#9da5ae",
    "#888": "#9aa0a6",
    "#8c959f": "#8b949e",
    # red
    "#a61b1b": "#ff8a80",
    "#b00020": "#ff7a8a",
    "#b3261e": "#ff8f85",
    "#c62828": "#ef6c6c",
    "#cf222e": "#ff7b72",
    # green
    "#116329": "#56d364",
    "#1a7f37": "#7ee2a0",
    "#1b6e2a": "#7fc790",
    "#1d6b32": "#81c995",
    "#1e7b34": "#85cd99",
    "#2e8540": "#66bb6a",
    # amber
    "#8a5300": "#f2b43c",
    "#8a5a00": "#f0b849",
    "#953800": "#ffa657",
    "#c26e00": "#ffa94d",
    "#4a3b00": "#ffe08a",
    "#5c4400": "#ffd76a",
    # blue and purple
    "#0550ae": "#79c0ff",
    "#0a3069": "#a5d6ff",
    "#1f4e9c": "#8ab4f8",
    "#5b2a9a": "#c8a2f0",
    "#7a3e9d": "#d2a8ff",
    "#8250df": "#bc8cff",
    # backgrounds: notices, read-only, editor marks
    "#fff6d6": "#3d3413",
    "#e8d48a": "#7a6a2a",
    "#e6cf7a": "#7a6a2b",
    "#fff4ce": "#3d3312",
    "#e6c65c": "#7a6420",
    "#f4f4f4": "#2f2f2f",
    "#ffd7d5": "#5a2523",
    "#ffe2a6": "#4d3a12",
    "#f3ecff": "#2f2640",
    "#ddf4ff": "#12314d",
    # status badge backgrounds (gui/queue/columns.py)
    "#e3ecfb": "#1d3357",
    "#efe6fa": "#34244d",
    "#e2f4e6": "#1b3b24",
    "#fdf0d9": "#45330f",
    "#fbe3e3": "#4a1f1f",
    "#eeeeee": "#3a3a3a",
    # the erase dialog's notes (note / done / error)
    "#eef3fb": "#1c2a40",
    "#c5d5ee": "#3b5378",
    "#1d2b44": "#cfe0ff",
    "#e6f4ea": "#183a22",
    "#a8d5b5": "#3f7a52",
    "#fdecea": "#442020",
    "#f0b4ae": "#8a3f38",
}
LIGHT_TWINS = {dark: light for light, dark in DARK_TWINS.items()}
assert len(LIGHT_TWINS) == len(DARK_TWINS), "dark twins must be one-to-one"
# Qt writes #555 as #555555 in the HTML it gives back (QTextEdit.toHtml)
_TO_DARK = DARK_TWINS | {"#" + "".join(c * 2 for c in k[1:]): v for k, v in DARK_TWINS.items() if len(k) == 4}
_HEX = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")

_system: tuple[str, QPalette] | None = None  # the style and palette the application started with


def is_dark() -> bool:
    """The application palette is dark (Dark chosen, or a dark system theme)."""
    app = QGuiApplication.instance()
    if app is None:
        return False
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def _swap(text: str, table: dict[str, str]) -> str:
    return _HEX.sub(lambda m: table.get(m.group(0).lower(), m.group(0)), text)


def style(css_or_html: str) -> str:
    """A style sheet or HTML fragment written with light colours, for the current palette."""
    return _swap(css_or_html, _TO_DARK) if is_dark() else css_or_html


def colour(light: str) -> QColor:
    """A QColor given by its light-palette hex value, for the current palette."""
    return QColor(DARK_TWINS.get(light.lower(), light) if is_dark() else light)


def text_format(fmt: QTextCharFormat) -> QTextCharFormat:
    """A syntax-highlighting format with its colours for the current palette."""
    if not is_dark():
        return fmt
    themed = QTextCharFormat(fmt)
    for get, put in ((fmt.foreground, themed.setForeground), (fmt.background, themed.setBackground)):
        brush = get()
        if brush.style() != Qt.BrushStyle.NoBrush:
            put(colour(brush.color().name()))
    return themed


def dark_palette() -> QPalette:
    """Qt's Fusion dark palette (the colours most Qt applications use for their dark mode)."""
    p = QPalette()
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 32), QColor(230, 230, 230)
    disabled = QColor(127, 127, 127)
    role = QPalette.ColorRole
    for r, c in (
        (role.Window, window),
        (role.WindowText, text),
        (role.Base, base),
        (role.AlternateBase, QColor(40, 40, 43)),
        (role.ToolTipBase, QColor(60, 60, 64)),
        (role.ToolTipText, text),
        (role.PlaceholderText, QColor(150, 150, 150)),
        (role.Text, text),
        (role.Button, QColor(53, 53, 56)),
        (role.ButtonText, text),
        (role.BrightText, QColor(255, 80, 80)),
        (role.Light, QColor(70, 70, 74)),
        (role.Midlight, QColor(60, 60, 64)),
        (role.Mid, QColor(40, 40, 42)),
        (role.Dark, QColor(25, 25, 27)),
        (role.Shadow, QColor(10, 10, 10)),
        (role.Link, QColor(130, 180, 255)),
        (role.LinkVisited, QColor(190, 150, 255)),
        (role.Highlight, QColor(42, 110, 190)),
        (role.HighlightedText, QColor(255, 255, 255)),
    ):
        p.setColor(r, c)
    group = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText, role.HighlightedText):
        p.setColor(group, r, disabled)
    p.setColor(group, role.Highlight, QColor(70, 70, 74))
    return p


def apply_appearance(appearance: Appearance | str) -> None:
    """Set the style and palette for ``appearance`` and re-colour what is already shown."""
    global _system
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    choice = Appearance.parse(appearance.value if isinstance(appearance, Appearance) else appearance)
    if _system is None:
        _system = (app.style().name(), QPalette(app.palette()))
    was_dark = is_dark()
    old_palette = QPalette(app.palette())
    if choice is Appearance.SYSTEM:
        app.setStyle(QStyleFactory.create(_system[0]) or _system[0])
        app.setPalette(_system[1])
    else:
        app.setStyle(QStyleFactory.create("Fusion"))
        fusion = app.style().standardPalette()
        app.setPalette(dark_palette() if choice is Appearance.DARK else fusion)
    if is_dark() != was_dark:
        role = QPalette.ColorRole
        links = {  # links in HTML already shown carry the old palette's link colours
            old_palette.color(r).name(): app.palette().color(r).name() for r in (role.Link, role.LinkVisited)
        }
        recolour_widgets(links)


def recolour_widgets(links: dict[str, str] | None = None) -> None:
    """Turn the style sheets and rich-text labels of existing widgets to the current palette's colours
    (``links``: the old palette's link colours and the new ones)."""
    table = (_TO_DARK if is_dark() else LIGHT_TWINS) | (links or {})
    for widget in QApplication.allWidgets():
        sheet = widget.styleSheet()
        if sheet:
            widget.setStyleSheet(
                _swap(sheet, table)
            )  # also when unchanged: polished again in the new palette
        if isinstance(widget, QLabel) and "color" in (text := widget.text()):
            swapped = _swap(text, table)
            if swapped != text:
                widget.setText(swapped)
        elif isinstance(widget, QTextEdit) and widget.isReadOnly() and widget.acceptRichText():
            html = widget.toHtml()
            if "color:" in html:
                swapped = _swap(html, table)
                if swapped != html:
                    widget.setHtml(swapped)
        widget.update()


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours (1 … 21)."""

    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
