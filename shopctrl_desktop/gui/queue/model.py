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
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QModelRoleDataSpan,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.queue import ItemChange
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.queue.columns import (
    COLUMNS,
    STATUS_COLOURS,
    Column,
    display_text,
    format_full_time,
)
from shopctrl_desktop.gui.table_model import ColumnsTableModel
from shopctrl_desktop.gui.theme import colour, is_dark
from shopctrl_desktop.store import browse
from shopctrl_desktop.store.browse import QueueFilter, QueueRow

log = logging.getLogger(__name__)

ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1
STATUS_ROLE = int(Qt.ItemDataRole.UserRole) + 2
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_ROLES = frozenset((_DISPLAY, _TOOLTIP, _ALIGN, _FOREGROUND, _BACKGROUND, _FONT, STATUS_ROLE))
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)
# Columns as plain ints where cells are made: an enum member look-up or comparison costs several times an
# int's, and these run for every cell of every row shown.
_COL_ID = int(Column.ID)
_COL_STATUS = int(Column.STATUS)
_COL_CREATED = int(Column.CREATED)
_COL_NEXT = int(Column.NEXT_ATTEMPT)
_RIGHT_ALIGNED = frozenset(int(c) for c in (Column.ID, Column.ATTEMPTS, Column.DURATION))
#: Columns whose text may be cut off: their tooltip is the whole text.
_LONG_TEXT = frozenset(int(c) for c in (Column.LAST_RESPONSE, Column.URL, Column.TRIGGER, Column.ENTITY))
_NO_COLOUR = (None, None)
_COLUMN_COUNT = len(COLUMNS)
FIRST_PAGE = 500
FIRST_SCREEN = 120  # rows fetched together with newly found ids (more than a screen holds)
CACHE_ROWS = 4000
REFRESH_INTERVAL_MS = 100  # live updates: at most ~10 refreshes a second
_DELETED = object()


class QueueTableModel(ColumnsTableModel):
    columns = COLUMNS

    loading_changed = Signal(bool)
    ids_loaded = Signal(int)  # number of items matching the filter
    load_failed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._ids: array[int] = array("q")
        self._cache: OrderedDict[int, object] = OrderedDict()
        #: What multiData() answers for a loaded row: per column, {role: value}. Built on the row's first
        #: paint, dropped when the row is re-read or leaves the cache; a repaint is then dict look-ups only.
        self._cells: dict[int, tuple[dict[int, Any], ...]] = {}
        self._filter = QueueFilter()
        self._generation = 0
        self._loading = False
        self._complete = False  # the full id list (not only the first page) is loaded
        self._pending_changes: set[int] = set()
        self._new_items_pending = False
        self._tick_running = False
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_INTERVAL_MS)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        self._bold = QFont()
        self._bold.setBold(True)
        self._colours_by_darkness: dict[bool, dict[str, tuple[QColor, QColor]]] = {}
        self._in_flight: set[int] = set()

    def _status_colours(self) -> dict[str, tuple[QColor, QColor]]:
        """The status badges' text and background colours for the current palette (light or dark)."""
        dark = is_dark()
        if dark not in self._colours_by_darkness:
            self._colours_by_darkness[dark] = {
                k: (colour(fg), colour(bg)) for k, (fg, bg) in STATUS_COLOURS.items()
            }
        return self._colours_by_darkness[dark]

    # -- Qt model API ---
    def index(
        self,
        row: int,
        column: int,
        parent: QModelIndex | QPersistentModelIndex = QModelIndex(),  # noqa: B008
    ) -> QModelIndex:
        """The C++ default asks rowCount() and columnCount() (two Python calls) for every cell it paints."""
        if parent.isValid() or not (0 <= row < len(self._ids) and 0 <= column < _COLUMN_COUNT):
            return QModelIndex()
        return self.createIndex(row, column)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    # flags(): the C++ default (enabled, selectable, no children) — no Python call per painted cell.

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        row_number = index.row()
        item_id = self.id_at(row_number)
        if role == ID_ROLE:
            return item_id
        if role not in _ROLES:
            return None
        return self._value(self._row(row_number, item_id), item_id, index.column(), role)

    def multiData(self, index: QModelIndex | QPersistentModelIndex, span: QModelRoleDataSpan) -> None:
        """Every role of a cell in one Python call (what an item delegate asks for), from the row's cells."""
        count = len(span)
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            for k in range(count):
                span[k].clearData()
            return
        values = self.painted_cells(index.row())[1][index.column()]
        for k in range(count):
            slot = span[k]
            value = values.get(slot.role())
            if value is None:
                slot.clearData()
            else:
                slot.setData(value)

    def forget_painted_cells(self) -> None:
        """Build the cells again on their next paint (the palette changed: light or dark badges)."""
        self._cells.clear()

    def painted_cells(self, row_number: int) -> tuple[int, tuple[dict[int, Any], ...]]:
        """The id of the item at ``row_number`` and, per column, ``{role: value}`` of its cells.

        A loaded row's cells are built on its first paint and kept until the row is re-read or leaves the
        cache (a repaint is then dict look-ups only; the view keeps its laid-out texts while the tuple is the
        same). A row not loaded yet answers placeholders and has its page fetched in the background.
        """
        item_id = self.id_at(row_number)
        cells = self._cells.get(item_id)
        if cells is not None and item_id in self._cache:
            self._cache.move_to_end(item_id)
            return item_id, cells
        row = self._row(row_number, item_id)
        if row is None:
            return item_id, self._row_cells(None, item_id)
        if len(self._cells) >= CACHE_ROWS:
            self._cells.clear()  # rows dropped from the cache without _store (a cleared cache)
        cells = self._cells[item_id] = self._row_cells(row, item_id)
        return item_id, cells

    def _row_cells(self, row: QueueRow | None, item_id: int) -> tuple[dict[int, Any], ...]:
        cells = []
        for col in range(_COLUMN_COUNT):
            values: dict[int, Any] = {ID_ROLE: item_id}
            for role in _ROLES:
                value = self._value(row, item_id, col, role)
                if value is not None:
                    values[role] = value
            cells.append(values)
        return tuple(cells)

    def _value(self, row: QueueRow | None, item_id: int, col: int, role: int) -> Any:
        if row is None:
            if role == _DISPLAY:
                if col == _COL_ID:
                    return str(item_id)
                if col == _COL_STATUS:
                    return "(deleted)" if self._cache.get(item_id) is _DELETED else "…"
                return ""
            if role == _ALIGN and col in _RIGHT_ALIGNED:
                return _RIGHT
            return None
        if role == _DISPLAY:
            return display_text(row, col)
        if role == STATUS_ROLE:
            return row.status
        if role == _TOOLTIP:
            if col in _LONG_TEXT:
                return display_text(row, col) or None
            if col == _COL_CREATED:
                return format_full_time(row.created_at)
            if col == _COL_NEXT and row.next_attempt_at is not None:
                return format_full_time(row.next_attempt_at)
            return None
        if role == _ALIGN:
            return _RIGHT if col in _RIGHT_ALIGNED else None
        if col != _COL_STATUS:
            return None
        if role == _FOREGROUND:
            return self._status_colours().get(row.status, _NO_COLOUR)[0]
        if role == _BACKGROUND:
            return self._status_colours().get(row.status, _NO_COLOUR)[1]
        if role == _FONT:
            return self._bold
        return None

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
            self._cells.clear()
            self._in_flight.clear()
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
    def is_row_loaded(self, row: int) -> bool:
        return 0 <= row < len(self._ids) and self.id_at(row) in self._cache

    def _row(self, row: int, item_id: int) -> QueueRow | None:
        hit = self._cache.get(item_id)
        if hit is None:
            self._request_page(row)
            return None
        self._cache.move_to_end(item_id)
        return hit if isinstance(hit, QueueRow) else None

    def _request_page(self, row: int) -> None:
        """Fetch the missing rows of the page around ``row`` on a worker; the cells fill in when they arrive.

        The GUI thread never waits for the database: under load (the engine busy in the same process) even
        a primary-key read can take tens of milliseconds to get the interpreter back.
        """
        start, end = max(0, row - 40), min(len(self._ids), row + 160)
        missing = [i for i in (self.id_at(r) for r in range(start, end)) if i not in self._cache]
        missing = [i for i in missing if i not in self._in_flight]
        if missing:
            self._fetch(missing)

    def _fetch(self, ids: list[int]) -> None:
        generation = self._generation
        self._in_flight.update(ids)
        db = self._ctx.db

        def query() -> dict[int, QueueRow]:
            with db.sessions() as s:
                return browse.fetch_rows(s, ids)

        def done(rows: dict[int, QueueRow]) -> None:
            self._in_flight.difference_update(ids)
            if generation != self._generation:
                return
            self._store(ids, rows)
            self._emit_changed(ids)

        def failed(message: str) -> None:
            self._in_flight.difference_update(ids)
            log.warning("fetching queue rows failed: %s", message)

        run_in_background(query, done, failed, owner=self)

    def _store(self, ids: Iterable[int], rows: dict[int, QueueRow]) -> None:
        cells = self._cells
        for item_id in ids:
            self._cache[item_id] = rows.get(item_id, _DELETED)
            self._cache.move_to_end(item_id)
            cells.pop(item_id, None)
        while len(self._cache) > CACHE_ROWS:
            cells.pop(self._cache.popitem(last=False)[0], None)

    def _emit_changed(self, ids: Iterable[int]) -> None:
        positions = sorted(r for r in (self.row_of(i) for i in ids) if r is not None)
        for first, last in _runs(positions):
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

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

    def _on_refresh_timer_timeout(self) -> None:
        """One worker job per tick: the changed rows on screen and any newer ids (with their first page of
        rows), applied together so the table repaints once."""
        if self._loading or self._tick_running:
            if not self._loading:
                self._refresh_timer.start()
            return  # _finish_load / the running tick restart the timer
        changed, self._pending_changes = self._pending_changes, set()
        busy = {i for i in changed if i in self._in_flight}
        self._pending_changes |= busy  # an older read is in flight: re-read after it landed
        after = self._ids[-1] if self._ids else 0
        flt, db = self._filter, self._ctx.db
        # A changed item may enter or leave a filtered view ("Failed", "Waiting"): re-check it against the
        # filter (items newer than the newest shown are found by the look for new ids below).
        recheck = sorted(i for i in changed if i not in busy and i <= after) if not flt.is_empty else []
        refetch = [i for i in changed if i in self._cache and i not in busy]
        look_for_new = self._new_items_pending
        self._new_items_pending = False
        if not refetch and not look_for_new and not recheck:
            if self._pending_changes:
                self._refresh_timer.start()
            return
        generation = self._generation
        self._tick_running = True
        self._in_flight.update(refetch)

        def work() -> tuple[array[int], set[int], dict[int, QueueRow]]:
            with db.sessions() as s:
                fresh = browse.item_ids(s, flt, after_id=after) if look_for_new else array("q")
                matching = browse.matching_ids(s, flt, recheck) if recheck else set()
                entering = sorted(matching.difference(refetch))
                wanted = list(refetch) + entering + list(fresh[-FIRST_SCREEN:])
                return fresh, matching, browse.fetch_rows(s, wanted) if wanted else {}

        def done(result: tuple[array[int], set[int], dict[int, QueueRow]]) -> None:
            self._finish_tick(refetch)
            if generation != self._generation:
                return
            fresh, matching, rows = result
            fresh = fresh[bisect.bisect_right(fresh, self._ids[-1]) :] if self._ids else fresh
            self._store(refetch, rows)
            self._store([i for i in fresh[-FIRST_SCREEN:]], rows)
            self._store([i for i in matching if i in rows], rows)
            membership_changed = self._apply_membership(recheck, matching)
            if fresh:
                self._prepend(fresh)
            if fresh or membership_changed:
                self.ids_loaded.emit(len(self._ids))
            self._emit_changed(refetch)

        def failed(message: str) -> None:
            self._finish_tick(refetch)
            log.warning("refreshing the queue table failed: %s", message)

        run_in_background(work, done, failed, owner=self)

    def _apply_membership(self, checked: list[int], matching: set[int]) -> bool:
        """Remove the rows of ``checked`` ids that no longer match the filter; insert those that now do."""
        changed = False
        for item_id in checked:
            pos = bisect.bisect_left(self._ids, item_id)
            shown = pos < len(self._ids) and self._ids[pos] == item_id
            if shown and item_id not in matching:
                row = len(self._ids) - 1 - pos
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._ids[pos]
                self.endRemoveRows()
                changed = True
            elif not shown and item_id in matching:
                row = len(self._ids) - pos
                self.beginInsertRows(QModelIndex(), row, row)
                self._ids.insert(pos, item_id)
                self.endInsertRows()
                changed = True
        return changed

    def _finish_tick(self, refetched: list[int]) -> None:
        self._tick_running = False
        self._in_flight.difference_update(refetched)
        if self._pending_changes or self._new_items_pending:
            self._refresh_timer.start()

    def refresh_ids(self, ids: Iterable[int]) -> None:
        """Re-read these rows soon (after a GUI action on them)."""
        self._pending_changes.update(ids)
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for p in positions:
        if runs and p == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return runs
