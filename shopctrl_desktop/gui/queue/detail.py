"""The queue item detail pane: where the item stands (one outcome line), a summary, the request as sent
(secrets masked), and the attempts as a compact table with the selected attempt's answer below it."""

from __future__ import annotations

import html
from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.domain.retry import RetryPolicy
from shopctrl_desktop.gui.queue.columns import STATUS_COLOURS, status_label
from shopctrl_desktop.gui.queue.formatting import (
    attempt_cells,
    attempt_html,
    attempt_ok,
    not_sent_html,
    outcome_line,
    request_text,
    summary_rows,
)
from shopctrl_desktop.gui.theme import colour, style
from shopctrl_desktop.store.browse import ItemDetail

ATTEMPT_COLUMNS = ("#", "Time", "Duration", "Status or error")
PLACEHOLDER = "Select a queue item to see the request it sends and every answer it got."
_OUTCOME_COLOURS = {
    "delivered": "#1d6b32",
    "failed": "#a61b1b",
    "retrying": "#8a5300",
    "cancelled": "#5f6368",
}


class ItemDetailPane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queue_detail")
        self.detail: ItemDetail | None = None
        #: "attempt 3 of 11": the first attempt plus the retries the settings allow
        self.max_attempts = RetryPolicy().max_retries + 1
        self._notice_ids: frozenset[int] = frozenset()
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        self.placeholder = QLabel(PLACEHOLDER)
        self.placeholder.setObjectName("detail_placeholder")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.placeholder.setStyleSheet(style("color: #666; padding: 16px;"))

        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.outcome_label = QLabel()
        self.outcome_label.setObjectName("outcome_line")
        self.outcome_label.setWordWrap(True)
        self.notice = QLabel()
        self.notice.setObjectName("detail_notice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(
            style(
                "background: #fff6d6; color: #4a3b00; border: 1px solid #e6cf7a; border-radius: 3px; padding: 4px 8px;"
            )
        )
        self.notice.hide()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)

        self.request_view = QPlainTextEdit()
        self.request_view.setObjectName("request_view")
        self.request_view.setReadOnly(True)
        self.request_view.setFont(mono)
        self.request_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.mask_note = QLabel(
            "Credentials and signatures (••••••) are added when the request is sent and are never shown; "
            "X-ShopCtrl-Delivery and X-ShopCtrl-Attempt are set per attempt."
        )
        self.mask_note.setWordWrap(True)
        self.mask_note.setStyleSheet(style("color: #666;"))
        request_tab = QWidget()
        request_layout = QVBoxLayout(request_tab)
        request_layout.setContentsMargins(0, 0, 0, 0)
        request_layout.addWidget(self.request_view, 1)
        request_layout.addWidget(self.mask_note)

        self.attempts_table = QTableWidget(0, len(ATTEMPT_COLUMNS))
        self.attempts_table.setObjectName("attempts_table")
        self.attempts_table.setHorizontalHeaderLabels(ATTEMPT_COLUMNS)
        self.attempts_table.verticalHeader().setVisible(False)
        self.attempts_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.attempts_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.attempts_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.attempts_table.setShowGrid(False)
        self.attempts_table.setWordWrap(False)
        self.attempts_table.setAccessibleName("Attempts")
        self.attempts_table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.attempts_table.horizontalHeader()
        for col in range(3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.attempts_view = QTextBrowser()  # the selected attempt's answer
        self.attempts_view.setObjectName("attempts_view")
        self.attempts_view.setAccessibleName("Selected attempt")
        self.attempts_view.setOpenLinks(False)
        self.attempts_view.document().setDefaultFont(self.font())
        self.attempts_view.document().setDefaultStyleSheet(f"pre {{ font-family: '{mono.family()}'; }}")
        self.attempts_split = QSplitter(Qt.Orientation.Vertical)
        self.attempts_split.addWidget(self.attempts_table)
        self.attempts_split.addWidget(self.attempts_view)
        self.attempts_split.setStretchFactor(0, 1)
        self.attempts_split.setStretchFactor(1, 2)
        self.attempts_split.setChildrenCollapsible(False)
        self.attempts_table.itemSelectionChanged.connect(self._on_attempt_selected)

        self.tabs = QTabWidget()
        self.tabs.addTab(request_tab, "Request")
        self.tabs.addTab(self.attempts_split, "Attempts")

        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setFixedWidth(330)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body = QHBoxLayout()
        body.addWidget(self.summary)
        body.addWidget(self.tabs, 1)
        content = QWidget()
        lay = QVBoxLayout(content)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.header)
        lay.addWidget(self.outcome_label)
        lay.addWidget(self.notice)
        lay.addLayout(body, 1)

        self.placeholder_page = QWidget()
        placeholder_layout = QVBoxLayout(self.placeholder_page)
        placeholder_layout.setContentsMargins(0, 0, 0, 0)
        self.placeholder_notice = QLabel()  # feedback for items that left the view (e.g. cancelled)
        self.placeholder_notice.setObjectName("placeholder_notice")
        self.placeholder_notice.setWordWrap(True)
        self.placeholder_notice.setStyleSheet(self.notice.styleSheet())
        self.placeholder_notice.hide()
        placeholder_layout.addWidget(self.placeholder_notice)
        placeholder_layout.addWidget(self.placeholder, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder_page)
        self.stack.addWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)
        bold = QFont(self.font())
        bold.setPointSizeF(bold.pointSizeF() * 1.15)
        bold.setBold(True)
        self.header.setFont(bold)
        outcome_font = QFont(self.font())
        outcome_font.setBold(True)
        self.outcome_label.setFont(outcome_font)

    # -- feedback -----------------------------------------------------------------------------------------
    def show_notice(self, text: str, item_ids: Iterable[int]) -> None:
        """Feedback on an action, shown with these items (and on the empty pane if they left the view)."""
        self._notice_ids = frozenset(item_ids)
        for label in (self.notice, self.placeholder_notice):
            label.setText(text)
        self._place_notice()

    def notice_text(self) -> str:
        return self.notice.text() if self._notice_ids else ""

    def _place_notice(self) -> None:
        shown = self.detail is not None and self.detail.row.id in self._notice_ids
        self.notice.setVisible(shown)
        self.placeholder_notice.setVisible(bool(self._notice_ids) and self.detail is None)

    # -- content ------------------------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.detail = None
        self.placeholder.setText(text)
        self.stack.setCurrentIndex(0)
        self._place_notice()

    def clear(self) -> None:
        self.show_message(PLACEHOLDER)

    def show_detail(self, detail: ItemDetail) -> None:
        if self.detail is not None and self.detail.row.id != detail.row.id:
            self._notice_ids = frozenset()  # another item: the feedback was about the previous one
        self.detail = detail
        r = detail.row
        fg, bg = STATUS_COLOURS.get(r.status, ("#000", "#fff"))
        self.header.setText(
            style(
                f"Item #{r.id} &nbsp;<span style='color:{fg}; background:{bg}'>&nbsp;{html.escape(status_label(r.status))}"
                f"&nbsp;</span> &nbsp;{html.escape(detail.method)} {html.escape(r.url)}"
            )
        )
        self.outcome_label.setText(outcome_line(detail, self.max_attempts))
        self.outcome_label.setStyleSheet(style(f"color: {_OUTCOME_COLOURS.get(r.status, '#1f4e9c')};"))
        rows = "".join(
            f"<tr><td style='color:#555; padding-right:10px; white-space:nowrap'>{html.escape(k)}</td>"
            f"<td>{html.escape(v)}</td></tr>"
            for k, v in summary_rows(detail)
        )
        self.summary.setText(style(f"<table>{rows}</table>"))
        self.request_view.setPlainText(request_text(detail))
        self._fill_attempts(detail)
        self.tabs.setTabText(1, f"Attempts ({len(detail.attempts)})")
        self.stack.setCurrentIndex(1)
        self._place_notice()

    def _fill_attempts(self, detail: ItemDetail) -> None:
        table = self.attempts_table
        table.blockSignals(True)
        table.setRowCount(0)
        newest_first = list(reversed(detail.attempts))
        table.setRowCount(len(newest_first))
        red, green = colour("#a61b1b"), colour("#1d6b32")
        for row, attempt in enumerate(newest_first):
            for col, text in enumerate(attempt_cells(attempt)):
                item = QTableWidgetItem(text)
                if col == 3:
                    item.setForeground(green if attempt_ok(attempt) else red)
                    item.setToolTip(text)
                if col in (0, 2):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, col, item)
        table.blockSignals(False)
        self.attempts_table.setVisible(bool(newest_first))
        if newest_first:
            table.selectRow(0)  # the newest attempt's answer below
            self._on_attempt_selected()
        else:
            self.attempts_view.setHtml(style(not_sent_html(detail)))

    def _on_attempt_selected(self) -> None:
        detail = self.detail
        rows = self.attempts_table.selectionModel().selectedRows()
        if detail is None or not rows:
            return
        attempts = list(reversed(detail.attempts))
        self.attempts_view.setHtml(style(attempt_html(attempts[rows[0].row()])))
