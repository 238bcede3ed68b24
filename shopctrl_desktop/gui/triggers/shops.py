"""Known shops (learned from events, renamable) for the shop column, the scope picker and the Shops dialog."""

from __future__ import annotations

from dataclasses import replace
from enum import IntEnum
from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.shops import KnownShop, ShopNameError, validate_shop_name
from shopctrl_desktop.gui.table_model import ColumnsTableModel
from shopctrl_desktop.store.shops import shop_names

_Index = QModelIndex | QPersistentModelIndex


def load_shop_names(ctx: AppContext) -> dict[int, str]:
    with ctx.db.session() as session:
        return shop_names(session)


class ShopColumn(IntEnum):
    ID = 0
    NAME = 1
    FIRST_SEEN = 2


class ShopTableModel(ColumnsTableModel):
    """Shops by id; the name column is editable. An edit is checked against the rules at once
    (domain/shops.py) and then *requested* — the dialog stores it off the GUI thread and calls
    :meth:`finish_rename` — so the table never claims a name the database has not accepted."""

    columns: ClassVar[tuple[str, ...]] = ("ID", "Name", "First seen")
    rename_requested = Signal(int, str)  # shop id, the cleaned new name
    rename_refused = Signal(int, str)  # shop id, why (in words)

    def __init__(self, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent)
        self._shops: list[KnownShop] = []
        self._saving: dict[int, str] = {}  # shop id -> the name being stored

    # --- data in --------------------------------------------------------------------------------
    def set_shops(self, shops: list[KnownShop]) -> None:
        self.beginResetModel()
        self._shops = sorted(shops, key=lambda s: s.id)
        self._saving.clear()
        self.endResetModel()

    def finish_rename(self, shop_id: int, name: str | None) -> None:
        """The store answered: ``name`` is the stored name, None when the rename failed (the old name stays)."""
        self._saving.pop(shop_id, None)
        row = self.row_of(shop_id)
        if row < 0:
            return
        if name is not None:
            self._shops[row] = replace(self._shops[row], name=name)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))

    # --- data out -------------------------------------------------------------------------------
    def shops(self) -> list[KnownShop]:
        return list(self._shops)

    def row_of(self, shop_id: int) -> int:
        return next((row for row, shop in enumerate(self._shops) if shop.id == shop_id), -1)

    def is_saving(self, shop_id: int) -> bool:
        return shop_id in self._saving

    # --- Qt -------------------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shops)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if (
            index.isValid()
            and index.column() == ShopColumn.NAME
            and not self.is_saving(self._shops[index.row()].id)
        ):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._shops):
            return None
        shop, column = self._shops[index.row()], index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if column == ShopColumn.ID:
                return str(shop.id) if role == Qt.ItemDataRole.DisplayRole else shop.id
            if column == ShopColumn.NAME:
                if role == Qt.ItemDataRole.DisplayRole and self.is_saving(shop.id):
                    return f"{self._saving[shop.id]} (saving…)"
                return shop.name
            if column == ShopColumn.FIRST_SEEN:
                if shop.first_seen is None:
                    return ""
                return shop.first_seen.astimezone().strftime("%Y-%m-%d %H:%M")
        if role == Qt.ItemDataRole.TextAlignmentRole and column == ShopColumn.ID:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == ShopColumn.NAME:
            return "Double-click (or F2) to rename this shop"
        if role == Qt.ItemDataRole.FontRole and column == ShopColumn.NAME and self.is_saving(shop.id):
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or index.column() != ShopColumn.NAME:
            return False
        shop = self._shops[index.row()]
        if self.is_saving(shop.id):
            return False
        try:
            name = validate_shop_name(shop.id, str(value), ((s.id, s.name) for s in self._shops))
        except ShopNameError as exc:
            self.rename_refused.emit(shop.id, str(exc))
            return False
        if name == shop.name:
            return False
        self._saving[shop.id] = name
        self.dataChanged.emit(index, index)
        self.rename_requested.emit(shop.id, name)
        return True
