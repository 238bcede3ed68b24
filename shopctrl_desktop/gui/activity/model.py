"""The activity table model: a plain list of frozen AuditEntry values (newest first)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from shopctrl_desktop.domain.audit import AuditEntry
from shopctrl_desktop.gui.table_model import ColumnsTableModel

COLUMNS = ("Time", "Who", "Workstation", "What", "Changes")
ENTRY_ID_ROLE = Qt.ItemDataRole.UserRole + 1
_DIM = QColor("#5f6368")


def changes_text(entry: AuditEntry, width: int = 40) -> str:
    """The changes on one line: ``url: a → b · hmacSecret: changed``."""
    return " · ".join(c.describe(width) for c in entry.changes if c.field not in ("items", "alerts"))


class ActivityModel(ColumnsTableModel):
    columns = COLUMNS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[AuditEntry] = []

    def set_entries(self, entries: list[AuditEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()

    def entry_at(self, row: int) -> AuditEntry:
        return self._entries[row]

    def row_of(self, entry_id: int) -> int | None:
        for row, entry in enumerate(self._entries):
            if entry.id == entry_id:
                return row
        return None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        col = index.column()
        if role == ENTRY_ID_ROLE:
            return entry.id
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return entry.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            if col == 1:
                return entry.who
            if col == 2:
                return entry.workstation
            if col == 3:
                return entry.headline
            if col == 4:
                return changes_text(entry)
        if role == Qt.ItemDataRole.ToolTipRole and col in (3, 4):
            return "\n".join([entry.summary, *(c.describe(120) for c in entry.changes)])
        if role == Qt.ItemDataRole.ForegroundRole and col in (0, 2, 4):
            return _DIM
        return None
