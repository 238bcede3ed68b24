"""The Endpoints page (SPEC §11, docs/endpoints.md "The Endpoints page"): every endpoint with its state,
success rates, latency, item counts and a 24-hour trend; the selected endpoint's chart of deliveries and
failures per minute; Pause / Resume; "Retry everything that failed since the outage began".

Everything is read in the background (gui/background.py). Live changes (the engine's signals, other
workstations' through gui/live.py) reload the page at most once a second, and only while it is shown; the
status bar's circuit note (:attr:`circuit_note_changed`) is reloaded on the same beat whether shown or not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QItemSelection, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.breaker import short_name
from shopctrl_desktop.domain.rate_limit import rate_text
from shopctrl_desktop.domain.roles import Capability
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.endpoints.chart import MinuteChart
from shopctrl_desktop.gui.endpoints.model import (
    COL_ENDPOINT,
    COL_TREND,
    EndpointsModel,
    MiddleElideDelegate,
    TrendDelegate,
)
from shopctrl_desktop.gui.endpoints.rate_dialog import RateLimitDialog
from shopctrl_desktop.gui.permissions import read_only_reason
from shopctrl_desktop.gui.table_model import log_table, table_over_detail
from shopctrl_desktop.store import endpoint_stats as stats
from shopctrl_desktop.store import endpoints as endpoint_store

#: Live changes reload the page at most this often.
REFRESH_MS = 1000
WIDTHS = (270, 105, 58, 58, 115, 60, 64, 56, 110, 170, 70)


def offline_text(since_iso: str | None) -> str:
    """ "Offline — deliveries paused since 10:42" (local time) from the engine's ISO 8601 UTC detail."""
    try:
        since = datetime.fromisoformat(since_iso).astimezone().strftime("%H:%M") if since_iso else ""
    except ValueError:
        since = ""
    return f"Offline — deliveries paused since {since}" if since else "Offline — deliveries paused"


def _items(n: int) -> str:
    return f"{n:,} item" + ("" if n == 1 else "s")


class EndpointsPage(QWidget):
    message_posted = Signal(str)
    #: Items were released or retried: the engine should look at the queue now.
    items_requeued = Signal()
    #: store/endpoint_stats.py CircuitNote, or None when no circuit is open.
    circuit_note_changed = Signal(object)
    #: A load finished (rows and chart shown); for tests and screenshots.
    loaded = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("endpoints_page")
        self.ctx = ctx
        self.model = EndpointsModel(self)
        self.table = log_table(self, self.model, "endpoints_table", WIDTHS)
        self.table.setItemDelegateForColumn(COL_TREND, TrendDelegate(self.table))
        self.table.setItemDelegateForColumn(COL_ENDPOINT, MiddleElideDelegate(self.table))
        self.chart = MinuteChart()
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pause_endpoint")
        self.pause_button.setToolTip(
            "Hold deliveries to this endpoint; its items wait and keep their attempts"
        )
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("resume_endpoint")
        self.resume_button.setToolTip(
            "Deliver again now (also closes an open circuit: “I fixed it, send now”)"
        )
        self.rate_button = QPushButton("Rate limit…")
        self.rate_button.setObjectName("rate_limit_endpoint")
        self.rate_button.setToolTip("Limit how many requests a second go to this endpoint")
        self.retry_button = QPushButton("Retry everything that failed since the outage began…")
        self.retry_button.setObjectName("retry_since_outage")
        self.refresh_button = QPushButton("Refresh")
        self.summary = QLabel()
        self.summary.setObjectName("endpoints_summary")
        self.offline_banner = QLabel()  # "Offline — deliveries paused since 10:42" above the table
        self.offline_banner.setObjectName("endpoints_offline")
        self.offline_banner.setStyleSheet("font-weight: bold; padding: 4px;")
        self.offline_banner.setToolTip(
            "This workstation has no network. Items wait without spending attempts and are sent as soon as "
            "the network is back."
        )
        self.offline_banner.setVisible(False)
        self._offline_since: str | None = None
        self._offline = False
        bar = QHBoxLayout()
        for button in (self.pause_button, self.resume_button, self.rate_button, self.retry_button):
            bar.addWidget(button)
        bar.addStretch(1)
        bar.addWidget(self.summary)
        bar.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.offline_banner)
        self.splitter = table_over_detail("endpoints_splitter", self.table, self.chart, 4)
        self.splitter.setSizes([260, 440])  # a shop has a handful of endpoints: room for the chart
        layout.addWidget(self.splitter, 1)

        self.pause_button.clicked.connect(self.pause_selected)
        self.resume_button.clicked.connect(self.resume_selected)
        self.retry_button.clicked.connect(self.retry_since_outage)
        self.rate_button.clicked.connect(self.edit_rate_limit)
        self.refresh_button.clicked.connect(self.reload)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        self._stale = True
        self._selected_key: str | None = None
        self.retry_box: QMessageBox | None = None
        self.rate_dialog: RateLimitDialog | None = None
        self._may_limit = Capability.EDIT_SETTINGS in ctx.identity.capabilities  # admin only
        self._may_pause = Capability.PAUSE_ENDPOINTS in ctx.identity.capabilities
        self._may_retry = Capability.RETRY_CANCEL in ctx.identity.capabilities
        self._update_buttons()

    # -- loading ----------------------------------------------------------------------------------------
    def start(self) -> None:
        self.load_note()
        if self.isVisible():
            self.reload()

    def note_changes(self, *_: Any) -> None:
        """Something changed (items, alerts, counts): reload within a second, at most once a second."""
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _on_refresh_timer_timeout(self) -> None:
        self.load_note()
        if self.isVisible():
            self.reload()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.reload()

    def set_offline(self, since_iso: str | None) -> None:
        """The engine reports this workstation offline since ``since_iso`` (ISO 8601 UTC; None: online again):
        the banner above the table, and endpoints with waiting items read "offline"."""
        offline = since_iso is not None
        self.offline_banner.setText(offline_text(since_iso) if offline else "")
        self.offline_banner.setVisible(offline)
        if offline == self._offline and since_iso == self._offline_since:
            return
        self._offline, self._offline_since = offline, since_iso
        if self.isVisible():
            self.reload()
        else:
            self._stale = True

    def reload(self) -> None:
        self._stale = False
        db = self.ctx.db
        key = self._selected_key
        offline = self._offline

        def load() -> tuple[list[stats.EndpointStats], stats.MinuteSeries | None]:
            with db.sessions() as s:
                rows = stats.endpoint_page(s, offline=offline)
                keys = [r.key for r in rows]
                chosen = key if key in keys else (keys[0] if keys else None)
                return rows, stats.minute_series(s, chosen) if chosen else None

        run_in_background(load, self._show, self._load_failed, owner=self)

    def _show(self, result: tuple[list[stats.EndpointStats], stats.MinuteSeries | None]) -> None:
        rows, series = result
        self.model.set_rows(rows)
        self.chart.show_series(series)
        if series is not None:
            self._selected_key = series.key
            row = self.model.row_of(series.key)
            if row is not None:
                self.table.blockSignals(True)
                self.table.selectRow(row)
                self.table.blockSignals(False)
        failing = sum(1 for r in rows if r.summary.state in ("circuit open", "probing", "failing"))
        paused = sum(1 for r in rows if r.summary.state == "paused")
        offline = sum(1 for r in rows if r.summary.state == "offline")
        parts = [f"{len(rows)} endpoint" + ("" if len(rows) == 1 else "s")]
        if failing:
            parts.append(f"{failing} failing")
        if paused:
            parts.append(f"{paused} paused")
        if offline:
            parts.append(f"{offline} offline")
        self.summary.setText(" · ".join(parts))
        self._update_buttons()
        self.loaded.emit()

    def _load_failed(self, message: str) -> None:
        self.summary.setText(f"Could not load the endpoints: {message}")

    def load_note(self) -> None:
        db = self.ctx.db

        def load() -> stats.CircuitNote | None:
            with db.sessions() as s:
                return stats.circuit_note(s)

        run_in_background(load, self.circuit_note_changed.emit, owner=self)

    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        row = self.table.currentIndex().row() if self.table.currentIndex().isValid() else -1
        rows = self.table.selectionModel().selectedRows()
        if rows:
            row = rows[0].row()
        if row < 0:
            return
        key = self.model.row_at(row).key
        unchanged = key == self._selected_key and self.chart.series is not None
        self._selected_key = key
        self._update_buttons()
        if unchanged:
            return
        db = self.ctx.db

        def load() -> stats.MinuteSeries:
            with db.sessions() as s:
                return stats.minute_series(s, key)

        run_in_background(load, self._show_chart, self._load_failed, owner=self)

    def _show_chart(self, series: stats.MinuteSeries) -> None:
        if series.key == self._selected_key:
            self.chart.show_series(series)
            self.loaded.emit()

    def select_endpoint(self, key: str) -> bool:
        row = self.model.row_of(key)
        if row is None:
            return False
        self.table.selectRow(row)
        return True

    def selected(self) -> stats.EndpointStats | None:
        row = self.model.row_of(self._selected_key) if self._selected_key else None
        return self.model.row_at(row) if row is not None else None

    def _update_buttons(self) -> None:
        e = self.selected()
        state = e.summary.state if e else None
        self.pause_button.setEnabled(self._may_pause and e is not None and state != "paused")
        self.resume_button.setEnabled(self._may_pause and state in ("paused", "circuit open", "probing"))
        self.retry_button.setEnabled(self._may_retry and e is not None)
        self.rate_button.setEnabled(self._may_limit and e is not None)
        no_limit = read_only_reason(self.ctx, Capability.EDIT_SETTINGS, "rate limits")
        if no_limit:
            self.rate_button.setToolTip(no_limit)
        no_pause = read_only_reason(self.ctx, Capability.PAUSE_ENDPOINTS, "endpoints")
        if no_pause:
            self.pause_button.setToolTip(no_pause)
            self.resume_button.setToolTip(no_pause)

    # -- actions ----------------------------------------------------------------------------------------
    def pause_selected(self) -> None:
        self._change(pausing=True)

    def resume_selected(self) -> None:
        self._change(pausing=False)

    def _change(self, pausing: bool) -> None:
        e = self.selected()
        if e is None:
            return
        db, key = self.ctx.db, e.key

        def change() -> tuple[str, int, bool]:
            with db.session() as s:
                act = endpoint_store.pause_endpoint if pausing else endpoint_store.resume_endpoint
                return act(s, key)

        def done(result: tuple[str, int, bool]) -> None:
            _, count, changed = result
            name = short_name(key)
            if pausing:
                text = (
                    f"{name} paused; {_items(count)} wait and keep their attempts"
                    if changed
                    else (f"{name} was already paused")
                )
            else:
                text = f"{name} resumed; {_items(count)} due now" if changed else f"{name} was not paused"
                if changed:
                    self.items_requeued.emit()
            self.message_posted.emit(text)
            self.reload()
            self.load_note()

        title = "Pause endpoint" if pausing else "Resume endpoint"
        run_in_background(change, done, lambda m: self._error(title, m), owner=self)

    def edit_rate_limit(self) -> None:
        """The "Rate limit…" dialog for the selected endpoint; OK saves it (audited)."""
        e = self.selected()
        if e is None or not self._may_limit:
            return
        dialog = RateLimitDialog(short_name(e.key), e.summary.rate_limit, self)
        self.rate_dialog = dialog
        key = e.key
        dialog.accepted.connect(lambda: self._save_rate_limit(key, dialog.chosen_rate()))
        dialog.open()

    def _save_rate_limit(self, key: str, rate: float | None) -> None:
        db = self.ctx.db

        def change() -> tuple[str, float | None, bool]:
            with db.session() as s:
                return endpoint_store.set_rate_limit(s, key, rate)

        def done(result: tuple[str, float | None, bool]) -> None:
            _, _before, changed = result
            name = short_name(key)
            if not changed:
                text = f"{name}: rate limit unchanged ({rate_text(rate)})"
            elif rate is None:
                text = f"{name}: no rate limit"
            else:
                text = f"{name}: at most {rate_text(rate)}"
            self.message_posted.emit(text)
            self.items_requeued.emit()  # the engine looks at the endpoints at its next turn
            self.reload()

        run_in_background(change, done, lambda m: self._error("Rate limit", m), owner=self)

    def retry_since_outage(self) -> None:
        e = self.selected()
        if e is None:
            return
        db, key = self.ctx.db, e.key

        def plan() -> stats.RetryPlan:
            with db.sessions() as s:
                return stats.plan_retry_since_outage(s, key)

        run_in_background(
            plan, self._confirm_retry, lambda m: self._error("Retry failed items", m), owner=self
        )

    def _confirm_retry(self, plan: stats.RetryPlan) -> None:
        name = short_name(plan.key)
        if plan.since is None or not plan.item_ids:
            why = (
                f"{name} has no outage on record (it has not failed since it was last resumed)."
                if plan.since is None
                else f"No item of {name} failed since the outage began at {_when(plan)}."
            )
            box = QMessageBox(
                QMessageBox.Icon.Information, "Nothing to retry", why, QMessageBox.StandardButton.Ok, self
            )
        else:
            box = QMessageBox(
                QMessageBox.Icon.Question,
                "Retry failed items",
                f"Retry {_items(len(plan.item_ids))} of {name} that failed since the outage began at "
                f"{_when(plan)}?\n\nThey are queued again now and get a fresh set of attempts.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                self,
            )
            box.setDefaultButton(QMessageBox.StandardButton.Yes)
            yes = box.button(QMessageBox.StandardButton.Yes)
            yes.setText(f"Retry {_items(len(plan.item_ids))}")  # the button says what happens, with the count
            box.finished.connect(lambda _code: self._retry(plan) if box.clickedButton() is yes else None)
        box.setObjectName("retry_since_outage_box")
        # room for the endpoint on one line (a word wrap at each "/" splits it up)
        box.setStyleSheet("QLabel#qt_msgbox_label { min-width: 480px; }")
        self.retry_box = box
        box.open()

    def _retry(self, plan: stats.RetryPlan) -> None:
        db = self.ctx.db

        def retry() -> int:
            with db.session() as s:
                return stats.retry_planned(s, plan)

        def done(n: int) -> None:
            self.message_posted.emit(f"Retrying {_items(n)} of {short_name(plan.key)}")
            if n:
                self.items_requeued.emit()
            self.reload()

        run_in_background(retry, done, lambda m: self._error("Retry failed items", m), owner=self)

    def _error(self, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("endpoint_error_box")
        self.error_box = box
        box.open()


def _when(plan: stats.RetryPlan) -> str:
    if plan.since is None:
        return "—"
    return plan.since.astimezone().strftime("%Y-%m-%d %H:%M")
