"""Keyboard and screen-reader plumbing shared by the dialogs: names from form labels, an explicit Tab order.

A form row's label is the buddy of its field; when the field is a container (an input with its message
under it, a secret with its Show button) the container hands the focus to the input (``setFocusProxy``),
so the label's mnemonic reaches the input, and the input gets the label's words as its accessible name.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QWidget


def focus_target(widget: QWidget) -> QWidget:
    """The widget that really takes the focus for ``widget`` (its focus proxy, followed to the end)."""
    while widget.focusProxy() is not None:
        widget = widget.focusProxy()
    return widget


def label_words(text: str) -> str:
    """A label's text as a name: no mnemonic ampersand, no trailing colon."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").strip().rstrip(":").strip()


def name_from_label(label: QLabel, field: QWidget) -> None:
    """``label`` names ``field``: its buddy (mnemonic) and the accessible name of the input behind it."""
    label.setBuddy(field)
    target = focus_target(field)
    if not target.accessibleName():
        target.setAccessibleName(label_words(label.text()))


def name_form_fields(form: QFormLayout) -> None:
    """Every labelled row of ``form``: the label names its field (see :func:`name_from_label`)."""
    for row in range(form.rowCount()):
        label_item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        field_item = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
        label = label_item.widget() if label_item is not None else None
        field = field_item.widget() if field_item is not None else None
        if isinstance(label, QLabel) and field is not None and label.text().strip():
            name_from_label(label, field)


def chain_tab_order(*widgets: QWidget) -> None:
    """Tab visits ``widgets`` in this order (the visual order); hidden or disabled ones are skipped."""
    targets = [focus_target(w) for w in widgets]
    for first, second in zip(targets, targets[1:], strict=False):
        QWidget.setTabOrder(first, second)
