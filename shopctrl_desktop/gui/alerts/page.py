"""The Alerts page: alerts grouped by what failed where (one row per trigger/endpoint and title, with a
count; the group's alerts listed below), mark read / mark all read, open a queue item."""

from __future__ import annotations

import html

from PySide6.QtCore import QModelIndex, QSettings, QUrl, Signal
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
from shopctrl_desktop.gui.alerts.model import ALERT_ID_ROLE, AlertGroup, AlertsModel
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.table_model import log_table, table_over_detail
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.store import alerts as alert_store
from shopctrl_desktop.store.alerts import Alert

LIMIT = 1000
SHOWN_IN_GROUP = 50  # alerts listed under a selected group (the newest)


def group_html(group: AlertGroup) -> str:
    """The selected group: its title and count, then each alert (newest first) with a link to its item."""
    latest = group.latest
    parts = [
        f"<p><b>{html.escape(latest.title)}</b> — {html.escape(group.count_text)}</p>",
        f"<p style='white-space:pre-wrap'>{html.escape(latest.message)}</p>",
    ]
    if group.count > 1 or latest.item_id is not None:
        rows = []
        for alert in group.alerts[:SHOWN_IN_GROUP]:
            when = alert.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            link = f"<a href='item:{alert.item_id}'>queue item #{alert.item_id}</a>" if alert.item_id else "—"
            weight = "bold" if not alert.read else "normal"
            first_line = html.escape(alert.message.split("\n", 1)[0][:120])
            rows.append(
                f"<tr style='font-weight:{weight}'><td style='padding-right:12px'>{when}</td>"
                f"<td style='padding-right:12px'>{link}</td><td style='color:#555'>{first_line}</td></tr>"
            )
        more = group.count - SHOWN_IN_GROUP
        tail = f"<p style='color:#666'>… and {more} older</p>" if more > 0 else ""
        parts.append(f"<p><b>Alerts in this group</b></p><table>{''.join(rows)}</table>{tail}")
    return "".join(parts)


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
        self.table = log_table(self, self.model, "alerts_table", (110, 150, 360, 130), multi_select=True)
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
        self.empty_label.setStyleSheet(style("color: #666; padding: 12px;"))
        self.splitter = table_over_detail("alerts_splitter", self.table, self.message_view, 1)
        self.splitter.setSizes([240, 400])  # alerts come grouped (a few rows): room for the group's detail

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
        selected = [g.key for g in self.selected_groups()]
        self.model.set_alerts(alerts)
        for key in selected:
            row = self.model.row_of_key(key)
            if row is not None:
                self.table.selectRow(row)
        empty = not alerts
        self.empty_label.setVisible(empty and not self.unread_only.isChecked())
        self.summary.setText(f"{unread} unread" if unread else ("" if empty else "All read"))
        self._update_buttons()
        self.unread_changed.emit(unread)

    # -- selection --------------------------------------------------------------------------------------
    def selected_groups(self) -> list[AlertGroup]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.row_at(r) for r in rows]

    def selected_alerts(self) -> list[Alert]:
        """Every alert of the selected groups, newest first within each group."""
        return [a for g in self.selected_groups() for a in g.alerts]

    def selected_alert_ids(self) -> list[int]:
        return [a.id for a in self.selected_alerts()]

    def _on_selection_changed(self, *_: object) -> None:
        chosen = self.selected_groups()
        if len(chosen) == 1:
            self.message_view.setHtml(style(group_html(chosen[0])))
        else:
            self.message_view.clear()
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.selected_groups()
        self.mark_read_button.setEnabled(any(not g.read for g in chosen))
        self.mark_all_button.setEnabled(
            any(not self.model.row_at(r).read for r in range(self.model.rowCount()))
        )
        self.open_item_button.setEnabled(len(chosen) == 1 and bool(chosen[0].item_ids))

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
        """The selected group's newest queue item."""
        chosen = self.selected_groups()
        if len(chosen) == 1:
            alert = next((a for a in chosen[0].alerts if a.item_id is not None), None)
            if alert is not None:
                self._open(alert)

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
            self.table.selectRow(row)
            self.open_selected_item()

    def _on_message_view_anchorClicked(self, url: QUrl) -> None:
        """A link in the group's list: ``item:<id>`` opens that queue item."""
        text = url.toString()
        if not text.startswith("item:"):
            return
        item_id = int(text.removeprefix("item:"))
        alert = next((a for a in self.selected_alerts() if a.item_id == item_id), None)
        if alert is not None:
            self._open(alert)

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
