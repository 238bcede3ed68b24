"""A thin table model over a plain list of Trigger value objects (named roles, enabled as a checkbox)."""

from __future__ import annotations

from dataclasses import replace
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QByteArray, QModelIndex, QPersistentModelIndex, Qt, Signal

from shopctrl_desktop.domain.events import find_event
from shopctrl_desktop.domain.model import Trigger

Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    TITLE = 0
    EVENT = 1
    SHOP = 2
    ACTIONS = 3
    ENABLED = 4


HEADERS = {
    Column.TITLE: "Title",
    Column.EVENT: "Event",
    Column.SHOP: "Shop",
    Column.ACTIONS: "Actions",
    Column.ENABLED: "Enabled",
}


class Role(IntEnum):
    TRIGGER = Qt.ItemDataRole.UserRole + 1
    TRIGGER_ID = Qt.ItemDataRole.UserRole + 2
    ENABLED = Qt.ItemDataRole.UserRole + 3


ROLE_NAMES = {Role.TRIGGER: b"trigger", Role.TRIGGER_ID: b"triggerId", Role.ENABLED: b"enabled"}


def event_display_name(system_name: str) -> str:
    event_type = find_event(system_name)
    return event_type.display_name if event_type else system_name


def shop_label(shop_id: int | None, shop_names: dict[int, str]) -> str:
    if shop_id is None:
        return "All shops"
    return shop_names.get(shop_id) or f"Shop {shop_id}"


class TriggerTableModel(QAbstractTableModel):
    """Rows are Trigger objects. Ticking "Enabled" changes the row and announces ``enabled_changed``;
    the page stores it (and calls ``set_enabled`` back if storing fails)."""

    enabled_changed = Signal(int, bool)  # trigger id, enabled

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._triggers: list[Trigger] = []
        self._shop_names: dict[int, str] = {}
        self.read_only = False  # the login may not change triggers: the Enabled box is shown, not ticked

    # --- plain-list API -------------------------------------------------------------------------
    def set_triggers(self, triggers: list[Trigger], shop_names: dict[int, str] | None = None) -> None:
        self.beginResetModel()
        self._triggers = list(triggers)
        self._shop_names = dict(shop_names or {})
        self.endResetModel()

    def triggers(self) -> list[Trigger]:
        return list(self._triggers)

    def trigger_at(self, row: int) -> Trigger | None:
        return self._triggers[row] if 0 <= row < len(self._triggers) else None

    def row_of(self, trigger_id: int | None) -> int:
        for row, trigger in enumerate(self._triggers):
            if trigger.id == trigger_id:
                return row
        return -1

    def set_enabled(self, trigger_id: int, enabled: bool) -> None:
        row = self.row_of(trigger_id)
        if row < 0 or self._triggers[row].enabled == enabled:
            return
        self._triggers[row] = replace(self._triggers[row], enabled=enabled)
        index = self.index(row, Column.ENABLED)
        self.dataChanged.emit(index, index)

    # --- Qt model API ---------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._triggers)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(Column)

    def roleNames(self) -> dict[int, QByteArray]:  # noqa: N802
        names = dict(super().roleNames())
        names.update({int(role): QByteArray(name) for role, name in ROLE_NAMES.items()})
        return names

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(Column)
        ):
            return HEADERS[Column(section)]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._triggers)):
            return None
        trigger = self._triggers[index.row()]
        column = Column(index.column())
        if role == Role.TRIGGER:
            return trigger
        if role == Role.TRIGGER_ID:
            return trigger.id
        if role == Role.ENABLED:
            return trigger.enabled
        if role == Qt.ItemDataRole.DisplayRole:
            if column == Column.TITLE:
                return trigger.title
            if column == Column.EVENT:
                return event_display_name(trigger.event)
            if column == Column.SHOP:
                return shop_label(trigger.shop_id, self._shop_names)
            if column == Column.ACTIONS:
                return str(len(trigger.actions))
            return None
        if role == Qt.ItemDataRole.CheckStateRole and column == Column.ENABLED:
            return Qt.CheckState.Checked if trigger.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == Column.EVENT:
                return trigger.event
            if column == Column.ACTIONS:
                return "\n".join(f"{a.method} {a.url}" for a in trigger.actions) or "No actions"
            if column == Column.ENABLED:
                return (
                    "Enabled: events start this trigger"
                    if trigger.enabled
                    else "Disabled: events are ignored"
                )
        if role == Qt.ItemDataRole.TextAlignmentRole and column == Column.ACTIONS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == Column.ENABLED and not self.read_only:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if (
            self.read_only
            or not index.isValid()
            or index.column() != Column.ENABLED
            or role != Qt.ItemDataRole.CheckStateRole
        ):
            return False
        trigger = self._triggers[index.row()]
        enabled = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) else value
        if trigger.enabled == enabled:
            return True
        self._triggers[index.row()] = replace(trigger, enabled=enabled)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole, Role.ENABLED])
        if trigger.id is not None:
            self.enabled_changed.emit(trigger.id, enabled)
        return True
