"""The activity table model: a plain list of frozen AuditEntry values (newest first)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from shopctrl_desktop.domain.audit import AuditEntry
from shopctrl_desktop.gui.table_model import RowsTableModel
from shopctrl_desktop.gui.theme import colour

COLUMNS = ("Time", "Who", "Workstation", "What", "Changes")
ENTRY_ID_ROLE = Qt.ItemDataRole.UserRole + 1
_DIM = "#5f6368"


def changes_text(entry: AuditEntry, width: int = 40) -> str:
    """The changes on one line: ``url: a → b · hmacSecret: changed``."""
    return " · ".join(c.describe(width) for c in entry.changes if c.field not in ("items", "alerts"))


class ActivityModel(RowsTableModel[AuditEntry]):
    columns = COLUMNS

    def cell_data(self, entry: AuditEntry, col: int, role: int) -> Any:
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
            return colour(_DIM)
        return None
