"""The alerts table model: the newest 1,000 alerts grouped by what went wrong where — one row per
(severity, title, trigger), e.g. "Delivery failed: ERP order sync" ×4 — with a count; unread in bold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QFont, QIcon
from PySide6.QtWidgets import QApplication, QStyle

from shopctrl_desktop.gui.table_model import RowsTableModel
from shopctrl_desktop.store.alerts import Alert

COLUMNS = ("Severity", "Latest", "Title", "Count", "Latest message")
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


GroupKey = tuple[str, str, int | None]


@dataclass(frozen=True)
class AlertGroup:
    """Alerts with the same severity and title for the same trigger (its endpoint), newest first."""

    alerts: tuple[Alert, ...]

    @property
    def id(self) -> int:
        return self.alerts[0].id

    @property
    def key(self) -> GroupKey:
        return group_key(self.alerts[0])

    @property
    def latest(self) -> Alert:
        return self.alerts[0]

    @property
    def count(self) -> int:
        return len(self.alerts)

    @property
    def unread(self) -> int:
        return sum(1 for a in self.alerts if not a.read)

    @property
    def read(self) -> bool:
        return self.unread == 0

    @property
    def item_ids(self) -> list[int]:
        return [a.item_id for a in self.alerts if a.item_id is not None]

    @property
    def count_text(self) -> str:
        unread = f", {self.unread} unread" if self.unread and self.unread != self.count else ""
        return f"{self.count} alert{'s' if self.count != 1 else ''}{unread}"


def group_key(alert: Alert) -> GroupKey:
    return (alert.severity, alert.title, alert.trigger_id)


def group_alerts(alerts: list[Alert]) -> list[AlertGroup]:
    """One group per (severity, title, trigger), ordered by each group's newest alert (``alerts`` come
    newest first)."""
    groups: dict[GroupKey, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(group_key(alert), []).append(alert)
    return [AlertGroup(tuple(members)) for members in groups.values()]


class AlertsModel(RowsTableModel[AlertGroup]):
    columns = COLUMNS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._icons: dict[str, QIcon] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    def set_alerts(self, alerts: list[Alert]) -> None:
        self.set_rows(group_alerts(alerts))

    def row_of_key(self, key: GroupKey) -> int | None:
        for row in range(self.rowCount()):
            if self.row_at(row).key == key:
                return row
        return None

    def cell_data(self, group: AlertGroup, col: int, role: int) -> Any:
        alert = group.latest
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
                return group.count_text
            if col == 4:
                return alert.message.replace("\n", " ")[:300]
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            if alert.severity not in self._icons:
                self._icons[alert.severity] = severity_icon(alert.severity)
            return self._icons[alert.severity]
        if role == Qt.ItemDataRole.FontRole and not group.read:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole and col in (2, 4):
            return alert.message or None
        return None
