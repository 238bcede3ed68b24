"""Event picker: a combo box grouped by area (bold, unselectable headers) with type-to-search."""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

from shopctrl_desktop.domain.events import AREAS, CATALOGUE, EventType, find_event

SYSTEM_NAME_ROLE = Qt.ItemDataRole.UserRole + 1


def build_event_model(parent: QWidget | None = None) -> QStandardItemModel:
    model = QStandardItemModel(parent)
    bold = QFont()
    bold.setBold(True)
    areas = list(AREAS) + sorted({e.area for e in CATALOGUE} - set(AREAS))
    for area in areas:
        events = sorted((e for e in CATALOGUE if e.area == area), key=lambda e: e.display_name.lower())
        if not events:
            continue
        header = QStandardItem(area)
        header.setFont(bold)
        header.setFlags(Qt.ItemFlag.NoItemFlags)
        model.appendRow(header)
        for event_type in events:
            item = QStandardItem("    " + event_type.display_name)
            item.setData(event_type.system_name, SYSTEM_NAME_ROLE)
            item.setToolTip(f"{event_type.system_name} — {event_type.area}")
            model.appendRow(item)
    return model


class EventPicker(QComboBox):
    """Pick one catalogue event. Typing filters the names (anywhere in the name, any case)."""

    event_changed = Signal(str)  # system name, "" when nothing valid is chosen

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMaxVisibleItems(20)
        self.setModel(build_event_model(self))
        self.lineEdit().setPlaceholderText("Type to search, e.g. “order changed”")
        names = sorted((e.display_name for e in CATALOGUE), key=str.lower)
        completer = QCompleter(QStringListModel(names, self), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.setMaxVisibleItems(12)
        self.setCompleter(completer)
        completer.activated.connect(self._on_completer_activated)
        self.currentIndexChanged.connect(self._on_current_index_changed)
        self.lineEdit().editingFinished.connect(self._on_editing_finished)
        self.lineEdit().textEdited.connect(self._emit_if_changed)
        self._last_emitted: str | None = None
        self.setCurrentIndex(-1)

    def system_name(self) -> str:
        """The chosen event's system name, or "" when the text names no catalogue event."""
        event_type = self.event_type()
        return event_type.system_name if event_type else ""

    def event_type(self) -> EventType | None:
        text = self.currentText().strip()
        return find_event(text) if text else None

    def set_event(self, name: str | None) -> None:
        event_type = find_event(name) if name else None
        if event_type is None:
            self.setCurrentIndex(-1)
            self.setEditText(name or "")
        else:
            row = self.findData(event_type.system_name, SYSTEM_NAME_ROLE)
            self.setCurrentIndex(row)
            self.setEditText(event_type.display_name)
        self._emit_if_changed()

    def _on_completer_activated(self, text: str) -> None:
        self.set_event(text)

    def _on_current_index_changed(self, row: int) -> None:
        if row < 0:
            return
        system_name = self.itemData(row, SYSTEM_NAME_ROLE)
        event_type = find_event(system_name) if system_name else None
        if event_type is not None:
            self.setEditText(event_type.display_name)
        self._emit_if_changed()

    def _on_editing_finished(self) -> None:
        event_type = self.event_type()
        if event_type is not None and self.currentText() != event_type.display_name:
            self.set_event(event_type.system_name)
        self._emit_if_changed()

    def _emit_if_changed(self, *_args: object) -> None:
        name = self.system_name()
        if name != self._last_emitted:
            self._last_emitted = name
            self.event_changed.emit(name)


__all__ = ["EventPicker", "build_event_model"]
