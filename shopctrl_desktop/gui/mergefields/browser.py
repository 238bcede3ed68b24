"""The merge-field browser: a searchable tree of the fields a payload template can use.

Generic list: the event's entities and their fields from the catalogue. Dynamic list: type an entity id
(e.g. an Order id) seen in an event and the fields that entity actually has are shown with their values.
Double-click or Insert emits ``field_chosen`` with the text to insert at the payload editor's cursor.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain import mergefields
from shopctrl_desktop.domain.events import find_event
from shopctrl_desktop.domain.mergefields import MergeField
from shopctrl_desktop.domain.model import StoredEvent
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.mergefields.catalogue import generic_fields, insertion_text
from shopctrl_desktop.gui.mergefields.model import Column, FieldRole, MergeFieldTreeModel
from shopctrl_desktop.gui.widgets.accessibility import name_from_label
from shopctrl_desktop.gui.widgets.field_message import FieldMessage
from shopctrl_desktop.store.events import latest_snapshot


def load_dynamic(
    ctx: AppContext, entity_type: str, entity_id: str
) -> tuple[StoredEvent | None, list[MergeField]]:
    """Worker thread: the newest snapshot of the entity and its field tree with values."""
    with ctx.db.session() as session:
        event = latest_snapshot(session, entity_type, entity_id)
    return event, (mergefields.dynamic_tree(event.data) if event else [])


class MergeFieldBrowser(QDialog):
    field_chosen = Signal(str)  # the text to insert, e.g. "$$Order.OrderCode$$"
    fields_loaded = Signal(bool)  # True: dynamic list with values, False: generic list

    def __init__(self, ctx: AppContext, event_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.event_type = find_event(event_name) if event_name else None
        self.entity_type = self.event_type.entity_type if self.event_type else "Order"
        self._all_fields: list[MergeField] = []
        self.setWindowTitle("Available merge fields")
        self.resize(720, 620)

        event_text = f"“{self.event_type.display_name}”" if self.event_type else "this trigger"
        intro = QLabel(
            f"Merge fields for {event_text}. Double-click a field to insert it at the cursor.", self
        )
        intro.setWordWrap(True)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Search fields (name, path, description or value)…")
        self.filter_edit.setClearButtonEnabled(True)
        self.entity_id_edit = QLineEdit(self)
        self.entity_id_edit.setPlaceholderText("e.g. 1001")
        self.entity_id_edit.setMaximumWidth(160)
        self.load_button = QPushButton("Load values", self)
        self.show_all_button = QPushButton("Show all available merge fields", self)
        self.source_message = FieldMessage(self)
        self.model = MergeFieldTreeModel(self)
        self.tree = QTreeView(self)
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(Column.TYPE, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setColumnWidth(Column.FIELD, 240)
        self.detail_label = QLabel(self)
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_label.setMinimumHeight(self.detail_label.fontMetrics().lineSpacing() * 2 + 4)
        self.detail_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.jinja_check = QCheckBox("Jinja style {{ … }}", self)
        self.jinja_check.setToolTip("Insert {{ Order.OrderCode }} instead of ShopCtrl's $$Order.OrderCode$$")
        self.insert_button = QPushButton("Insert", self)
        self.insert_button.setDefault(True)
        self.insert_button.setEnabled(False)
        close_button = QPushButton("Close", self)
        # Enter in the id box loads values; it must not also press a button of the dialog
        for button in (self.load_button, self.show_all_button, close_button):
            button.setAutoDefault(False)

        entity_row = QHBoxLayout()
        entity_label = QLabel(f"{self.entity_type} &id:", self)
        name_from_label(entity_label, self.entity_id_edit)
        entity_row.addWidget(entity_label)
        entity_row.addWidget(self.entity_id_edit)
        entity_row.addWidget(self.load_button)
        entity_row.addStretch(1)
        entity_row.addWidget(self.show_all_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.jinja_check)
        bottom.addStretch(1)
        bottom.addWidget(self.insert_button)
        bottom.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(entity_row)
        layout.addWidget(self.source_message)
        filter_label = QLabel("&Search:", self)
        name_from_label(filter_label, self.filter_edit)
        self.tree.setAccessibleName("Merge fields")
        filter_row = QHBoxLayout()
        filter_row.addWidget(filter_label)
        filter_row.addWidget(self.filter_edit, 1)
        layout.addLayout(filter_row)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.detail_label)
        layout.addLayout(bottom)

        self.filter_edit.textChanged.connect(self._on_filter_edit_text_changed)
        self.entity_id_edit.returnPressed.connect(self.load_entity)
        self.load_button.clicked.connect(self.load_entity)
        self.show_all_button.clicked.connect(self.show_generic)
        self.tree.doubleClicked.connect(self._on_tree_double_clicked)
        self.tree.selectionModel().currentChanged.connect(self._on_tree_current_changed)
        self.insert_button.clicked.connect(self.insert_current)
        self.jinja_check.toggled.connect(self._update_detail)
        close_button.clicked.connect(self.close)
        self.show_generic()

    # --- content --------------------------------------------------------------------------------
    def show_generic(self) -> None:
        self._set_fields(generic_fields(self.event_type), with_values=False)
        if self.event_type is None:
            self.source_message.show_error("Pick the trigger's event first: the merge fields depend on it.")
            self.fields_loaded.emit(False)
            return
        name = self.event_type.display_name if self.event_type else "the event"
        self.source_message.show_info(
            f"All merge fields {name} can carry. Enter an {self.entity_type} id to see one entity's real values."
        )
        self.fields_loaded.emit(False)

    def load_entity(self) -> None:
        entity_id = self.entity_id_edit.text().strip()
        if not entity_id:
            self.source_message.show_error(f"Enter the id of an {self.entity_type} first.")
            return
        self.load_button.setEnabled(False)
        self.source_message.show_info(f"Loading {self.entity_type} {entity_id}…")
        ctx, entity_type = self.ctx, self.entity_type
        run_in_background(
            lambda: load_dynamic(ctx, entity_type, entity_id),
            self._on_entity_loaded,
            self._on_entity_failed,
            owner=self,
        )

    def _on_entity_loaded(self, result: tuple[StoredEvent | None, list[MergeField]]) -> None:
        self.load_button.setEnabled(True)
        event, fields = result
        if event is None:
            self.source_message.show_error(
                f"No event about {self.entity_type} {self.entity_id_edit.text().strip()} has been received yet."
            )
            return
        self._set_fields(fields, with_values=True)
        event_type = find_event(event.event)
        what = event_type.display_name if event_type else event.event
        self.source_message.show_ok(
            f"Values of {self.entity_type} {event.entity_code or event.entity_id} from event #{event.id} "
            f"({what}, {event.occurred_at:%Y-%m-%d %H:%M})."
        )
        self.fields_loaded.emit(True)

    def _on_entity_failed(self, message: str) -> None:
        self.load_button.setEnabled(True)
        self.source_message.show_error(f"The entity could not be loaded: {message}")

    def _set_fields(self, fields: list[MergeField], *, with_values: bool) -> None:
        self._all_fields = fields
        self._with_values = with_values
        self._apply_filter()

    def _apply_filter(self) -> None:
        text = self.filter_edit.text()
        self.model.set_fields(mergefields.search(self._all_fields, text), with_values=self._with_values)
        if text.strip():
            self.tree.expandAll()
        else:
            self.tree.expandToDepth(0)
        self.insert_button.setEnabled(False)
        self.detail_label.clear()

    # --- choosing -------------------------------------------------------------------------------
    def current_field(self) -> MergeField | None:
        return self.model.field_at(self.tree.currentIndex())

    def text_for(self, merge_field: MergeField) -> str:
        return insertion_text(merge_field, jinja=self.jinja_check.isChecked())

    def insert_current(self) -> None:
        merge_field = self.current_field()
        if merge_field is not None and (merge_field.is_leaf or merge_field.is_collection):
            self.field_chosen.emit(self.text_for(merge_field))

    def select_path(self, path: str) -> bool:
        """Select the field with this path (expanding its parents); False when it is not shown."""
        matches = self.model.match(
            self.model.index(0, 0),
            FieldRole.PATH,
            path,
            1,
            Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive,
        )
        if not matches:
            return False
        self.tree.setCurrentIndex(matches[0])
        self.tree.scrollTo(matches[0])
        return True

    def _on_tree_double_clicked(self, index: QModelIndex) -> None:
        merge_field = self.model.field_at(index)
        if merge_field is not None and (merge_field.is_leaf or merge_field.is_collection):
            self.field_chosen.emit(self.text_for(merge_field))

    def _on_tree_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_detail()

    def _update_detail(self, *_args: object) -> None:
        merge_field = self.current_field()
        insertable = merge_field is not None and (merge_field.is_leaf or merge_field.is_collection)
        self.insert_button.setEnabled(insertable)
        if merge_field is None:
            self.detail_label.clear()
            return
        text = f"<b>{merge_field.path}</b>"
        if merge_field.description:
            text += f" — {merge_field.description}"
        if insertable:
            token = self.text_for(merge_field).replace("&", "&amp;").replace("<", "&lt;").replace("\n", " ")
            text += f"<br>Inserts <tt>{token}</tt>"
        self.detail_label.setText(text)

    def _on_filter_edit_text_changed(self, _text: str) -> None:
        self._apply_filter()
