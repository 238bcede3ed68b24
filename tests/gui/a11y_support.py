"""Keyboard and accessibility helpers for the dialog tests: the Tab chain as a user walks it, and the
focusable widgets a screen reader could not name."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

INPUTS = (QLineEdit, QComboBox, QAbstractSpinBox, QPlainTextEdit, QTextEdit)


def press_tab(times: int = 1, *, back: bool = False) -> QWidget | None:
    """Press Tab (Shift+Tab) on whatever has the focus, as a keyboard user does; the new focus widget."""
    for _ in range(times):
        widget = QApplication.focusWidget()
        assert widget is not None, "nothing has the keyboard focus"
        QTest.keyClick(widget, Qt.Key.Key_Backtab if back else Qt.Key.Key_Tab)
    return QApplication.focusWidget()


def tab_walk(start: QWidget, steps: int) -> list[QWidget]:
    """The widgets the focus visits: ``start`` and then ``steps`` presses of Tab."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    QApplication.processEvents()
    seen = [QApplication.focusWidget()]
    for _ in range(steps):
        seen.append(press_tab())
    return [w for w in seen if w is not None]


def accessible_name(widget: QWidget) -> str:
    """The name a screen reader announces. An input needs its own (``setAccessibleName``): on Linux Qt
    announces a combo box by its current value and a text box by nothing; a button, check box or tab bar
    is named by its text."""
    if widget.accessibleName().strip() or isinstance(widget, INPUTS):
        return widget.accessibleName().strip()
    face = QAccessible.queryAccessibleInterface(widget)
    return (face.text(QAccessible.Text.Name) if face is not None else "").strip()


def _buddies(root: QWidget) -> set[int]:
    ids = set()
    for label in root.findChildren(QLabel):
        buddy = label.buddy()
        if buddy is not None and label.text().strip():
            ids.add(id(buddy))
    return ids


def focusable_widgets(root: QWidget) -> list[QWidget]:
    """Every widget a keyboard user can reach in ``root`` right now (shown and enabled, takes Tab focus).
    Parts of a compound widget that hands the focus on (a combo box's line edit) count as their owner."""
    found = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisibleTo(root) or not widget.isEnabled() or widget.focusProxy() is not None:
            continue
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            continue
        if isinstance(widget, QLineEdit) and isinstance(widget.parent(), (QComboBox, QAbstractSpinBox)):
            continue
        if isinstance(widget.parent(), QTabBar) or isinstance(widget.parent(), QAbstractItemView):
            continue  # a tab bar's scroll buttons, an item view's editors
        found.append(widget)
    return found


def describe(widget: QWidget) -> str:
    text = widget.text() if isinstance(widget, QAbstractButton) else ""
    return f"{type(widget).__name__}({widget.objectName() or text or '?'})"


def unnamed_focusables(root: QWidget) -> list[str]:
    """Focusable widgets without an accessible name."""
    return [describe(w) for w in focusable_widgets(root) if not accessible_name(w)]


def inputs_without_label(root: QWidget, exempt: tuple[type, ...] = ()) -> list[str]:
    """Inputs that no visible label names as its buddy (a QLabel "&URL:" with setBuddy)."""
    buddies = _buddies(root)
    missing = []
    for widget in focusable_widgets(root):
        if not isinstance(widget, INPUTS) or isinstance(widget, QAbstractItemView):
            continue
        if isinstance(widget, (QPlainTextEdit, QTextEdit)) and widget.isReadOnly():
            continue  # a display (the preview's request and response), named by its accessible name
        owner: QWidget | None = widget
        labelled = False
        while owner is not None and owner is not root:  # a label on the widget that proxies the focus
            if id(owner) in buddies:
                labelled = True
                break
            parent = owner.parentWidget()
            owner = parent if parent is not None and parent.focusProxy() is owner else None
        if not labelled and not any(isinstance(p, exempt) for p in _ancestors(widget, root)):
            missing.append(f"{describe(widget)} '{accessible_name(widget)}'")
    return missing


def _ancestors(widget: QWidget, root: QWidget) -> list[QWidget]:
    result = []
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        result.append(parent)
        parent = parent.parentWidget()
    return result
