"""The Queue page's filter bar: status, trigger, event, date range and free text -> a QueueFilter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QDateTime, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QDateTimeEdit, QHBoxLayout, QLabel, QLineEdit, QWidget

from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.domain.queue import WAITING_STATUSES, status_values
from shopctrl_desktop.gui.queue.columns import event_label, status_label
from shopctrl_desktop.store.browse import QueueFilter

#: (label, statuses) of the status filter; the statuses as plain strings, like the rows' (and the SQL's).
STATUS_CHOICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("All statuses", ()),
    (f"Waiting ({', '.join(status_values(WAITING_STATUSES))})", status_values(WAITING_STATUSES)),
    *(
        (status_label(status.value), (status.value,))
        for status in (
            ItemStatus.QUEUED,
            ItemStatus.SENDING,
            ItemStatus.RETRYING,
            ItemStatus.DELIVERED,
            ItemStatus.FAILED,
            ItemStatus.CANCELLED,
        )
    ),
)
RANGE_CHOICES: tuple[tuple[str, timedelta | None], ...] = (
    ("Any time", None),
    ("Last hour", timedelta(hours=1)),
    ("Last 24 hours", timedelta(days=1)),
    ("Last 7 days", timedelta(days=7)),
    ("Last 30 days", timedelta(days=30)),
    ("Custom range…", None),
)
CUSTOM_RANGE = len(RANGE_CHOICES) - 1
ALL_TRIGGERS = "All triggers"
ALL_EVENTS = "All events"


@dataclass(frozen=True)
class FilterState:
    """What the filter bar shows, to put back later ("Back to your filter" after opening an alert's item)."""

    status: int
    trigger: str | None
    event: str | None
    range: int
    date_from: QDateTime
    date_to: QDateTime
    text: str


class QueueFilterBar(QWidget):
    filter_changed = Signal(object)  # QueueFilter

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status_combo = QComboBox()
        self.status_combo.setObjectName("status_filter")
        for label, _ in STATUS_CHOICES:
            self.status_combo.addItem(label)
        # the labels are short and fixed: the combo is as wide as the longest ("Waiting (queued, retrying)")
        self.status_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.trigger_combo = QComboBox()
        self.trigger_combo.setObjectName("trigger_filter")
        self.trigger_combo.addItem(ALL_TRIGGERS)
        self.trigger_combo.setMinimumContentsLength(10)
        self.trigger_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.event_combo = QComboBox()
        self.event_combo.setObjectName("event_filter")
        self.event_combo.addItem(ALL_EVENTS)
        self.event_combo.setMinimumContentsLength(10)
        self.event_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.range_combo = QComboBox()
        self.range_combo.setObjectName("range_filter")
        for label, _ in RANGE_CHOICES:
            self.range_combo.addItem(label)
        now = QDateTime.currentDateTime()
        self.date_from = QDateTimeEdit(now.addDays(-1))
        self.date_to = QDateTimeEdit(now.addSecs(3600))
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setVisible(False)
        self.dash = QLabel("–")
        self.dash.setVisible(False)
        self.text_edit = QLineEdit()
        self.text_edit.setObjectName("text_filter")
        self.text_edit.setClearButtonEnabled(True)
        self.text_edit.setPlaceholderText("Search trigger, URL, entity, response…  (#123 for an item id)")
        self.text_edit.setMinimumWidth(150)

        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (
            self.status_combo,
            self.trigger_combo,
            self.event_combo,
            self.range_combo,
            self.date_from,
            self.dash,
            self.date_to,
        ):
            lay.addWidget(w)
        lay.addWidget(self.text_edit, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self._emit)
        for combo in (self.status_combo, self.trigger_combo, self.event_combo):
            combo.currentIndexChanged.connect(self._emit)
        self.range_combo.currentIndexChanged.connect(self._on_range_combo_currentIndexChanged)
        self.date_from.dateTimeChanged.connect(self._debounce.start)
        self.date_to.dateTimeChanged.connect(self._debounce.start)
        self.text_edit.textChanged.connect(self._debounce.start)

    def set_choices(self, triggers: list[str], events: list[str]) -> None:
        """Offer these trigger titles and events (system names, shown by their display names, "Order
        changed"); keeps the current choice."""
        for combo, first, values in (
            (self.trigger_combo, ALL_TRIGGERS, [(t, t) for t in triggers]),
            (self.event_combo, ALL_EVENTS, sorted(((event_label(e), e) for e in events), key=_by_label)),
        ):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(first, None)
            for label, value in values:
                combo.addItem(label, value)
            index = combo.findData(current) if current is not None else 0
            combo.setCurrentIndex(max(0, index))
            combo.blockSignals(False)

    def state(self) -> FilterState:
        return FilterState(
            status=self.status_combo.currentIndex(),
            trigger=self.trigger_combo.currentData(),
            event=self.event_combo.currentData(),
            range=self.range_combo.currentIndex(),
            date_from=self.date_from.dateTime(),
            date_to=self.date_to.dateTime(),
            text=self.text_edit.text(),
        )

    def restore(self, state: FilterState) -> None:
        """Show ``state`` again without emitting filter_changed (the caller runs the filter)."""
        self.blockSignals(True)
        try:
            self.status_combo.setCurrentIndex(state.status)
            for combo, value in ((self.trigger_combo, state.trigger), (self.event_combo, state.event)):
                combo.setCurrentIndex(max(0, combo.findData(value)) if value is not None else 0)
            self.range_combo.setCurrentIndex(state.range)
            self.date_from.setDateTime(state.date_from)
            self.date_to.setDateTime(state.date_to)
            self.text_edit.setText(state.text)
        finally:
            self.blockSignals(False)
        self._debounce.stop()

    def show_only_item(self, item_id: int) -> None:
        """Every choice back to "all" and ``#item_id`` as the text, without emitting filter_changed."""
        state = self.state()
        self.restore(FilterState(0, None, None, 0, state.date_from, state.date_to, f"#{item_id}"))

    def set_status(self, statuses: tuple[str, ...]) -> None:
        for i, (_, values) in enumerate(STATUS_CHOICES):
            if values == statuses:
                self.status_combo.setCurrentIndex(i)
                return

    def current_filter(self) -> QueueFilter:
        statuses = STATUS_CHOICES[self.status_combo.currentIndex()][1]
        trigger = self.trigger_combo.currentData() if self.trigger_combo.currentIndex() > 0 else None
        event = self.event_combo.currentData() if self.event_combo.currentIndex() > 0 else None
        created_from = created_to = None
        index = self.range_combo.currentIndex()
        if index == CUSTOM_RANGE:
            created_from = self.date_from.dateTime().toPython().astimezone(UTC)
            created_to = self.date_to.dateTime().toPython().astimezone(UTC)
        elif RANGE_CHOICES[index][1] is not None:
            created_from = datetime.now(UTC) - RANGE_CHOICES[index][1]  # type: ignore[operator]
        return QueueFilter(
            statuses=statuses,
            trigger_title=trigger,
            event=event,
            created_from=created_from,
            created_to=created_to,
            text=self.text_edit.text().strip(),
        )

    def _on_range_combo_currentIndexChanged(self, index: int) -> None:
        custom = index == CUSTOM_RANGE
        for w in (self.date_from, self.dash, self.date_to):
            w.setVisible(custom)
        self._emit()

    def _emit(self) -> None:
        self._debounce.stop()
        self.filter_changed.emit(self.current_filter())


def _by_label(choice: tuple[str, str]) -> str:
    return choice[0].casefold()
