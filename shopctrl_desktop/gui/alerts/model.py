"""The alerts table model: a plain list of frozen Alert values (the newest 1,000), unread in bold."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QFont, QIcon
from PySide6.QtWidgets import QApplication, QStyle

from shopctrl_desktop.gui.table_model import RowsTableModel
from shopctrl_desktop.store.alerts import Alert

COLUMNS = ("Severity", "Time", "Title", "Queue item", "Message")
ALERT_ID_ROLE = Qt.ItemDataRole.UserRole + 1
ITEM_ID_ROLE = Qt.ItemDataRole.UserRole + 2
_ICONS = {
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "information": QStyle.StandardPixmap.SP_MessageBoxInformation,
}


def severity_icon(severity: str) -> QIcon:
    return QApplication.style().standardIcon(
        _ICONS.get(severity, QStyle.StandardPixmap.SP_MessageBoxInformation)
    )


class AlertsModel(RowsTableModel[Alert]):
    columns = COLUMNS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._icons: dict[str, QIcon] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    def cell_data(self, alert: Alert, col: int, role: int) -> Any:
        if role == ALERT_ID_ROLE:
            return alert.id
        if role == ITEM_ID_ROLE:
            return alert.item_id
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return alert.severity.capitalize()
            if col == 1:
                return alert.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            if col == 2:
                return alert.title
            if col == 3:
                return f"#{alert.item_id}" if alert.item_id is not None else ""
            if col == 4:
                return alert.message.replace("\n", " ")[:300]
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            if alert.severity not in self._icons:
                self._icons[alert.severity] = severity_icon(alert.severity)
            return self._icons[alert.severity]
        if role == Qt.ItemDataRole.FontRole and not alert.read:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole and col in (2, 4):
            return alert.message or None
        return None
