"""Headers tab: custom request headers as an editable name/value table."""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QByteArray, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.domain.model import WebhookAction
from shopctrl_desktop.gui.widgets.field_message import FieldMessage

Index = QModelIndex | QPersistentModelIndex
TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
#: Set by delivery itself; a custom header of this name would be replaced or would break the request.
RESERVED = {
    "content-length",
    "host",
    "user-agent",
    "x-shopctrl-delivery",
    "x-shopctrl-attempt",
    "transfer-encoding",
}


class HeaderRole(IntEnum):
    NAME = Qt.ItemDataRole.UserRole + 1
    VALUE = Qt.ItemDataRole.UserRole + 2


def header_problem(name: str, value: str, seen: set[str]) -> str | None:
    if not name.strip():
        return "a header has no name" if value.strip() else None
    if not TOKEN.match(name.strip()):
        return f"“{name}” is not a valid header name (letters, digits and - only, no spaces or colons)"
    if name.strip().lower() in RESERVED:
        return f"“{name}” is set by ShopCtrl Desktop itself and cannot be replaced"
    if name.strip().lower() in seen:
        return f"“{name}” appears twice"
    if "\n" in value or "\r" in value:
        return f"the value of “{name}” contains a line break"
    return None


class HeadersModel(QAbstractTableModel):
    """Rows are [name, value] pairs, edited in place."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[list[str]] = []

    def set_headers(self, headers: dict[str, str]) -> None:
        self.beginResetModel()
        self._rows = [[k, v] for k, v in headers.items()]
        self.endResetModel()

    def rows(self) -> list[tuple[str, str]]:
        return [(n, v) for n, v in self._rows]

    def headers(self) -> dict[str, str]:
        return {n.strip(): v for n, v in self._rows if n.strip()}

    def add_row(self, name: str = "", value: str = "") -> int:
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append([name, value])
        self.endInsertRows()
        return row

    def remove_row(self, row: int) -> None:
        if 0 <= row < len(self._rows):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row]
            self.endRemoveRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else 2

    def roleNames(self) -> dict[int, QByteArray]:  # noqa: N802
        names = dict(super().roleNames())
        names[int(HeaderRole.NAME)] = QByteArray(b"name")
        names[int(HeaderRole.VALUE)] = QByteArray(b"value")
        return names

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and section in (0, 1)
        ):
            return ("Name", "Value")[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        name, value = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._rows[index.row()][index.column()]
        if role == HeaderRole.NAME:
            return name
        if role == HeaderRole.VALUE:
            return value
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        self._rows[index.row()][index.column()] = str(value)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        return True


class HeadersTab(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        intro = QLabel(
            "Extra headers sent with every request of this action. Content-Type, X-ShopCtrl-Trigger, "
            "X-ShopCtrl-Delivery, X-ShopCtrl-Attempt, User-Agent, authentication and signature headers "
            "are added automatically.",
            self,
        )
        intro.setWordWrap(True)
        self.model = HeadersModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 220)
        self.table.setAccessibleName("Extra request headers")
        intro.setBuddy(self.table)
        self.add_button = QPushButton("Add header", self)
        self.remove_button = QPushButton("Remove", self)
        self.message = FieldMessage(self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        for signal in (
            self.model.dataChanged,
            self.model.rowsInserted,
            self.model.rowsRemoved,
            self.model.modelReset,
        ):
            signal.connect(self._on_model_changed)

    def load(self, action: WebhookAction) -> None:
        self.model.set_headers(dict(action.headers))

    def values(self) -> dict[str, object]:
        return {"headers": self.model.headers()}

    def problems(self) -> list[str]:
        seen: set[str] = set()
        messages = []
        for name, value in self.model.rows():
            problem = header_problem(name, value, seen)
            if problem:
                messages.append(problem)
            seen.add(name.strip().lower())
        if messages:
            text = "; ".join(messages)
            self.message.show_error(text[:1].upper() + text[1:] + ".")
            return ["headers"]
        self.message.clear_message()
        return []

    def _on_add_button_clicked(self) -> None:
        row = self.model.add_row()
        index = self.model.index(row, 0)
        self.table.setCurrentIndex(index)
        self.table.edit(index)

    def _on_remove_button_clicked(self) -> None:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedIndexes()}, reverse=True)
        for row in rows:
            self.model.remove_row(row)

    def _on_model_changed(self, *_args: object) -> None:
        self.problems()
        self.changed.emit()
