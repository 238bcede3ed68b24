"""The queue item detail pane: summary, the request as sent (secrets masked), every attempt and its answer."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QStackedWidget,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.gui.queue.columns import STATUS_COLOURS
from shopctrl_desktop.gui.queue.formatting import attempts_html, request_text, summary_rows
from shopctrl_desktop.store.browse import ItemDetail


class ItemDetailPane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queue_detail")
        self.detail: ItemDetail | None = None
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        self.placeholder = QLabel("Select a queue item to see the request it sends and every answer it got.")
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #666; padding: 16px;")

        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)

        self.request_view = QPlainTextEdit()
        self.request_view.setObjectName("request_view")
        self.request_view.setReadOnly(True)
        self.request_view.setFont(mono)
        self.request_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.attempts_view = QTextBrowser()
        self.attempts_view.setObjectName("attempts_view")
        self.attempts_view.setOpenLinks(False)
        self.attempts_view.document().setDefaultFont(self.font())
        self.attempts_view.document().setDefaultStyleSheet(f"pre {{ font-family: '{mono.family()}'; }}")
        self.mask_note = QLabel(
            "Credentials and signatures (••••••) are added when the request is sent and are never shown; "
            "X-ShopCtrl-Delivery and X-ShopCtrl-Attempt are set per attempt."
        )
        self.mask_note.setWordWrap(True)
        self.mask_note.setStyleSheet("color: #666;")
        request_tab = QWidget()
        request_layout = QVBoxLayout(request_tab)
        request_layout.setContentsMargins(0, 0, 0, 0)
        request_layout.addWidget(self.request_view, 1)
        request_layout.addWidget(self.mask_note)
        self.tabs = QTabWidget()
        self.tabs.addTab(request_tab, "Request")
        self.tabs.addTab(self.attempts_view, "Attempts")

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
        lay.addLayout(body, 1)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)
        bold = QFont(self.font())
        bold.setPointSizeF(bold.pointSizeF() * 1.15)
        bold.setBold(True)
        self.header.setFont(bold)

    def show_message(self, text: str) -> None:
        self.detail = None
        self.placeholder.setText(text)
        self.stack.setCurrentIndex(0)

    def clear(self) -> None:
        self.show_message("Select a queue item to see the request it sends and every answer it got.")

    def show_detail(self, detail: ItemDetail) -> None:
        self.detail = detail
        r = detail.row
        fg, bg = STATUS_COLOURS.get(r.status, ("#000", "#fff"))
        self.header.setText(
            f"Item #{r.id} &nbsp;<span style='color:{fg}; background:{bg}'>&nbsp;{html.escape(r.status)}&nbsp;</span>"
            f" &nbsp;{html.escape(detail.method)} {html.escape(r.url)}"
        )
        rows = "".join(
            f"<tr><td style='color:#555; padding-right:10px; white-space:nowrap'>{html.escape(k)}</td>"
            f"<td>{html.escape(v)}</td></tr>"
            for k, v in summary_rows(detail)
        )
        self.summary.setText(f"<table>{rows}</table>")
        self.request_view.setPlainText(request_text(detail))
        self.attempts_view.setHtml(attempts_html(detail))
        self.tabs.setTabText(1, f"Attempts ({len(detail.attempts)})")
        self.stack.setCurrentIndex(1)
