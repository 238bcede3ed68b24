"""What the flat table models and the log pages (Alerts, Activity) share: a fixed tuple of column titles as
the horizontal header, a plain list of frozen rows with an ``id``, and the read-only table under a detail
pane."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QSplitter, QTableView, QWidget


class ColumnsTableModel(QAbstractTableModel):
    """A table without children whose columns are ``columns`` (set by the subclass)."""

    columns: ClassVar[tuple[str, ...]] = ()

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if 0 <= section < len(self.columns):
                return self.columns[section]
        return None


RowT = TypeVar("RowT")


class RowsTableModel(ColumnsTableModel, Generic[RowT]):
    """A read-only, selectable list of frozen values (alerts, audit entries, endpoints) found by their key
    (``key_of``: the ``id``, unless the subclass says otherwise); the subclass says what a cell shows in
    ``cell_data``."""

    def key_of(self, value: RowT) -> Any:
        return value.id  # type: ignore[attr-defined]

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RowT] = []

    def set_rows(self, rows: list[RowT]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> RowT:
        return self._rows[row]

    def row_of(self, key: Any) -> int | None:
        for row, value in enumerate(self._rows):
            if self.key_of(value) == key:
                return row
        return None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self.cell_data(self._rows[index.row()], index.column(), role)

    def cell_data(self, value: RowT, column: int, role: int) -> Any:
        raise NotImplementedError


def log_table(
    owner: QWidget,
    model: QAbstractTableModel,
    name: str,
    widths: tuple[int, ...],
    *,
    multi_select: bool = False,
) -> QTableView:
    """The read-only table of a log page: whole rows selected, fixed row height, no grid, last column
    stretched."""
    table = QTableView()
    table.setObjectName(name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    mode = QAbstractItemView.SelectionMode
    table.setSelectionMode(mode.ExtendedSelection if multi_select else mode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    table.verticalHeader().setDefaultSectionSize(max(24, owner.fontMetrics().height() + 8))
    header = table.horizontalHeader()
    header.setStretchLastSection(True)
    header.setHighlightSections(False)
    for col, width in enumerate(widths):
        table.setColumnWidth(col, width)
    return table


def table_over_detail(name: str, table: QWidget, detail: QWidget, detail_share: int) -> QSplitter:
    """A vertical splitter with the table above (3 parts) and its detail pane below (``detail_share``)."""
    splitter = QSplitter(Qt.Orientation.Vertical)
    splitter.setObjectName(name)
    splitter.addWidget(table)
    splitter.addWidget(detail)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, detail_share)
    splitter.setChildrenCollapsible(False)
    return splitter
