"""The queue table model: only row ids in memory, rows fetched lazily by page with a small LRU cache.

Anki's browser table is the pattern. The ids (ascending, an ``array('q')``: 8 bytes per item) come from
a background query; the table shows them newest first. ``data()`` fetches the missing rows around the one
asked for in one primary-key query (a few milliseconds), so scrolling a million rows stays smooth.
Live engine changes are coalesced by a timer into at most ~10 refreshes a second.
"""

from __future__ import annotations

import bisect
import logging
from array import array
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from shopctrl_desktop.domain.model import Priority
from shopctrl_desktop.engine.progress import ItemChange
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.context import AppContext
from shopctrl_desktop.store import browse
from shopctrl_desktop.store.browse import QueueFilter, QueueRow

log = logging.getLogger(__name__)

COLUMNS = (
    "ID",
    "Created",
    "Priority",
    "Status",
    "Trigger",
    "Event",
    "Entity",
    "URL",
    "Attempts",
    "Next attempt",
    "Last response",
    "Duration",
)
COL_ID, COL_CREATED, COL_PRIORITY, COL_STATUS = 0, 1, 2, 3
COL_ATTEMPTS, COL_NEXT, COL_RESPONSE, COL_DURATION = 8, 9, 10, 11
#: Foreground, background of the status cell.
STATUS_COLOURS = {
    "queued": ("#1f4e9c", "#e3ecfb"),
    "sending": ("#5b2a9a", "#efe6fa"),
    "delivered": ("#1d6b32", "#e2f4e6"),
    "retrying": ("#8a5300", "#fdf0d9"),
    "failed": ("#a61b1b", "#fbe3e3"),
    "cancelled": ("#5f6368", "#eeeeee"),
}
ID_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2
FIRST_PAGE = 500
CACHE_ROWS = 4000
REFRESH_INTERVAL_MS = 100  # live updates: at most ~10 refreshes a second
_DELETED = object()


def format_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def format_duration(ms: float | None) -> str:
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"


def priority_label(value: int) -> str:
    try:
        return Priority(value).label
    except ValueError:
        return str(value)


class QueueTableModel(QAbstractTableModel):
    loading_changed = Signal(bool)
    ids_loaded = Signal(int)  # number of items matching the filter
    load_failed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._ids: array[int] = array("q")
        self._cache: OrderedDict[int, object] = OrderedDict()
        self._filter = QueueFilter()
        self._generation = 0
        self._loading = False
        self._complete = False  # the full id list (not only the first page) is loaded
        self._pending_changes: set[int] = set()
        self._new_items_pending = False
        self._new_query_running = False
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_INTERVAL_MS)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        self._bold = QFont()
        self._bold.setBold(True)

    # -- Qt model API ---------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if 0 <= section < len(COLUMNS):
                return COLUMNS[section]
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        item_id = self.id_at(index.row())
        if role == ID_ROLE:
            return item_id
        if role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.ForegroundRole,
            Qt.ItemDataRole.BackgroundRole,
            Qt.ItemDataRole.TextAlignmentRole,
            Qt.ItemDataRole.FontRole,
            STATUS_ROLE,
        ):
            return None
        row = self._row(index.row(), item_id)
        col = index.column()
        if row is None:
            if role == Qt.ItemDataRole.DisplayRole:
                return str(item_id) if col == COL_ID else ("(deleted)" if col == COL_STATUS else "")
            return None
        if role == STATUS_ROLE:
            return row.status
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col in (COL_RESPONSE, 7, 4, 6):
                return self._display(row, col) or None
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col in (COL_ID, COL_ATTEMPTS, COL_DURATION):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        if col != COL_STATUS:
            return None
        fg, bg = STATUS_COLOURS.get(row.status, ("#000000", "#ffffff"))
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor(fg)
        if role == Qt.ItemDataRole.BackgroundRole:
            return QColor(bg)
        if role == Qt.ItemDataRole.FontRole:
            return self._bold
        return None

    @staticmethod
    def _display(row: QueueRow, col: int) -> str:
        if col == COL_ID:
            return str(row.id)
        if col == COL_CREATED:
            return format_time(row.created_at)
        if col == COL_PRIORITY:
            return priority_label(row.priority)
        if col == COL_STATUS:
            return row.status.capitalize()
        if col == 4:
            return row.trigger_title
        if col == 5:
            return row.event_name
        if col == 6:
            return row.entity
        if col == 7:
            return row.url
        if col == COL_ATTEMPTS:
            return str(row.attempts)
        if col == COL_NEXT:
            return format_time(row.next_attempt_at) if row.status in ("queued", "retrying") else ""
        if col == COL_RESPONSE:
            return row.last_response.replace("\n", " ")[:300]
        if col == COL_DURATION:
            return format_duration(row.duration_ms)
        return ""

    # -- ids ------------------------------------------------------------------------------------------
    @property
    def current_filter(self) -> QueueFilter:
        return self._filter

    @property
    def is_loading(self) -> bool:
        return self._loading

    @property
    def is_complete(self) -> bool:
        return self._complete

    def id_at(self, row: int) -> int:
        return self._ids[len(self._ids) - 1 - row]

    def row_of(self, item_id: int) -> int | None:
        pos = bisect.bisect_left(self._ids, item_id)
        if pos < len(self._ids) and self._ids[pos] == item_id:
            return len(self._ids) - 1 - pos
        return None

    def cached_row(self, item_id: int) -> QueueRow | None:
        row = self._cache.get(item_id)
        return row if isinstance(row, QueueRow) else None

    def set_filter(self, flt: QueueFilter) -> None:
        """Run the filter in SQL: first the newest page (shown at once), then the full id list."""
        self._filter = flt
        self._generation += 1
        generation = self._generation
        self._set_loading(True)
        self._complete = False
        db = self._ctx.db

        def first_page() -> array[int]:
            with db.sessions() as s:
                return browse.newest_ids(s, flt, FIRST_PAGE)

        def full_list() -> array[int]:
            with db.sessions() as s:
                return browse.item_ids(s, flt)

        def on_first(ids: array[int]) -> None:
            if generation != self._generation:
                return
            self.beginResetModel()
            self._ids = ids
            self._cache.clear()
            self.endResetModel()
            if len(ids) < FIRST_PAGE:
                self._finish_load()
            else:
                run_in_background(full_list, on_full, self._on_load_failed, owner=self)

        def on_full(ids: array[int]) -> None:
            if generation != self._generation:
                return
            self._merge_ids(ids)
            self._finish_load()

        run_in_background(first_page, on_first, self._on_load_failed, owner=self)

    def reload(self) -> None:
        self.set_filter(self._filter)

    def _finish_load(self) -> None:
        self._complete = True
        self._set_loading(False)
        self.ids_loaded.emit(len(self._ids))
        if self._new_items_pending or self._pending_changes:
            self._refresh_timer.start()

    def _on_load_failed(self, message: str) -> None:
        self._set_loading(False)
        self.load_failed.emit(message)

    def _set_loading(self, loading: bool) -> None:
        if loading != self._loading:
            self._loading = loading
            self.loading_changed.emit(loading)

    def _merge_ids(self, full: array[int]) -> None:
        """Add the ids of ``full`` older or newer than the ones shown (the rows in between stay)."""
        if not self._ids:
            if full:
                self.beginInsertRows(QModelIndex(), 0, len(full) - 1)
                self._ids = full
                self.endInsertRows()
            return
        lo, hi = self._ids[0], self._ids[-1]
        older = full[: bisect.bisect_left(full, lo)]
        newer = full[bisect.bisect_right(full, hi) :]
        if older:
            n = len(self._ids)
            self.beginInsertRows(QModelIndex(), n, n + len(older) - 1)
            self._ids = older + self._ids
            self.endInsertRows()
        if newer:
            self._prepend(newer)

    def _prepend(self, newer: array[int]) -> None:
        """Newer ids appear at the top (the table shows newest first)."""
        self.beginInsertRows(QModelIndex(), 0, len(newer) - 1)
        self._ids.extend(newer)
        self.endInsertRows()

    # -- rows -----------------------------------------------------------------------------------------
    def _row(self, row: int, item_id: int) -> QueueRow | None:
        hit = self._cache.get(item_id)
        if hit is None:
            self._fetch_around(row)
            hit = self._cache.get(item_id)
        else:
            self._cache.move_to_end(item_id)
        return hit if isinstance(hit, QueueRow) else None

    def _fetch_around(self, row: int) -> None:
        """One primary-key query for the missing rows of the page around ``row``."""
        start, end = max(0, row - 40), min(len(self._ids), row + 160)
        wanted = [self.id_at(r) for r in range(start, end)]
        missing = [i for i in wanted if i not in self._cache]
        self._store(missing, self._query_rows(missing))

    def _query_rows(self, ids: list[int]) -> dict[int, QueueRow]:
        if not ids:
            return {}
        try:
            with self._ctx.db.sessions() as s:
                return browse.fetch_rows(s, ids)
        except Exception:  # noqa: BLE001 - a broken connection must not kill the view
            log.exception("fetching queue rows failed")
            return {}

    def _store(self, ids: Iterable[int], rows: dict[int, QueueRow]) -> None:
        for item_id in ids:
            self._cache[item_id] = rows.get(item_id, _DELETED)
            self._cache.move_to_end(item_id)
        while len(self._cache) > CACHE_ROWS:
            self._cache.popitem(last=False)

    # -- live updates ---------------------------------------------------------------------------------
    def note_changes(self, changes: list[ItemChange]) -> None:
        """Engine signal: these items changed. Applied on the next refresh tick."""
        for change in changes:
            self._pending_changes.add(change.item_id)
        if self._ids and any(c.item_id > self._ids[-1] for c in changes):
            self._new_items_pending = True
        elif not self._ids and changes:
            self._new_items_pending = True
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def note_new_items(self) -> None:
        """Something was queued (ours or another process'); look for newer ids on the next tick."""
        self._new_items_pending = True
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def refresh_ids(self, ids: Iterable[int]) -> None:
        """Re-read these rows now (after a GUI action on them)."""
        self._apply_changes(set(ids))

    def _on_refresh_timer_timeout(self) -> None:
        if self._loading:
            return  # _finish_load restarts the timer
        changed, self._pending_changes = self._pending_changes, set()
        self._apply_changes(changed)
        if self._new_items_pending and not self._new_query_running:
            self._new_items_pending = False
            self._query_new_ids()

    def _apply_changes(self, changed: set[int]) -> None:
        shown = [i for i in changed if i in self._cache]
        if not shown:
            return
        rows = self._query_rows(shown)
        self._store(shown, rows)
        positions = sorted(r for r in (self.row_of(i) for i in shown) if r is not None)
        for first, last in _runs(positions):
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def _query_new_ids(self) -> None:
        generation = self._generation
        after = self._ids[-1] if self._ids else 0
        flt, db = self._filter, self._ctx.db
        self._new_query_running = True

        def query() -> array[int]:
            with db.sessions() as s:
                return browse.item_ids(s, flt, after_id=after)

        def done(ids: array[int]) -> None:
            self._new_query_running = False
            if generation != self._generation:
                return
            fresh = ids[bisect.bisect_right(ids, self._ids[-1]) :] if self._ids else ids
            if fresh:
                self._prepend(fresh)
                self.ids_loaded.emit(len(self._ids))
            if self._new_items_pending:
                self._refresh_timer.start()

        def failed(message: str) -> None:
            self._new_query_running = False
            log.warning("looking for new queue items failed: %s", message)

        run_in_background(query, done, failed, owner=self)


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for p in positions:
        if runs and p == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return runs
