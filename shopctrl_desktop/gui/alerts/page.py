"""The Alerts page: newest alerts with severity icons, mark read / mark all read, open the queue item."""

from __future__ import annotations

import html

from PySide6.QtCore import QModelIndex, QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.gui.alerts.model import ALERT_ID_ROLE, AlertsModel
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.table_model import log_table, table_over_detail
from shopctrl_desktop.store import alerts as alert_store
from shopctrl_desktop.store.alerts import Alert

LIMIT = 1000


class AlertsPage(QWidget):
    #: The user asked to see the queue item behind an alert.
    item_requested = Signal(int)
    #: The number of unread alerts changed (after a load or a mark-read).
    unread_changed = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alerts_page")
        self.ctx = ctx
        self.model = AlertsModel(self)
        self.table = log_table(self, self.model, "alerts_table", (110, 150, 400, 90), multi_select=True)
        self.message_view = QTextBrowser()
        self.message_view.setObjectName("alert_message")
        self.message_view.setOpenLinks(False)
        self.message_view.anchorClicked.connect(self._on_message_view_anchorClicked)

        self.unread_only = QCheckBox("Unread only")
        self.mark_read_button = QPushButton("Mark read")
        self.mark_all_button = QPushButton("Mark all read")
        self.open_item_button = QPushButton("Open queue item")
        self.summary = QLabel()
        self.summary.setObjectName("alerts_summary")
        bar = QHBoxLayout()
        for w in (self.mark_read_button, self.mark_all_button, self.open_item_button, self.unread_only):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.summary)

        self.empty_label = QLabel(
            "No alerts. An alert appears here when a delivery fails for good (retries exhausted, 410 Gone, "
            "a payload that cannot be rendered or an invalid configuration)."
        )
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: #666; padding: 12px;")
        self.splitter = table_over_detail("alerts_splitter", self.table, self.message_view, 1)

        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.empty_label)
        lay.addWidget(self.splitter, 1)

        self.mark_read_button.clicked.connect(self.mark_selected_read)
        self.mark_all_button.clicked.connect(self.mark_all_read)
        self.open_item_button.clicked.connect(self.open_selected_item)
        self.unread_only.toggled.connect(self.reload)
        self.table.doubleClicked.connect(self._on_table_doubleClicked)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._update_buttons()

    # -- loading ----------------------------------------------------------------------------------------
    def reload(self) -> None:
        db, unread_only = self.ctx.db, self.unread_only.isChecked()

        def load() -> tuple[list[Alert], int]:
            with db.sessions() as s:
                return alert_store.list_alerts(
                    s, unread_only=unread_only, limit=LIMIT
                ), alert_store.unread_count(s)

        run_in_background(load, self._on_loaded, owner=self)

    def _on_loaded(self, result: tuple[list[Alert], int]) -> None:
        alerts, unread = result
        selected = self.selected_alert_ids()
        self.model.set_rows(alerts)
        for alert_id in selected:
            row = self.model.row_of(alert_id)
            if row is not None:
                self.table.selectRow(row)
        empty = not alerts
        self.empty_label.setVisible(empty and not self.unread_only.isChecked())
        self.summary.setText(f"{unread} unread" if unread else ("" if empty else "All read"))
        self._update_buttons()
        self.unread_changed.emit(unread)

    # -- selection --------------------------------------------------------------------------------------
    def selected_alerts(self) -> list[Alert]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.row_at(r) for r in rows]

    def selected_alert_ids(self) -> list[int]:
        return [a.id for a in self.selected_alerts()]

    def _on_selection_changed(self, *_: object) -> None:
        chosen = self.selected_alerts()
        if len(chosen) == 1:
            a = chosen[0]
            link = (
                f"<p><a href='item:{a.item_id}'>Open queue item #{a.item_id}</a></p>"
                if a.item_id is not None
                else ""
            )
            self.message_view.setHtml(
                f"<p><b>{html.escape(a.title)}</b></p>"
                f"<p style='white-space:pre-wrap'>{html.escape(a.message)}</p>{link}"
            )
        else:
            self.message_view.clear()
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.selected_alerts()
        self.mark_read_button.setEnabled(any(not a.read for a in chosen))
        self.mark_all_button.setEnabled(
            any(not self.model.row_at(r).read for r in range(self.model.rowCount()))
        )
        self.open_item_button.setEnabled(len(chosen) == 1 and chosen[0].item_id is not None)

    # -- actions ----------------------------------------------------------------------------------------
    def mark_selected_read(self) -> None:
        ids = [a.id for a in self.selected_alerts() if not a.read]
        if not ids:
            return
        db = self.ctx.db

        def work() -> int:
            with db.session() as s:
                return alert_store.mark_read(s, ids)

        run_in_background(work, lambda _n: self.reload(), owner=self)

    def mark_all_read(self) -> None:
        db = self.ctx.db

        def work() -> int:
            with db.session() as s:
                return alert_store.mark_all_read(s)

        run_in_background(work, lambda _n: self.reload(), owner=self)

    def open_selected_item(self) -> None:
        chosen = self.selected_alerts()
        if len(chosen) == 1:
            self._open(chosen[0])

    def _open(self, alert: Alert) -> None:
        if alert.item_id is None:
            return
        if not alert.read:
            db = self.ctx.db

            def work() -> int:
                with db.session() as s:
                    return alert_store.mark_read(s, [alert.id])

            run_in_background(work, lambda _n: self.reload(), owner=self)
        self.item_requested.emit(alert.item_id)

    def _on_table_doubleClicked(self, index: QModelIndex) -> None:
        row = self.model.row_of(int(index.data(ALERT_ID_ROLE)))
        if row is not None:
            self._open(self.model.row_at(row))

    def _on_message_view_anchorClicked(self, url: object) -> None:
        self.open_selected_item()

    # -- layout memory ----------------------------------------------------------------------------------
    def save_state(self, settings: QSettings) -> None:
        settings.setValue("alerts/header", self.table.horizontalHeader().saveState())
        settings.setValue("alerts/splitter", self.splitter.saveState())

    def restore_state(self, settings: QSettings) -> None:
        header = settings.value("alerts/header")
        if header is not None:
            self.table.horizontalHeader().restoreState(header)
        splitter = settings.value("alerts/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
