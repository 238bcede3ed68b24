"""The Triggers page: the table of triggers with Add / Edit / Duplicate / Delete and the enable toggle."""

from __future__ import annotations

import logging
from dataclasses import replace

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.model import Trigger
from shopctrl_desktop.domain.roles import Capability
from shopctrl_desktop.gui.permissions import read_only_line, show_refusal, trigger_read_only_reason
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.gui.triggers.editor import TriggerEditorDialog
from shopctrl_desktop.gui.triggers.model import Column, TriggerTableModel
from shopctrl_desktop.gui.triggers.shops import load_shop_names
from shopctrl_desktop.gui.triggers.shops_dialog import ShopsDialog
from shopctrl_desktop.gui.widgets.unsaved import confirm
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.keys import engine_public_key
from shopctrl_desktop.store.secrets import SecretKeyError

log = logging.getLogger(__name__)

EMPTY_TEXT = (
    "<p style='font-size:15px'><b>No triggers yet</b></p>"
    "<p>Add a trigger to send your first webhook.</p>"
    "<p style='color:#5f6368'>A trigger listens for one event (for example <i>Order changed</i>) and calls "
    "one or more webhooks when it happens.</p>"
)


def unique_copy_title(title: str, taken: set[str]) -> str:
    candidate = f"{title} (copy)"
    number = 2
    while candidate in taken:
        candidate = f"{title} (copy {number})"
        number += 1
    return candidate


class TriggersPage(QWidget):
    """Lists the triggers; every change is stored at once in a short-lived session."""

    triggers_changed = Signal()
    #: set when the stored secrets cannot be decrypted with this workstation's key (then no editing: it would lose them)
    secrets_problem: str | None = None

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        #: why this login may not change triggers (support, engine: SPEC §10), None for an admin
        self.read_only = trigger_read_only_reason(ctx)
        self.model = TriggerTableModel(self)
        self.model.read_only = self.read_only is not None
        self.model.enabled_changed.connect(self._on_model_enabled_changed)

        self.toolbar = QToolBar("Triggers", self)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.add_action = self._make_action(
            "Add trigger…", self._on_add_triggered, QKeySequence.StandardKey.New
        )
        self.edit_action = self._make_action("Edit…", self._on_edit_triggered)
        self.duplicate_action = self._make_action("Duplicate", self._on_duplicate_triggered)
        self.delete_action = self._make_action(
            "Delete…", self._on_delete_triggered, QKeySequence.StandardKey.Delete
        )
        self.toolbar.addSeparator()
        self.enable_action = self._make_action("Enabled", self._on_enable_toggled_by_user)
        self.enable_action.setCheckable(True)
        self.enable_action.setToolTip("Switch the selected trigger on or off")
        self.toolbar.addSeparator()
        self.shops_action = self._make_action("Shops…", self.open_shops_dialog)
        self.shops_action.setToolTip("The shops events come from: give them names you recognise")

        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(False)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(Column.TITLE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(Column.EVENT, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(Column.SHOP, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(Column.ACTIONS, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(Column.ENABLED, QHeaderView.ResizeMode.ResizeToContents)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        edit_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Return), self.table)
        edit_shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        edit_shortcut.activated.connect(self._on_edit_triggered)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)

        self.empty_state = QWidget(self)
        self.empty_state.setObjectName("triggersEmptyState")
        self.empty_label = QLabel(style(EMPTY_TEXT), self.empty_state)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_add_button = QPushButton("Add trigger…", self.empty_state)
        self.empty_add_button.clicked.connect(self._on_add_triggered)
        empty_layout = QVBoxLayout(self.empty_state)
        empty_layout.addStretch(1)
        empty_layout.addWidget(self.empty_label)
        empty_layout.addSpacing(8)
        empty_layout.addWidget(self.empty_add_button, 0, Qt.AlignmentFlag.AlignHCenter)
        empty_layout.addStretch(1)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty_state)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toolbar)
        if self.read_only:
            self.read_only_label = read_only_line(self.read_only, self)
            layout.addWidget(self.read_only_label)
            self.edit_action.setText("View…")
            self.empty_add_button.setEnabled(False)
            self.empty_add_button.setToolTip(self.read_only)
        layout.addWidget(self.stack, 1)
        self.reload()

    # --- public ---------------------------------------------------------------------------------
    def reload(self, select_id: int | None = None) -> None:
        """Read triggers and shop names again (short session) and keep or set the selection."""
        if select_id is None:
            current = self.selected_trigger()
            select_id = current.id if current else None
        with self.ctx.db.session() as session:
            try:
                if self.read_only or not self.ctx.may(Capability.READ_SECRETS):
                    # the query never names a secret column: a support login may not read them
                    triggers = trigger_store.list_public_triggers(session)
                else:
                    triggers = trigger_store.list_triggers(session, self.ctx.box)
                self.secrets_problem = None
            except SecretKeyError as exc:
                if engine_public_key(session) is not None:  # sealed for the engine: replace, never read
                    triggers = trigger_store.list_triggers(session, self.ctx.box, keep_unreadable=True)
                    self.secrets_problem = None
                else:  # another key's secrets: list them without, allow no edits
                    triggers = trigger_store.list_public_triggers(session)
                    self.secrets_problem = str(exc)[:1].upper() + str(exc)[1:] + "."
        self.model.set_triggers(triggers, load_shop_names(self.ctx))
        self.stack.setCurrentWidget(self.table if triggers else self.empty_state)
        row = self.model.row_of(select_id)
        if row < 0 and triggers:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
        self._update_actions()

    def selected_trigger(self) -> Trigger | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.trigger_at(rows[0].row()) if rows else None

    def open_editor(self, trigger: Trigger | None) -> TriggerEditorDialog:
        """Open the editor (modal) for a trigger or a new one; returns the dialog after it closed."""
        dialog = TriggerEditorDialog(self.ctx, trigger, self)
        dialog.trigger_saved.connect(self._on_editor_trigger_saved)
        dialog.shop_renamed.connect(self._on_shop_renamed)
        dialog.exec()
        return dialog

    def open_shops_dialog(self) -> ShopsDialog:
        """Open the Shops dialog (window-modal, returns at once); a rename refreshes the shop column."""
        dialog = ShopsDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.shop_renamed.connect(self._on_shop_renamed)
        dialog.open()
        return dialog

    # --- handlers -------------------------------------------------------------------------------
    def _make_action(self, text: str, slot, shortcut: QKeySequence.StandardKey | None = None) -> QAction:  # type: ignore[no-untyped-def]
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        self.toolbar.addAction(action)
        return action

    def _update_actions(self, *_args: object) -> None:
        trigger = self.selected_trigger()
        for action in (self.edit_action, self.duplicate_action, self.delete_action, self.enable_action):
            action.setEnabled(trigger is not None)
        for action in (self.add_action, self.edit_action, self.duplicate_action):  # they would lose secrets
            if self.secrets_problem:
                action.setEnabled(False)
            action.setToolTip(self.secrets_problem or "")
        if self.read_only:  # look, never change: the server would refuse it anyway
            for action in (
                self.add_action,
                self.duplicate_action,
                self.delete_action,
                self.enable_action,
            ):
                action.setEnabled(False)
                action.setToolTip(self.read_only)
            self.edit_action.setEnabled(trigger is not None)
            self.edit_action.setToolTip("See the trigger and its webhooks (read-only)")
        self.enable_action.blockSignals(True)
        self.enable_action.setChecked(bool(trigger and trigger.enabled))
        self.enable_action.blockSignals(False)

    def _on_add_triggered(self) -> None:
        self.open_editor(None)

    def _on_edit_triggered(self) -> None:
        trigger = self.selected_trigger()
        if trigger is not None:
            self.open_editor(trigger)

    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        if index.column() == Column.ENABLED:
            return
        trigger = self.model.trigger_at(index.row())
        if trigger is not None and not self.secrets_problem:
            self.open_editor(trigger)

    def _on_duplicate_triggered(self) -> None:
        trigger = self.selected_trigger()
        if trigger is None:
            return
        taken = {t.title for t in self.model.triggers()}
        # A copy starts disabled, so one event never calls the same endpoint twice by surprise.
        copy = replace(
            trigger,
            id=None,
            title=unique_copy_title(trigger.title, taken),
            enabled=False,
            actions=tuple(replace(a, id=None) for a in trigger.actions),
        )
        try:
            with self.ctx.db.session() as session:
                new_id = trigger_store.save_trigger(session, self.ctx.box, copy)
        except Exception as exc:
            if show_refusal(self, exc, self.ctx):
                return
            raise
        self.reload(select_id=new_id)
        self.triggers_changed.emit()

    def _on_delete_triggered(self) -> None:
        trigger = self.selected_trigger()
        if trigger is None or trigger.id is None:
            return
        if not confirm(
            self,
            "Delete trigger",
            f"Delete the trigger “{trigger.title}”?",
            "Its webhook actions are deleted too. Items already in the webhook queue stay there.",
            yes_text="Delete",
        ):
            return
        try:
            with self.ctx.db.session() as session:
                trigger_store.delete_trigger(session, trigger.id)
        except Exception as exc:
            if show_refusal(self, exc, self.ctx):
                return
            raise
        self.reload()
        self.triggers_changed.emit()

    def _on_enable_toggled_by_user(self, checked: bool) -> None:
        trigger = self.selected_trigger()
        if trigger is not None and trigger.id is not None:
            self.model.set_enabled(trigger.id, checked)
            self._on_model_enabled_changed(trigger.id, checked)

    def _on_model_enabled_changed(self, trigger_id: int, enabled: bool) -> None:
        try:
            with self.ctx.db.session() as session:
                trigger_store.set_enabled(session, trigger_id, enabled)
        except Exception as exc:  # noqa: BLE001 - shown to the user, the table goes back
            log.exception("could not store the enabled flag of trigger %s", trigger_id)
            self.model.set_enabled(trigger_id, not enabled)
            if show_refusal(self, exc, self.ctx):
                return
            QMessageBox.warning(
                self,
                "Trigger not changed",
                f"The trigger could not be changed: {getattr(exc, 'orig', None) or exc}",
            )
            return
        self._update_actions()
        self.triggers_changed.emit()

    def _on_shop_renamed(self, _shop_id: int, _name: str) -> None:
        self.reload()

    def _on_editor_trigger_saved(self, trigger_id: int) -> None:
        self.reload(select_id=trigger_id)
        self.triggers_changed.emit()
