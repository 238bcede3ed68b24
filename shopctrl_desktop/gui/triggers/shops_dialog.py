"""The Shops dialog (Triggers page → "Shops…", and beside the trigger editor's scope picker): the shops
learned from events, renamed inline; each rename is stored (and audited) off the GUI thread."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.roles import Capability
from shopctrl_desktop.domain.shops import KnownShop, ShopNameError, UnknownShopError
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.permissions import read_only_line, read_only_reason
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.gui.triggers.shops import ShopColumn, ShopTableModel
from shopctrl_desktop.gui.widgets.field_message import FieldMessage
from shopctrl_desktop.store.shops import Renamed, list_shops, rename_shop

log = logging.getLogger(__name__)

INTRO = (
    "Shops are learned from events: the first event of shop 3 adds “Shop 3”. Give a shop a name you "
    "recognise — it is shown in the trigger list and the trigger editor. Double-click a name (or select it "
    "and press F2) to rename the shop; every rename is kept on the Activity page."
)
EMPTY_TEXT = (
    "<p><b>No shops yet</b></p><p style='color:#5f6368'>A shop appears here when its first event arrives.</p>"
)


class ShopsDialog(QDialog):
    shop_renamed = Signal(int, str)  # shop id, the stored name

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Shops")
        self.setMinimumSize(560, 380)
        self.model = ShopTableModel(self)
        self.model.rename_requested.connect(self._on_rename_requested)
        self.model.rename_refused.connect(self._on_rename_refused)

        intro = QLabel(INTRO, self)
        intro.setWordWrap(True)
        self.table = QTableView(self)
        self.table.setAccessibleName("Shops: id and name")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(ShopColumn.ID, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ShopColumn.NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ShopColumn.FIRST_SEEN, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)

        self.empty_label = QLabel(style(EMPTY_TEXT), self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.loading_label = QLabel("Loading shops…", self)
        self.loading_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget(self)
        for widget in (self.loading_label, self.table, self.empty_label):
            self.stack.addWidget(widget)

        self.message = FieldMessage(self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.rename_button = QPushButton("&Rename", self)
        self.rename_button.setToolTip("Edit the selected shop's name (F2)")
        self.buttons.addButton(self.rename_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.rename_button.clicked.connect(self.edit_selected_name)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        #: why this login may not rename shops (SPEC §10), None for an admin
        self.read_only = read_only_reason(ctx, Capability.EDIT_SETTINGS, "shop names")
        if self.read_only:
            layout.addWidget(read_only_line(self.read_only, self))
            self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        layout.addWidget(intro)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._update_buttons()
        self.reload()

    # --- public ---------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the shops off the GUI thread."""
        self.stack.setCurrentWidget(self.loading_label)

        def load() -> list[KnownShop]:
            with self.ctx.db.session() as session:
                return list_shops(session)

        run_in_background(load, self._on_loaded, self._on_load_failed, owner=self)

    def select_shop(self, shop_id: int) -> bool:
        row = self.model.row_of(shop_id)
        if row >= 0:
            self.table.selectRow(row)
        return row >= 0

    def edit_selected_name(self) -> None:
        if self.read_only:
            return
        rows = self.table.selectionModel().selectedRows()
        if rows:
            index = self.model.index(rows[0].row(), ShopColumn.NAME)
            self.table.setCurrentIndex(index)
            self.table.edit(index)

    # --- handlers -------------------------------------------------------------------------------
    def _on_loaded(self, shops: list[KnownShop]) -> None:
        self.model.set_shops(shops)
        self.stack.setCurrentWidget(self.table if shops else self.empty_label)
        if shops and not self.table.selectionModel().hasSelection():
            self.table.selectRow(0)
        self._update_buttons()

    def _on_load_failed(self, message: str) -> None:
        self.stack.setCurrentWidget(self.empty_label)
        self.message.show_error(f"The shops could not be read: {message}")

    def _on_rename_refused(self, shop_id: int, message: str) -> None:
        self.message.show_error(f"Shop {shop_id} not renamed: {message[0].upper()}{message[1:]}.")

    def _on_rename_requested(self, shop_id: int, name: str) -> None:
        self.message.show_info(f"Saving the name of shop {shop_id}…")

        def store() -> Renamed | str:
            try:
                with self.ctx.db.session() as session:
                    return rename_shop(session, shop_id, name)
            except (ShopNameError, UnknownShopError) as exc:  # another workstation got there first
                return str(exc)

        run_in_background(
            store,
            lambda result: self._on_rename_stored(shop_id, result),
            lambda error: self._on_rename_failed(shop_id, error),
            owner=self,
        )

    def _on_rename_stored(self, shop_id: int, result: Renamed | str) -> None:
        if isinstance(result, str):
            self._on_rename_failed(shop_id, result)
            return
        self.model.finish_rename(shop_id, result.new)
        self.message.show_ok(f"Shop {shop_id} is now called “{result.new}” (was “{result.old}”).")
        self.shop_renamed.emit(shop_id, result.new)

    def _on_rename_failed(self, shop_id: int, error: str) -> None:
        log.warning("renaming shop %s failed: %s", shop_id, error)
        self.model.finish_rename(shop_id, None)
        self.message.show_error(f"Shop {shop_id} not renamed: {error}")

    def _update_buttons(self, *_args: object) -> None:
        self.rename_button.setEnabled(self.table.selectionModel().hasSelection() and not self.read_only)
        if self.read_only:
            self.rename_button.setToolTip(self.read_only)
