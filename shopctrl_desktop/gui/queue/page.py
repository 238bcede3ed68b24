"""The Webhook Queue page: filter bar, the live table (id-list model) and the detail pane, kept up to date.

The actions (Retry, Cancel, Resend, Copy as curl, Export CSV, Retry failed in filter) are in actions.py.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.queue import ItemChange
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.queue.actions import QueueActions
from shopctrl_desktop.gui.queue.columns import COLUMNS, Column
from shopctrl_desktop.gui.queue.detail import ItemDetailPane
from shopctrl_desktop.gui.queue.filter_bar import FilterState, QueueFilterBar
from shopctrl_desktop.gui.queue.first_start import FirstStartPanel
from shopctrl_desktop.gui.queue.model import ID_ROLE, QueueTableModel
from shopctrl_desktop.gui.queue.table_view import QueueTableView
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.store import browse
from shopctrl_desktop.store.browse import ItemDetail, QueueFilter

log = logging.getLogger(__name__)

#: Room a wide window gives first (up to these many pixels more each), before the URL takes the rest.
WIDE_EXTRA = {Column.TRIGGER: 140, Column.ENTITY: 70, Column.EVENT: 50, Column.LAST_RESPONSE: 160}
#: The URL (last, it takes the rest) keeps its default width: the stretched last section does not shrink below it.
URL_ROOM = 300
COLUMN_WIDTHS = {
    Column.ID: 58,
    Column.CREATED: 122,
    Column.PRIORITY: 66,
    Column.STATUS: 86,
    Column.TRIGGER: 190,
    Column.EVENT: 150,
    Column.ENTITY: 130,
    Column.URL: 300,
    Column.ATTEMPTS: 68,
    Column.NEXT_ATTEMPT: 122,
    Column.LAST_RESPONSE: 190,
    Column.DURATION: 72,
}


def _last_column(table: QueueTableView) -> int:
    """The column shown last (it stretches with the window: its width is not the user's choice)."""
    hh = table.horizontalHeader()
    return hh.logicalIndex(hh.count() - 1)


class QueuePage(QueueActions, QWidget):
    #: Items became due (retry, resend): the engine should look now.
    items_requeued = Signal()
    #: A short message for the status bar.
    message_posted = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queue_page")
        self.ctx = ctx
        self.model = QueueTableModel(ctx, self)
        self._detail_generation = 0
        self._pending_select: int | None = None
        self._current: int | None = None  # the selected item (engine changes to it reload the detail)

        self.filter_bar = QueueFilterBar()
        self.table = QueueTableView()
        self.table.setObjectName("queue_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setSortingEnabled(False)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        vh = self.table.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(max(22, self.fontMetrics().height() + 8))
        hh = self.table.horizontalHeader()
        hh.setSectionsMovable(True)
        hh.setHighlightSections(False)
        hh.setStretchLastSection(True)
        for column, width in COLUMN_WIDTHS.items():
            self.table.setColumnWidth(column, width)
        # the URL is long and also in the detail header: by default it comes last and takes the rest
        hh.moveSection(hh.visualIndex(Column.URL), len(COLUMNS) - 1)
        self.empty_label = QLabel(self.table.viewport())
        self.empty_label.setObjectName("queue_empty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet(style("color: #666; font-size: 11pt;"))
        self.empty_label.hide()
        self._viewport = self.table.viewport()
        self._viewport.installEventFilter(self)
        self._user_widths = False  # the user's own column widths (restore_state, or resized by hand)
        self._sizing = False
        hh.sectionResized.connect(self._on_section_resized)
        self.detail_pane = ItemDetailPane()
        self.detail_pane.max_attempts = ctx.settings.retry.max_retries + 1

        self.count_label = QLabel()
        self.count_label.setObjectName("count_label")
        self.toolbar = QToolBar("Queue actions")
        self.toolbar.setObjectName("queue_toolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.back_button = QPushButton("← Back to your filter")
        self.back_button.setObjectName("back_to_filter")
        self.back_button.setToolTip("Show the queue as it was before you opened an item from an alert")
        self.back_button.hide()
        self.back_button.clicked.connect(self.back_to_filter)
        self._filter_before_jump: FilterState | None = None
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.toolbar, 1)
        buttons.addWidget(self.count_label)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("queue_splitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail_pane)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([600, 340])  # the table gets the larger part until the user moves it

        self.first_start = FirstStartPanel(ctx)
        self.first_start.hide()
        self.first_start.message_posted.connect(self.message_posted)
        self._has_triggers: bool | None = None  # not known until the filter choices arrived

        lay = QVBoxLayout(self)
        lay.addWidget(self.filter_bar)
        lay.addLayout(buttons)
        lay.addWidget(self.splitter, 1)
        lay.addWidget(self.first_start, 1)

        self._build_actions()

        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(60)
        self._detail_timer.timeout.connect(self._load_detail)
        self.filter_bar.filter_changed.connect(self._on_filter_bar_filter_changed)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.table.selectionModel().currentRowChanged.connect(self._on_selection_changed)
        self.model.rowsInserted.connect(self._on_model_rowsInserted)
        self.model.modelAboutToBeReset.connect(self._on_model_modelAboutToBeReset)
        self.model.modelReset.connect(self._on_model_modelReset)
        self.model.ids_loaded.connect(self._on_model_ids_loaded)
        self.model.loading_changed.connect(self._on_model_loading_changed)
        self.model.load_failed.connect(self._on_model_load_failed)
        self._update_actions()

    # -- loading ----------------------------------------------------------------------------------------
    def start(self) -> None:
        """First load: the filter choices and the newest items."""
        self.model.set_filter(self.filter_bar.current_filter())
        self.reload_choices()

    def reload_choices(self) -> None:
        db = self.ctx.db

        def choices() -> tuple[list[str], list[str]]:
            with db.sessions() as s:
                return browse.filter_choices(s)

        run_in_background(choices, self._on_choices_loaded, owner=self)

    def _on_choices_loaded(self, choices: tuple[list[str], list[str]]) -> None:
        self.filter_bar.set_choices(*choices)
        self._has_triggers = bool(choices[0])
        self._show_first_start_if_empty()

    def _show_first_start_if_empty(self) -> None:
        """No trigger and no queue item: the first-start panel instead of an empty table."""
        empty = (
            self._has_triggers is False
            and self.model.is_complete
            and self.model.rowCount() == 0
            and self.model.current_filter.is_empty
        )
        if empty and not self.first_start.isVisible():
            self.first_start.refresh()
        self.first_start.setVisible(empty)
        for widget in (self.filter_bar, self.toolbar, self.count_label, self.splitter):
            widget.setVisible(not empty)

    def refresh(self) -> None:
        self.model.set_filter(self.filter_bar.current_filter())
        self.reload_choices()

    def set_filter(self, flt: QueueFilter) -> None:
        self.model.set_filter(flt)

    def show_item(self, item_id: int) -> None:
        """Open one item (e.g. from an alert): filter on its id and select it; "Back to your filter" returns
        to the filter the user had."""
        if self._filter_before_jump is None:
            self._filter_before_jump = self.filter_bar.state()
        self.back_button.show()
        self.filter_bar.show_only_item(item_id)
        self._pending_select = item_id
        self.model.set_filter(self.filter_bar.current_filter())

    def back_to_filter(self) -> None:
        state, self._filter_before_jump = self._filter_before_jump, None
        self.back_button.hide()
        if state is not None:
            self.filter_bar.restore(state)
            self.model.set_filter(self.filter_bar.current_filter())

    def _on_filter_bar_filter_changed(self, flt: QueueFilter) -> None:
        self._filter_before_jump = None  # the user chose a filter of their own
        self.back_button.hide()
        self.detail_pane.show_notice("", ())
        self.model.set_filter(flt)

    def _on_model_loading_changed(self, loading: bool) -> None:
        if loading:
            self.count_label.setText("Loading…")

    def _on_model_ids_loaded(self, count: int) -> None:
        flt = self.model.current_filter
        noun = "item" if count == 1 else "items"
        suffix = "" if flt.is_empty else (" matches the filter" if count == 1 else " match the filter")
        self.count_label.setText(f"{count:,} {noun}{suffix}" if count else "")
        if count:
            self.empty_label.hide()
        else:
            self.empty_label.setText(
                "No webhook calls yet.\nWhen an event matches an enabled trigger, its delivery appears here."
                if flt.is_empty
                else "No queue items match the filter."
            )
            self._place_empty_label()
            self.empty_label.show()
        self._show_first_start_if_empty()
        if self._pending_select is not None and self.model.is_complete:
            row = self.model.row_of(self._pending_select)
            self._pending_select = None
            if row is not None:
                self.select_row(row)
            elif self._current is None:
                self.detail_pane.clear()
        self._update_actions()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self._viewport:
            self._place_empty_label()
            self._widen_columns()
        return super().eventFilter(watched, event)

    def _widen_columns(self) -> None:
        """On a wide window the trigger, entity, event and last response columns get wider (they are cut first),
        until the user's own widths are known (restored, or a column resized by hand)."""
        if self._user_widths:
            return
        hh = self.table.horizontalHeader()
        fixed = sum(w for c, w in COLUMN_WIDTHS.items() if c != Column.URL)
        room = self._viewport.width() - fixed - URL_ROOM
        for column, most in WIDE_EXTRA.items():
            extra = max(0, min(most, room))
            room -= extra
            self._sizing = True
            hh.resizeSection(column, COLUMN_WIDTHS[column] + extra)
            self._sizing = False

    def _on_section_resized(self, column: int, old: int, new: int) -> None:
        if not self._sizing and column != _last_column(self.table):
            self._user_widths = True  # resized by hand: kept from now on

    def _place_empty_label(self) -> None:
        self.empty_label.setGeometry(self.table.viewport().rect().adjusted(20, 20, -20, -20))

    def _on_model_load_failed(self, message: str) -> None:
        self.count_label.setText("Loading failed")
        self.message_posted.emit(f"Could not load the queue: {message}")

    def _on_model_modelAboutToBeReset(self) -> None:
        if self._pending_select is None:
            self._pending_select = self._current  # keep the selected item selected if it still matches

    def _on_model_modelReset(self) -> None:
        self._current = None
        if self._pending_select is None or self.model.row_of(self._pending_select) is None:
            self.detail_pane.clear()
        self._update_actions()

    def _on_model_rowsInserted(self, parent: QModelIndex, first: int, last: int) -> None:
        # Rows arriving at the top must not move what the user is reading further down.
        if first == 0 and self.model.rowCount() > last + 1:
            bar = self.table.verticalScrollBar()
            if bar.value() > 0:
                bar.setValue(bar.value() + (last - first + 1))

    def on_engine_items_changed(self, changes: list[ItemChange]) -> None:
        self.model.note_changes(changes)
        current = self._current
        if current is not None and any(c.item_id == current for c in changes):
            self._detail_timer.start(250)

    # -- selection and detail ---------------------------------------------------------------------------
    def select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.scrollTo(index)

    def selected_ids(self) -> list[int]:
        rows = self.table.selectionModel().selectedRows()
        return sorted({int(i.data(ID_ROLE)) for i in rows})

    def current_id(self) -> int | None:
        index = self.table.currentIndex()
        if not index.isValid() or not self.table.selectionModel().isRowSelected(index.row(), QModelIndex()):
            return None
        return int(index.data(ID_ROLE))

    def _on_selection_changed(self, *_: object) -> None:
        current = self.current_id()
        shown = self.detail_pane.detail
        moved_only = (
            current is not None and current == self._current and shown is not None and shown.row.id == current
        )
        self._current = current
        self._update_actions()
        if not moved_only:  # rows inserted above the current one move it, but it is still the same item
            self._detail_timer.start(60)

    def _load_detail(self) -> None:
        item_id = self.current_id()
        self._detail_generation += 1
        generation = self._detail_generation
        if item_id is None:
            self.detail_pane.clear()
            return
        db = self.ctx.db

        def load() -> ItemDetail | None:
            with db.sessions() as s:
                return browse.item_detail(s, item_id)

        def done(detail: ItemDetail | None) -> None:
            if generation != self._detail_generation:
                return
            if detail is None:
                self.detail_pane.show_message(f"Item #{item_id} no longer exists.")
            else:
                self.detail_pane.show_detail(detail)
            self._update_actions()

        run_in_background(
            load, done, lambda m: self.detail_pane.show_message(f"Could not load the item: {m}"), owner=self
        )

    # -- layout memory ----------------------------------------------------------------------------------
    def save_state(self, settings: QSettings) -> None:
        settings.setValue("queue/header", self.table.horizontalHeader().saveState())
        settings.setValue("queue/splitter", self.splitter.saveState())

    def restore_state(self, settings: QSettings) -> None:
        header = settings.value("queue/header")
        if header is not None:
            self._user_widths = True
            self.table.horizontalHeader().restoreState(header)
        splitter = settings.value("queue/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        hh = self.table.horizontalHeader()
        if hh.count() != len(COLUMNS):
            hh.reset()
