"""The trigger editor: title, event, scope, condition rules, the ordered action list; Save / Save and Close."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QMenu,
    QPushButton,
    QRadioButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.exc import IntegrityError

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.conditions import validate_condition
from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.gui.mergefields.catalogue import field_types_for_event
from shopctrl_desktop.gui.permissions import (
    make_read_only,
    read_only_line,
    show_refusal,
    trigger_read_only_reason,
)
from shopctrl_desktop.gui.triggers.conditions import ConditionEditor
from shopctrl_desktop.gui.triggers.editor_actions import ActionListMixin, action_summary, fit_action_list
from shopctrl_desktop.gui.triggers.event_picker import EventPicker
from shopctrl_desktop.gui.triggers.shops import load_shop_names
from shopctrl_desktop.gui.triggers.shops_dialog import ShopsDialog
from shopctrl_desktop.gui.widgets.accessibility import chain_tab_order, name_form_fields
from shopctrl_desktop.gui.widgets.field_message import FieldMessage, with_message
from shopctrl_desktop.gui.widgets.unsaved import Answer, UnsavedChangesDialog, ask_unsaved_changes
from shopctrl_desktop.store import triggers as trigger_store

log = logging.getLogger(__name__)


class TriggerEditorDialog(ActionListMixin, UnsavedChangesDialog):
    """Edit one trigger (or a new one). Nothing is stored until Save; unsaved work is never lost silently."""

    trigger_saved = Signal(int)  # trigger id
    shop_renamed = Signal(int, str)  # from the Shops dialog opened here: shop id, new name

    def __init__(
        self, ctx: AppContext, trigger: Trigger | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        #: why this login may not change triggers (SPEC §10): then every input is read-only, Save is gone
        self.read_only = trigger_read_only_reason(ctx)
        self._trigger_id: int | None = trigger.id if trigger else None
        #: action id -> its stored secrets' names, when the secrets were not fetched (read-only)
        self._secrets_set: dict[int, frozenset[str]] = {}
        if self.read_only and trigger is not None:
            with ctx.db.session() as session:
                self._secrets_set = trigger_store.secrets_set(session)
        self._actions: list[WebhookAction] = list(trigger.actions) if trigger else []
        self.setWindowTitle(f"Trigger — {trigger.title}" if trigger else "New trigger")
        self.setMinimumWidth(760)

        # title
        self.title_edit = QLineEdit(self)
        self.title_edit.setPlaceholderText("e.g. ERP order sync")
        self.title_message = FieldMessage(self)
        # event
        self.event_picker = EventPicker(self)
        self.event_message = FieldMessage(self)
        # scope
        self.all_shops_radio = QRadioButton("All shops", self)
        self.one_shop_radio = QRadioButton("Only shop", self)
        self.scope_group = QButtonGroup(self)
        self.scope_group.addButton(self.all_shops_radio)
        self.scope_group.addButton(self.one_shop_radio)
        self.shop_combo = QComboBox(self)
        self.shop_combo.setEditable(True)
        self.shop_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.shop_combo.lineEdit().setPlaceholderText("shop id")
        self.shop_combo.setMinimumContentsLength(18)
        for shop_id, name in sorted(load_shop_names(ctx).items()):
            self.shop_combo.addItem(f"{shop_id} — {name}", shop_id)
        scope_row = QWidget(self)
        scope_layout = QHBoxLayout(scope_row)
        scope_layout.setContentsMargins(0, 0, 0, 0)
        scope_layout.addWidget(self.all_shops_radio)
        scope_layout.addSpacing(12)
        scope_layout.addWidget(self.one_shop_radio)
        scope_layout.addWidget(self.shop_combo)
        self.shops_button = QPushButton("Shops…", self)
        self.shops_button.setToolTip("Give the shops names you recognise")
        self.shops_button.clicked.connect(self.open_shops_dialog)
        scope_layout.addWidget(self.shops_button)
        scope_layout.addStretch(1)
        self.shop_message = FieldMessage(self)
        self.enabled_check = QCheckBox("Enabled — events start this trigger", self)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("&Title:", with_message(self.title_edit, self.title_message))
        form.addRow("&Event:", with_message(self.event_picker, self.event_message))
        form.addRow("Shop:", with_message(scope_row, self.shop_message))
        form.addRow("", self.enabled_check)
        name_form_fields(form)
        self.shop_combo.setAccessibleName("Shop id")

        # conditions
        self.condition_editor = ConditionEditor(self)
        self.condition_message = FieldMessage(self)
        conditions_box = QGroupBox("Conditions", self)
        conditions_layout = QVBoxLayout(conditions_box)
        conditions_layout.addWidget(self.condition_editor)
        conditions_layout.addWidget(self.condition_message)

        # actions
        self.action_list = QListWidget(self)
        self.action_list.setMinimumHeight(90)
        self.action_list.setSpacing(2)
        self.action_list.setAccessibleName("Actions, run in this order")
        fit_action_list(self.action_list)  # two lines per action, shortened to the list's width
        self.action_list.itemDoubleClicked.connect(self._on_action_list_double_clicked)
        self.action_list.currentRowChanged.connect(self._update_action_buttons)
        self.add_action_button = QToolButton(self)
        self.add_action_button.setText("Add action ▾")
        self.add_action_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")
        self.add_action_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        add_menu = QMenu(self.add_action_button)
        self.add_webhook_action = add_menu.addAction("Call Webhook…")
        self.add_webhook_action.triggered.connect(self._on_add_webhook_triggered)
        self.add_action_button.setMenu(add_menu)
        self.edit_action_button = QPushButton("Edit…", self)
        self.remove_action_button = QPushButton("Remove", self)
        self.up_button = QPushButton("Move up", self)
        self.down_button = QPushButton("Move down", self)
        self.edit_action_button.clicked.connect(self._on_edit_action_clicked)
        self.remove_action_button.clicked.connect(self._on_remove_action_clicked)
        self.up_button.clicked.connect(lambda: self._move_action(-1))
        self.down_button.clicked.connect(lambda: self._move_action(+1))
        action_buttons = QVBoxLayout()
        for button in (
            self.add_action_button,
            self.edit_action_button,
            self.remove_action_button,
            self.up_button,
            self.down_button,
        ):
            action_buttons.addWidget(button)
        self.add_action_button.setMinimumWidth(self.edit_action_button.sizeHint().width())
        action_buttons.addStretch(1)
        self.actions_message = FieldMessage(self)
        actions_box = QGroupBox("Actions (run in this order)", self)
        actions_layout = QVBoxLayout(actions_box)
        actions_row = QHBoxLayout()
        actions_row.addWidget(self.action_list, 1)
        actions_row.addLayout(action_buttons)
        actions_layout.addLayout(actions_row)
        actions_layout.addWidget(self.actions_message)

        # buttons
        self.form_message = FieldMessage(self)
        self.save_button = QPushButton("&Save", self)
        self.save_close_button = QPushButton("Save and &Close", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.save_close_button.setDefault(True)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.save_close_button.clicked.connect(self._on_save_close_clicked)
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.form_message, 1)
        buttons.addStretch(0)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.save_close_button)
        buttons.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(conditions_box)
        layout.addWidget(actions_box, 1)
        layout.addLayout(buttons)

        self._load(trigger)
        self.title_edit.textChanged.connect(self._on_title_edit_text_changed)
        self.title_edit.editingFinished.connect(self._on_title_edit_editing_finished)
        self.event_picker.event_changed.connect(self._on_event_picker_event_changed)
        self.all_shops_radio.toggled.connect(self._update_scope)
        self.condition_editor.changed.connect(self.condition_message.clear_message)
        for signal in (
            self.title_edit.textChanged,
            self.event_picker.event_changed,
            self.event_picker.currentTextChanged,
            self.all_shops_radio.toggled,
            self.shop_combo.currentTextChanged,
            self.condition_editor.changed,
        ):
            signal.connect(self._recheck_after_fix)
        self._saved_state = self._state()
        self.condition_editor.rows_changed.connect(self.apply_tab_order)
        self.apply_tab_order()
        if self.read_only:
            self._show_read_only(self.read_only)
        else:
            self.title_edit.setFocus()  # the dialog opens where the work starts

    def _show_read_only(self, reason: str) -> None:
        """Look, never change: the line saying why on top, every input read-only, "View…" for the actions,
        Save gone and Cancel become Close."""
        self.read_only_label = read_only_line(reason, self)
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(0, self.read_only_label)
        self.edit_action_button.setText("View…")
        self.save_button.hide()
        self.save_close_button.hide()
        self.cancel_button.setText("Close")
        self.cancel_button.setDefault(True)
        make_read_only(self, keep=(self.edit_action_button, self.cancel_button, self.action_list))
        self._update_action_buttons()

    def apply_tab_order(self) -> None:
        """Tab follows the visual order, top to bottom, left to right (rule rows included)."""
        chain_tab_order(
            self.title_edit,
            self.event_picker,
            self.all_shops_radio,
            self.one_shop_radio,
            self.shop_combo,
            self.shops_button,
            self.enabled_check,
            *self.condition_editor.tab_chain(),
            self.action_list,
            self.add_action_button,
            self.edit_action_button,
            self.remove_action_button,
            self.up_button,
            self.down_button,
            self.save_button,
            self.save_close_button,
            self.cancel_button,
        )

    # --- state ----------------------------------------------------------------------------------
    def _load(self, trigger: Trigger | None) -> None:
        self.title_edit.setText(trigger.title if trigger else "")
        self.event_picker.set_event(trigger.event if trigger else None)
        if trigger is None or trigger.shop_id is None:
            self.all_shops_radio.setChecked(True)
            self.shop_combo.setCurrentIndex(-1)
        else:
            self.one_shop_radio.setChecked(True)
            row = self.shop_combo.findData(trigger.shop_id)
            if row >= 0:
                self.shop_combo.setCurrentIndex(row)
            else:
                self.shop_combo.setEditText(str(trigger.shop_id))
        self.enabled_check.setChecked(trigger.enabled if trigger else True)
        self.condition_editor.set_fields(field_types_for_event(self.event_picker.event_type()))
        self.condition_editor.set_condition(trigger.condition if trigger else None)
        self._refresh_action_list()
        self._update_scope()

    def _state(self) -> tuple[Any, ...]:
        return (
            self.title_edit.text(),
            self.event_picker.currentText(),
            self.all_shops_radio.isChecked(),
            self.shop_combo.currentText(),
            self.enabled_check.isChecked(),
            self.condition_editor.condition(),
            tuple(self._actions),
        )

    def is_dirty(self) -> bool:
        return not self.read_only and self._state() != self._saved_state

    @property
    def trigger_id(self) -> int | None:
        return self._trigger_id

    def _shop_id(self) -> int | None:
        if self.all_shops_radio.isChecked():
            return None
        row = self.shop_combo.currentIndex()
        text = self.shop_combo.currentText().strip()
        if row >= 0 and self.shop_combo.itemText(row) == text:
            return int(self.shop_combo.itemData(row))
        head = text.split("—")[0].strip()
        if not head.isdigit():
            raise ValueError("Enter the shop id as a number, e.g. 3.")
        return int(head)

    def current_trigger(self) -> Trigger:
        """The trigger as the dialog shows it now (not validated; unparsable shop id -> all shops)."""
        try:
            shop_id = self._shop_id()
        except ValueError:
            shop_id = None
        return Trigger(
            id=self._trigger_id,
            title=self.title_edit.text().strip(),
            event=self.event_picker.system_name() or self.event_picker.currentText().strip(),
            shop_id=shop_id,
            enabled=self.enabled_check.isChecked(),
            condition=self.condition_editor.condition(),
            actions=tuple(self._actions),
        )

    # --- validation and saving ------------------------------------------------------------------
    def validate(self) -> Trigger | None:
        """Show every problem next to its field; return the trigger when all is well."""
        ok = True
        title = self.title_edit.text().strip()
        if not title:
            self.title_message.show_error("Give the trigger a title.")
            ok = False
        else:
            with self.ctx.db.session() as session:
                other = trigger_store.find_trigger_by_title(session, None, title)  # its id only
            if other is not None and other.id != self._trigger_id:
                self.title_message.show_error(
                    f"Another trigger is already called “{title}”. Titles must be unique."
                )
                ok = False
            else:
                self.title_message.clear_message()
        if not self.event_picker.system_name():
            text = self.event_picker.currentText().strip()
            self.event_message.show_error(
                f"“{text}” is not an event ShopCtrl sends; pick one from the list."
                if text
                else "Pick the event."
            )
            ok = False
        else:
            self.event_message.clear_message()
        try:
            self._shop_id()
            self.shop_message.clear_message()
        except ValueError as exc:
            self.shop_message.show_error(str(exc))
            ok = False
        condition = self.condition_editor.condition()
        try:
            validate_condition(condition)
            self.condition_message.clear_message()
        except ValueError as exc:
            self.condition_message.show_error(str(exc))
            ok = False
        if not self._actions:
            self.actions_message.show_info(
                "No actions yet: the trigger will not send anything. Add a Call Webhook action."
            )
        else:
            self.actions_message.clear_message()
        if not ok:
            self.form_message.show_error("Fix the marked fields to save.")
            return None
        self.form_message.clear_message()
        return self.current_trigger()

    def _check_title(self, *, required: bool) -> bool:
        title = self.title_edit.text().strip()
        if not title:
            if required:
                self.title_message.show_error("Give the trigger a title.")
            return not required
        with self.ctx.db.session() as session:
            other = trigger_store.find_trigger_by_title(session, None, title)  # its id only
        if other is not None and other.id != self._trigger_id:
            self.title_message.show_error(
                f"Another trigger is already called “{title}”. Titles must be unique."
            )
            return False
        self.title_message.clear_message()
        return True

    def save(self) -> bool:
        if self.read_only:
            return False
        trigger = self.validate()
        if trigger is None:
            return False
        try:
            with self.ctx.db.session() as session:
                trigger_id = trigger_store.save_trigger(session, self.ctx.box, trigger)
                stored = trigger_store.get_trigger(session, self.ctx.box, trigger_id, keep_unreadable=True)
        except IntegrityError:
            self.title_message.show_error(
                f"Another trigger is already called “{trigger.title}”. Titles must be unique."
            )
            self.form_message.show_error("Fix the marked fields to save.")
            return False
        except Exception as exc:  # noqa: BLE001 - the user must know it was not stored
            if show_refusal(self, exc, self.ctx):  # the database said no: its words, in a dialog
                self.form_message.show_error("The trigger was not saved: your role may not change triggers.")
                return False
            log.exception("saving trigger failed")
            # the driver's own message, not SQLAlchemy's statement and parameters (encrypted secrets)
            self.form_message.show_error(f"The trigger was not saved: {getattr(exc, 'orig', None) or exc}")
            return False
        self._trigger_id = trigger_id
        if stored is not None:
            self._actions = list(stored.actions)  # now with their database ids
            self._refresh_action_list()
        self.setWindowTitle(f"Trigger — {trigger.title}")
        self._saved_state = self._state()
        self.form_message.show_ok("Saved.")
        self.trigger_saved.emit(trigger_id)
        return True

    def _on_save_clicked(self) -> None:
        self.save()

    def _on_save_close_clicked(self) -> None:
        if self.save():
            self.accept()

    def reject(self) -> None:  # Cancel, Esc and the window's close button all come here
        if self.is_dirty():
            answer = ask_unsaved_changes(
                self, f"the trigger “{self.title_edit.text().strip() or 'New trigger'}”"
            )
            if answer == Answer.Cancel:
                return
            if answer == Answer.Save and not self.save():
                return
        super().reject()

    # --- field handlers -------------------------------------------------------------------------
    def _on_title_edit_text_changed(self, _text: str) -> None:
        self.title_message.clear_message()

    def _recheck_after_fix(self, *_args: object) -> None:
        """While "Fix the marked fields to save." shows, every change re-checks the form: the line goes
        as soon as the last marked field is fixed (and stays, with its marks, while one is not)."""
        if self.form_message.has_error() and self.validate() is not None:
            self.form_message.clear_message()

    def _on_title_edit_editing_finished(self) -> None:
        self._check_title(required=False)

    def _on_event_picker_event_changed(self, _name: str) -> None:
        self.event_message.clear_message()
        self.condition_editor.set_fields(field_types_for_event(self.event_picker.event_type()))

    def _update_scope(self, *_args: object) -> None:
        self.shop_combo.setEnabled(self.one_shop_radio.isChecked())
        self.shop_message.clear_message()

    # --- shops ----------------------------------------------------------------------------------
    def open_shops_dialog(self) -> ShopsDialog:
        """The Shops dialog over this editor (window-modal, returns at once), on the chosen shop."""
        dialog = ShopsDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        try:
            shop_id = self._shop_id()
        except ValueError:
            shop_id = None
        if shop_id is not None:
            dialog.model.modelReset.connect(lambda: dialog.select_shop(shop_id))
        dialog.shop_renamed.connect(self.show_shop_name)
        dialog.shop_renamed.connect(self.shop_renamed)
        dialog.open()
        return dialog

    def show_shop_name(self, shop_id: int, name: str) -> None:
        """A shop was renamed: the scope picker shows the new name (a rename alone leaves nothing unsaved)."""
        was_dirty = self.is_dirty()
        row = self.shop_combo.findData(shop_id)
        if row < 0:
            return
        label = f"{shop_id} — {name}"
        self.shop_combo.setItemText(row, label)
        if row == self.shop_combo.currentIndex():
            self.shop_combo.setEditText(label)
        if not was_dirty:
            self._saved_state = self._state()


__all__ = ["TriggerEditorDialog", "action_summary"]
