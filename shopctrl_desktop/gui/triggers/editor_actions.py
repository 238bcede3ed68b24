"""The trigger editor's action list: the one-line summaries, add / edit / remove / move (a part of
:class:`~shopctrl_desktop.gui.triggers.editor.TriggerEditorDialog`, kept here to keep that module short)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QListView,
    QListWidget,
    QListWidgetItem,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from shopctrl_desktop.domain.model import SignatureScheme, WebhookAction
from shopctrl_desktop.gui.webhook.editor import WebhookEditorDialog
from shopctrl_desktop.gui.webhook.general_tab import SCHEME_NAMES
from shopctrl_desktop.gui.widgets.unsaved import confirm

if TYPE_CHECKING:
    from PySide6.QtWidgets import QPushButton

    from shopctrl_desktop.app_context import AppContext
    from shopctrl_desktop.domain.model import Trigger
    from shopctrl_desktop.gui.widgets.field_message import FieldMessage


def action_summary(action: WebhookAction, secrets_set: frozenset[str] | None = None) -> str:
    """Two lines for the action list — what it does, then how (priority, signing, authentication);
    ``secrets_set`` names the secrets stored for an action whose secrets were not fetched (a read-only editor:
    store/triggers.py ``secrets_set``)."""
    extras = [action.priority.label + " priority"]
    stored = secrets_set or frozenset()
    if action.hmac_secret or "hmac_secret" in stored:
        extras.append(f"signed ({SCHEME_NAMES[SignatureScheme(action.signature_scheme)]})")
    if action.username:
        extras.append("basic auth")
    if action.client_certificate or "client_certificate" in stored:
        extras.append("client certificate")
    return f"Call Webhook — {action.method} {action.url}\n{' · '.join(extras)}"


class ActionLineDelegate(QStyledItemDelegate):
    """Each line of an action's summary shortened in the middle to the list's width (a long URL keeps its
    host and its end), so nothing hides behind a horizontal scroll bar; the tooltip has it all."""

    def __init__(self, view: QListWidget) -> None:
        super().__init__(view)
        self._view = view

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        room = max(40, self._view.viewport().width() - 2 * self._view.spacing() - 12)
        metrics = option.fontMetrics  # type: ignore[attr-defined]
        # the view hands the lines over separated by U+2028 (Qt's line separator), not "\n"
        lines = str(option.text).replace("\u2028", "\n").split("\n")  # type: ignore[attr-defined]
        option.text = "\u2028".join(  # type: ignore[attr-defined]
            metrics.elidedText(line, Qt.TextElideMode.ElideMiddle, room) for line in lines
        )

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(  # as wide as the list (it lays the items out again when resized)
            max(40, self._view.viewport().width() - 2 * self._view.spacing()),
            hint.height(),
        )


class ActionListMixin:
    """The action list of the trigger editor; the dialog provides the widgets and the state below."""

    ctx: AppContext
    read_only: str | None
    _actions: list[WebhookAction]
    _secrets_set: dict[int, frozenset[str]]
    action_list: QListWidget
    actions_message: FieldMessage
    edit_action_button: QPushButton
    remove_action_button: QPushButton
    up_button: QPushButton
    down_button: QPushButton

    if TYPE_CHECKING:

        def current_trigger(self) -> Trigger: ...

    def _refresh_action_list(self, select: int | None = None) -> None:
        self.action_list.clear()
        for action in self._actions:
            stored = self._secrets_set.get(action.id) if action.id is not None else None
            summary = action_summary(action, stored)
            item = QListWidgetItem(summary)
            item.setToolTip(summary)
            self.action_list.addItem(item)
        if self._actions:
            self.action_list.setCurrentRow(select if select is not None else 0)
        self._update_action_buttons()

    def _update_action_buttons(self, *_args: object) -> None:
        row = self.action_list.currentRow()
        has = 0 <= row < len(self._actions)
        self.edit_action_button.setEnabled(has)
        changeable = not self.read_only
        self.remove_action_button.setEnabled(changeable and has)
        self.up_button.setEnabled(changeable and has and row > 0)
        self.down_button.setEnabled(changeable and has and row < len(self._actions) - 1)

    def open_action_editor(self, action: WebhookAction | None) -> WebhookEditorDialog:
        return WebhookEditorDialog(self.ctx, action, self.current_trigger(), self._as_parent())

    def _on_add_webhook_triggered(self) -> None:
        dialog = self.open_action_editor(None)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._actions.append(dialog.action())
            self._refresh_action_list(select=len(self._actions) - 1)
            self.actions_message.clear_message()

    def _on_edit_action_clicked(self) -> None:
        row = self.action_list.currentRow()
        if not 0 <= row < len(self._actions):
            return
        dialog = self.open_action_editor(self._actions[row])
        if dialog.exec() == QDialog.DialogCode.Accepted and not self.read_only:
            self._actions[row] = replace(dialog.action(), id=self._actions[row].id)
            self._refresh_action_list(select=row)

    def _on_action_list_double_clicked(self, _item: QListWidgetItem) -> None:
        self._on_edit_action_clicked()

    def _on_remove_action_clicked(self) -> None:
        row = self.action_list.currentRow()
        if not 0 <= row < len(self._actions):
            return
        action = self._actions[row]
        if not confirm(
            self._as_parent(),
            "Remove action",
            "Remove this Call Webhook action?",
            f"{action.method} {action.url}",
            yes_text="Remove",
        ):
            return
        del self._actions[row]
        self._refresh_action_list(select=min(row, len(self._actions) - 1) if self._actions else None)

    def _move_action(self, step: int) -> None:
        row = self.action_list.currentRow()
        target = row + step
        if not (0 <= row < len(self._actions) and 0 <= target < len(self._actions)):
            return
        self._actions[row], self._actions[target] = self._actions[target], self._actions[row]
        self._refresh_action_list(select=target)

    def _as_parent(self) -> QWidget:
        return cast(QWidget, self)  # the mixin is always part of the editor dialog


def fit_action_list(view: QListWidget) -> None:
    """The action list lays its lines out to its width (no horizontal scrolling): see ActionLineDelegate."""
    view.setItemDelegate(ActionLineDelegate(view))
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
