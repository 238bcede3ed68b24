"""A read-only tree model over MergeField trees (columns: field, type, value or description)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QByteArray, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from shopctrl_desktop.domain.mergefields import MergeField
from shopctrl_desktop.gui.theme import colour

Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    FIELD = 0
    TYPE = 1
    DETAIL = 2


class FieldRole(IntEnum):
    FIELD = Qt.ItemDataRole.UserRole + 1
    PATH = Qt.ItemDataRole.UserRole + 2
    IS_LEAF = Qt.ItemDataRole.UserRole + 3


@dataclass(eq=False)
class _Node:
    field: MergeField | None
    parent: _Node | None
    row: int
    children: list[_Node] = field(default_factory=list)


def _build(fields: list[MergeField] | tuple[MergeField, ...], parent: _Node) -> None:
    for row, merge_field in enumerate(fields):
        node = _Node(merge_field, parent, row)
        parent.children.append(node)
        _build(merge_field.children, node)


def format_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "…"


class MergeFieldTreeModel(QAbstractItemModel):
    """``set_fields(trees, with_values=...)`` replaces the content. The third column shows the value
    (dynamic list) or the description (generic list)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._root = _Node(None, None, 0)
        self._with_values = False

    def set_fields(self, fields: list[MergeField], *, with_values: bool = False) -> None:
        self.beginResetModel()
        self._root = _Node(None, None, 0)
        self._with_values = with_values
        _build(fields, self._root)
        self.endResetModel()

    @property
    def with_values(self) -> bool:
        return self._with_values

    def field_at(self, index: Index) -> MergeField | None:
        node = self._node(index)
        return node.field if node is not self._root else None

    def _node(self, index: Index) -> _Node:
        if index.isValid():
            node = index.internalPointer()
            if isinstance(node, _Node):
                return node
        return self._root

    # --- Qt model API ---------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        node = self._node(parent)
        return self.createIndex(row, column, node.children[row])

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        node = self._node(index)
        parent = node.parent
        if parent is None or parent is self._root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._node(parent).children)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return len(Column)

    def roleNames(self) -> dict[int, QByteArray]:  # noqa: N802
        names = dict(super().roleNames())
        names[int(FieldRole.FIELD)] = QByteArray(b"field")
        names[int(FieldRole.PATH)] = QByteArray(b"path")
        names[int(FieldRole.IS_LEAF)] = QByteArray(b"isLeaf")
        return names

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if section == Column.FIELD:
            return "Field"
        if section == Column.TYPE:
            return "Type"
        if section == Column.DETAIL:
            return "Value" if self._with_values else "Description"
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        merge_field = self._node(index).field
        if merge_field is None:
            return None
        if role == FieldRole.FIELD:
            return merge_field
        if role == FieldRole.PATH:
            return merge_field.path
        if role == FieldRole.IS_LEAF:
            return merge_field.is_leaf
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == Column.FIELD:
                return merge_field.name
            if column == Column.TYPE:
                return "list" if merge_field.is_collection else merge_field.type
            if column == Column.DETAIL:
                if self._with_values and merge_field.is_leaf:
                    return format_value(merge_field.value)
                return merge_field.description
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{merge_field.path}\n{merge_field.description}".strip()
        if role == Qt.ItemDataRole.FontRole and column == Column.FIELD and not merge_field.is_leaf:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and column == Column.DETAIL:
            if self._with_values and merge_field.is_leaf and merge_field.value is None:
                return colour("#8c959f")
            if not self._with_values or not merge_field.is_leaf:
                return colour("#5f6368")
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
