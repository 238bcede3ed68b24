"""What the current login may do, shown (SPEC §10): the line saying why a dialog is read-only, switching a
dialog's inputs to read-only, the login in the status bar, and a statement the database refused as a message.

The database enforces the roles; this module only makes the GUI honest about them, so a support person is
never offered a Save the server would refuse. Which role may do what is ``domain/roles.py``; the words for a
refusal are ``store/roles.py`` ``refusal_message`` (the CLI uses the same).
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.roles import Capability
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.gui.widgets.secret_edit import SecretLineEdit
from shopctrl_desktop.store.roles import Identity, refusal_message

READ_ONLY_STYLE = (
    "QLabel#read_only_line { background: #fff4ce; color: #5c4400; border: 1px solid #e6c65c; "
    "border-radius: 3px; padding: 6px 8px; }"
)
READ_ONLY_FIELD_STYLE = "background: #f4f4f4; color: #333;"
REFUSED_TITLE = "Not allowed"


def identity_text(identity: Identity) -> str:
    """``anna — support``: who is signed in, as the status bar shows it."""
    return f"{identity.user} — {identity.role.value if identity.role else 'no role'}"


def read_only_reason(ctx: AppContext, capability: Capability, what: str) -> str | None:
    """The line at the top of a read-only dialog, or None when the login may change ``what``."""
    identity = ctx.identity
    if capability in identity.capabilities:
        return None
    role = identity.role.value if identity.role else "no role in this database"
    return f"Read-only: you are signed in as {identity.user} ({role}). Only an admin can change {what}."


def trigger_read_only_reason(ctx: AppContext) -> str | None:
    return read_only_reason(ctx, Capability.EDIT_TRIGGERS, "triggers")


def read_only_line(reason: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(reason, parent)
    label.setObjectName("read_only_line")
    label.setWordWrap(True)
    label.setStyleSheet(style(READ_ONLY_STYLE))
    return label


def make_read_only(root: QWidget, keep: Iterable[QWidget] = ()) -> None:
    """Every input under ``root`` read-only: text stays readable and copyable (read-only), every other input
    (buttons, check boxes, combo boxes, spin boxes) disabled, tables not editable. ``keep`` and the widgets
    under it stay as they are (the Close button, "View…"); tab bars keep their scroll buttons."""
    kept = list(keep)

    def spared(widget: QWidget) -> bool:
        return any(k is widget or k.isAncestorOf(widget) for k in kept) or isinstance(
            widget.parentWidget(), QTabBar
        )

    for widget in root.findChildren(QWidget):
        if spared(widget):
            continue
        if isinstance(widget, (QLineEdit, QPlainTextEdit, QTextEdit)):
            if isinstance(widget, QLineEdit) and isinstance(
                widget.parentWidget(), (QComboBox, QAbstractSpinBox)
            ):
                continue  # the combo or spin box itself is disabled
            widget.setReadOnly(True)
            widget.setStyleSheet(style(READ_ONLY_FIELD_STYLE))  # looks as unchangeable as the disabled inputs
            if isinstance(widget, QLineEdit):
                widget.deselect()
        elif isinstance(widget, (QAbstractButton, QComboBox, QAbstractSpinBox)):
            widget.setEnabled(False)
        elif isinstance(widget, QAbstractItemView):
            widget.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)


def show_secret_state(edit: SecretLineEdit, is_set: bool) -> None:
    """A secret that was never fetched: the field says only whether one is stored."""
    edit.setText(None)
    edit.edit.setPlaceholderText("set" if is_set else "not set")
    edit.edit.setToolTip(
        "A value is stored; only an admin can replace it." if is_set else "No value is stored."
    )
    edit.toggle.hide()


def is_read_only_input(widget: QWidget) -> bool:
    """Whether an input cannot change anything (what :func:`make_read_only` makes of it)."""
    if isinstance(widget, (QLineEdit, QPlainTextEdit, QTextEdit)):
        return widget.isReadOnly() or not widget.isEnabled()
    return not widget.isEnabled()


def show_refusal(parent: QWidget | None, exc: BaseException, ctx: AppContext) -> bool:
    """When the database refused ``exc``'s statement for lack of privilege: say so in a dialog (words, never
    a traceback) and return True; any other error: False (the caller shows it its own way)."""
    try:
        user: str | None = ctx.identity.user
    except Exception:  # noqa: BLE001 - the message can do without the name
        user = None
    message = refusal_message(exc, user)
    if message is None:
        return False
    QMessageBox.warning(parent, REFUSED_TITLE, message[:1].upper() + message[1:] + ".")
    return True
