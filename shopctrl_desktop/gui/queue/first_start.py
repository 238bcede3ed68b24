"""What an empty data directory opens on: no triggers and no webhook calls yet. Three ways on — add a
trigger, try the demo, or connect the back office (the listener URL, the token, a curl line to copy) —
instead of an empty table."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable

from PySide6.QtCore import QProcess, Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.engine.token import load_or_create_token

MASK = "••••••"
SAMPLE_EVENT = {
    "event": "OrderChanged",
    "shopId": 1,
    "data": {"Order": {"Id": 1001, "OrderCode": "ORD-1001"}},
}


def events_url(listener_address: str) -> str:
    return f"http://{listener_address}/events"


def curl_line(listener_address: str, token: str) -> str:
    """A test event to the listener, as the back office would post it."""
    return (
        f"curl -X POST {events_url(listener_address)} "
        f"-H {shlex.quote('Authorization: Bearer ' + token)} "
        f"-H 'Content-Type: application/json' "
        f"--data {shlex.quote(json.dumps(SAMPLE_EVENT))}"
    )


def demo_command() -> tuple[str, list[str]]:
    """How to start ``shopctrl-desktop demo`` from this installation (a bundle is its own executable)."""
    if getattr(sys, "frozen", False):
        return sys.executable, ["demo"]
    return sys.executable, ["-m", "shopctrl_desktop", "demo"]


class FirstStartPanel(QFrame):
    """Shown on the Webhook Queue page while there is no trigger and no queue item."""

    add_trigger_requested = Signal()
    message_posted = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("first_start")
        self.ctx = ctx
        #: The listener's address (the main window knows the running one).
        self.listener_address: Callable[[], str] = lambda: ctx.settings.listen_address
        self._token: str | None = None

        title = QLabel("Welcome to ShopCtrl Desktop")
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        title.setFont(font)
        intro = QLabel(
            "There are no triggers and no webhook calls yet. A trigger says which back-office event "
            "(an order changed, a parcel shipped) calls which webhook; the calls then appear here."
        )
        intro.setWordWrap(True)

        self.add_trigger_button = QPushButton("Add trigger…")
        self.add_trigger_button.setObjectName("first_add_trigger")
        self.add_trigger_button.setDefault(True)
        self.add_trigger_button.clicked.connect(self.add_trigger_requested)
        self.demo_button = QPushButton("Try the demo")
        self.demo_button.setObjectName("first_demo")
        self.demo_button.setToolTip(
            "Opens a second window with sample triggers, a fake back office and a receiver, in a separate "
            "data folder: nothing here changes"
        )
        self.demo_button.clicked.connect(self.start_demo)
        actions = QHBoxLayout()
        actions.addWidget(self.add_trigger_button)
        actions.addWidget(self.demo_button)
        actions.addStretch(1)

        connect_title = QLabel("<b>Connect your back office</b>")
        connect_text = QLabel(
            "Point the back office's webhook (event) export at this listener, with the token as a Bearer "
            "token. The curl line posts a test event."
        )
        connect_text.setWordWrap(True)
        self.url_edit = _read_only("listener_url", "Listener URL")
        self.token_edit = _read_only("listener_token", "Listener token")
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_token_button = QPushButton("Show")
        self.show_token_button.setCheckable(True)
        self.show_token_button.toggled.connect(self._on_show_token_toggled)
        self.curl_edit = _read_only("curl_line", "Test event as a curl command")
        grid = QGridLayout()
        rows: list[tuple[str, QLineEdit, list[QPushButton]]] = [
            ("Listener URL", self.url_edit, [self._copy_button("Copy", lambda: self.url_edit.text())]),
            ("Token", self.token_edit, [self.show_token_button, self._copy_button("Copy", self.token)]),
            ("Test event", self.curl_edit, [self._copy_button("Copy curl", self.full_curl_line)]),
        ]
        for row, (label_text, edit, buttons) in enumerate(rows):
            label = QLabel(f"{label_text}:")
            label.setBuddy(edit)
            grid.addWidget(label, row, 0)
            grid.addWidget(edit, row, 1)
            for col, button in enumerate(buttons, start=4 - len(buttons)):  # Copy always in the last column
                grid.addWidget(button, row, col)
        grid.setColumnStretch(1, 1)

        box = QVBoxLayout()
        box.setSpacing(10)
        box.addWidget(title)
        box.addWidget(intro)
        box.addLayout(actions)
        box.addSpacing(12)
        box.addWidget(connect_title)
        box.addWidget(connect_text)
        box.addLayout(grid)
        box.addStretch(1)
        inner = QWidget()
        inner.setLayout(box)
        inner.setMaximumWidth(900)
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(24, 24, 24, 24)
        row.addWidget(inner, 1, Qt.AlignmentFlag.AlignTop)
        # scrolls rather than making the window taller than a small screen
        scroll = QScrollArea()
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def _copy_button(self, text: str, value: Callable[[], str]) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(lambda: self._copy(value(), text))
        return button

    def _copy(self, value: str, what: str) -> None:
        QGuiApplication.clipboard().setText(value)
        self.message_posted.emit("Copied the curl line" if "curl" in what else "Copied to the clipboard")

    def token(self) -> str:
        if self._token is None:
            self._token = load_or_create_token(self.ctx.paths)
        return self._token

    def full_curl_line(self) -> str:
        return curl_line(self.listener_address(), self.token())

    def refresh(self) -> None:
        """Fill in the listener URL, the token (hidden until Show) and the curl line (its token masked)."""
        address = self.listener_address()
        self.url_edit.setText(events_url(address))
        self.token_edit.setText(self.token())
        self.curl_edit.setText(curl_line(address, MASK))
        self.curl_edit.setCursorPosition(0)

    def _on_show_token_toggled(self, shown: bool) -> None:
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_token_button.setText("Hide" if shown else "Show")

    def start_demo(self) -> None:
        program, args = demo_command()
        started = QProcess.startDetached(program, args)
        if started[0] if isinstance(started, tuple) else started:
            self.message_posted.emit("Starting the demo in its own window…")
        else:
            self.message_posted.emit(
                "The demo could not be started: run “shopctrl-desktop demo” in a terminal"
            )


def _read_only(name: str, accessible: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setReadOnly(True)
    edit.setAccessibleName(accessible)
    return edit
