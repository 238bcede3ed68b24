"""Preview and Send test: render the action against a stored event; optionally deliver it once.

Rendering runs off the GUI thread (``run_in_background``). Sending is a coroutine on the GUI's qasync loop
(``run_coroutine``) through the engine's own one-attempt path (engine/one_shot.py): the window keeps
painting while the request waits on the network, and closing the dialog cancels it.
"""

from __future__ import annotations

import asyncio
import html
import uuid
from http import HTTPStatus

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.events import find_event
from shopctrl_desktop.domain.mergefield_check import unknown_fields
from shopctrl_desktop.domain.model import RenderedRequest, StoredEvent, Trigger, WebhookAction
from shopctrl_desktop.domain.outcome import AttemptResult
from shopctrl_desktop.domain.payload import SAMPLE_EVENT_ID, sample_event
from shopctrl_desktop.domain.stored_secret import SEND_NEEDS_ENGINE_KEY, holds_stored_secrets
from shopctrl_desktop.domain.templates import RenderError
from shopctrl_desktop.engine.render_pool import bounded_request, shared_pool  # shared with `render`
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.coroutines import run_coroutine
from shopctrl_desktop.gui.queue.formatting import pretty_json
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.gui.webhook.payload_tab import warning_text
from shopctrl_desktop.gui.widgets.accessibility import name_from_label
from shopctrl_desktop.gui.widgets.field_message import FieldMessage
from shopctrl_desktop.store.events import recent_events


def event_label(event: StoredEvent) -> str:
    if event.id == SAMPLE_EVENT_ID:
        return "Sample event with empty data (no stored event needed)"
    entity = event.entity_code or event.entity_id or "?"
    shop = f", shop {event.shop_id}" if event.shop_id is not None else ""
    return f"#{event.id}  {event.occurred_at:%Y-%m-%d %H:%M:%S}  {event.entity_type} {entity}{shop}"


def pretty_body(body: str, content_type: str) -> str:
    return pretty_json(body) if "json" in content_type else body


def format_request(request: RenderedRequest) -> str:
    lines = [f"{request.method} {request.url}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    lines += ["", pretty_body(request.body, request.headers.get("Content-Type", ""))]
    return "\n".join(lines)


def status_line(result: AttemptResult) -> str:
    """The status as "HTTP 200 OK" (with Location for a redirect) or the error in words; no body."""
    if result.status_code is None:
        return result.error or "no answer"
    try:
        text = f"HTTP {result.status_code} {HTTPStatus(result.status_code).phrase}"
    except ValueError:
        text = f"HTTP {result.status_code}"
    location = result.header("Location")
    return f"{text} → {location}" if location and 300 <= result.status_code < 400 else text


def format_result(result: AttemptResult) -> str:
    lines = [status_line(result), f"Duration: {result.duration_ms:.0f} ms", ""]
    lines += [f"{name}: {value}" for name, value in result.response_headers.items()]
    if result.response_body:
        content_type = result.header("Content-Type") or ""
        lines += ["", pretty_body(result.response_body, content_type)]
    return "\n".join(lines)


async def deliver_once(action: WebhookAction, request: RenderedRequest) -> AttemptResult:
    """One delivery outside the queue (nothing recorded), awaited on the GUI's qasync loop."""
    # Loaded only when used: the HTTP stack is not needed to edit triggers (in the app the engine thread
    # has loaded it by then).
    from shopctrl_desktop.engine.one_shot import send_once

    return await send_once(action, request, f"test-{uuid.uuid4().hex[:12]}")


class RequestPreviewDialog(QDialog):
    events_loaded = Signal(int)  # number of stored events offered
    preview_rendered = Signal(object)  # RenderedRequest, or the message why it cannot be rendered
    test_finished = Signal(object)  # AttemptResult, or the message why it was not sent

    def __init__(
        self, ctx: AppContext, trigger: Trigger, action: WebhookAction, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.trigger = trigger
        self.action = action
        self.request: RenderedRequest | None = None
        self._send_after_render = False
        self._sending: asyncio.Task[AttemptResult] | None = None
        self.setWindowTitle("Preview and test")
        self.resize(900, 640)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.event_combo = QComboBox(self)
        self.event_combo.setMinimumContentsLength(40)
        self.send_button = QPushButton("Send test", self)
        self.send_button.setEnabled(False)
        self.message = FieldMessage(self)
        #: merge fields the catalogue (and the chosen event's data) lack: they render as empty text
        self.fields_message = FieldMessage(self)
        self.request_view = QPlainTextEdit(self)
        self.request_view.setReadOnly(True)
        self.request_view.setFont(mono)
        self.response_view = QPlainTextEdit(self)
        self.response_view.setReadOnly(True)
        self.response_view.setFont(mono)
        self.response_view.setPlaceholderText(
            "Press “Send test” to deliver this request once and see the answer."
        )
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        request_box = QGroupBox("Request (authentication and signature headers are added when sending)", self)
        QVBoxLayout(request_box).addWidget(self.request_view)
        response_box = QGroupBox("Response", self)
        response_layout = QVBoxLayout(response_box)
        response_layout.addWidget(self.status_label)
        response_layout.addWidget(self.response_view)
        splitter = QSplitter(self)
        splitter.addWidget(request_box)
        splitter.addWidget(response_box)
        splitter.setChildrenCollapsible(False)
        top = QHBoxLayout()
        event_label = QLabel("&Event:", self)
        name_from_label(event_label, self.event_combo)
        self.request_view.setAccessibleName("Request")
        self.response_view.setAccessibleName("Response")
        top.addWidget(event_label)
        top.addWidget(self.event_combo, 1)
        top.addWidget(self.send_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.fields_message)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        self.event_combo.currentIndexChanged.connect(self._on_event_combo_changed)
        self.send_button.clicked.connect(self.send_test)
        self._load_events()

    def send_when_rendered(self) -> None:
        """Open in "Send test" mode: deliver as soon as the first preview is rendered."""
        self._send_after_render = True

    def _load_events(self) -> None:
        self.message.show_info("Loading recent events…")
        db, name = self.ctx.db, self.trigger.event

        def load() -> list[StoredEvent]:
            with db.session() as session:
                return recent_events(session, event=name, limit=50)

        run_in_background(load, self._on_events_loaded, self._on_events_failed, owner=self)

    def _on_events_loaded(self, events: list[StoredEvent]) -> None:
        display = find_event(self.trigger.event)
        name = display.display_name if display else self.trigger.event
        if events:
            self.message.clear_message()
        else:
            self.message.show_info(
                f"No “{name}” event has been received yet, so the preview uses a sample event with empty "
                "data. Post one to the listener (or run the demo) to preview against real data."
            )
        self.event_combo.blockSignals(True)
        for event in [*events, sample_event(self.trigger.event)]:
            self.event_combo.addItem(event_label(event), event)
        self.event_combo.blockSignals(False)
        self.events_loaded.emit(len(events))
        self.event_combo.setCurrentIndex(0)
        self._on_event_combo_changed(0)

    def _on_events_failed(self, message: str) -> None:
        self.message.show_error(f"The stored events could not be read: {message}")
        self.events_loaded.emit(0)

    def _on_event_combo_changed(self, _row: int) -> None:
        event = self.event_combo.currentData()
        if event is None:
            return
        self.send_button.setEnabled(False)
        self.request = None
        trigger, action = self.trigger, self.action
        run_in_background(
            lambda: bounded_request(shared_pool(), trigger, action, event),  # a runaway template stops at 2 s
            self._on_rendered,
            self._on_render_failed,
            owner=self,
        )

    def _on_rendered(self, request: RenderedRequest | RenderError) -> None:
        if isinstance(request, RenderError):
            self._on_render_failed(str(request))
            return
        self.request = request
        self.request_view.setPlainText(format_request(request))
        self._show_unknown_fields()
        self.send_button.setEnabled(not self.is_sending)
        self.preview_rendered.emit(request)
        if self._send_after_render:
            self._send_after_render = False
            self.send_test()

    def _show_unknown_fields(self) -> None:
        event = self.event_combo.currentData()
        body = self.action.payload_body or ""
        found = unknown_fields(body, self.trigger.event, event.data if event else None) if body else []
        if found:
            self.fields_message.show_warning(
                warning_text(found, limit=5) + " Unknown merge fields are sent as empty text."
            )
        else:
            self.fields_message.clear_message()

    def _on_render_failed(self, message: str) -> None:
        self.request_view.setPlainText("")
        self.message.show_error(f"The payload cannot be rendered for this event: {message}")
        self.preview_rendered.emit(message)

    @property
    def is_sending(self) -> bool:
        return self._sending is not None and not self._sending.done()

    def send_test(self) -> None:
        """Deliver the rendered request once; while one send is in flight, another press does nothing."""
        if self.request is None or self.is_sending:
            return
        a = self.action
        if holds_stored_secrets(
            a.hmac_secret, a.password, a.client_certificate, a.client_certificate_passphrase
        ):
            self._on_send_failed(SEND_NEEDS_ENGINE_KEY)
            return
        self.send_button.setEnabled(False)
        self.status_label.setText(f"Sending to {html.escape(self.request.url)} …")
        self.status_label.setStyleSheet("")
        self.response_view.clear()
        self._sending = run_coroutine(
            deliver_once(self.action, self.request), self._on_sent, self._on_send_failed, owner=self
        )

    def done(self, result: int) -> None:
        """Closing gives up a send in flight (the request is cancelled, its connection closed)."""
        if self._sending is not None:
            self._sending.cancel()
            self._sending = None
        super().done(result)

    def _on_sent(self, result: AttemptResult) -> None:
        self._sending = None
        self.send_button.setEnabled(True)
        verdict = "Delivered" if result.ok else "Not delivered"
        self.status_label.setText(
            f"<b>{verdict}</b> — {html.escape(status_line(result))} in {result.duration_ms:.0f} ms"
        )
        self.status_label.setStyleSheet(style("color: #1e7b34;" if result.ok else "color: #b3261e;"))
        self.response_view.setPlainText(format_result(result))
        self.test_finished.emit(result)

    def _on_send_failed(self, message: str) -> None:
        self._sending = None
        self.send_button.setEnabled(True)
        self.status_label.setText("<b>Not sent</b>")
        self.status_label.setStyleSheet(style("color: #b3261e;"))
        self.response_view.setPlainText(message)
        self.test_finished.emit(message)


__all__ = ["RequestPreviewDialog", "deliver_once", "sample_event"]
