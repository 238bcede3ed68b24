"""Fixtures and helpers shared by the trigger-editor GUI tests (test_trigger*, test_webhook*, test_mergefield*)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.model import Priority, SignatureScheme, Trigger, WebhookAction
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.models import EventRow, Shop

#: The offscreen platform plugin warns that it cannot raise windows, grab the keyboard or propagate size
#: hints when dialogs and popups are shown; that is the platform, not the product.
OFFSCREEN_NOISE = pytest.mark.qt_log_ignore(r"^This plugin does not support")

ORDER_DATA = {
    "Order": {
        "Id": 1001,
        "OrderCode": "ORD-1001",
        "TotalDue": 149.95,
        "Customer": {"Email": "anna@example.com", "FirstName": "Anna"},
        "OrderRow": [
            {"ProductCode": "SKU-1", "ItemQuantity": 2},
            {"ProductCode": "SKU-2", "ItemQuantity": 1},
        ],
    }
}


@pytest.fixture
def ctx(app_paths, db, box) -> Iterator[AppContext]:
    yield AppContext(paths=app_paths, settings=Settings(), db=db, box=box)
    # background renders/loads hold their own sessions: let them finish before the db fixture closes it
    wait_for_background(10_000)


class Receiver(BaseHTTPRequestHandler):
    """A real HTTP endpoint on 127.0.0.1 that records what it gets and answers 200 with a JSON body."""

    received: list[tuple[dict, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        answer = b'{"ok": true, "message": "order queued for import"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


@pytest.fixture
def dialogs(qtbot) -> Iterator[Callable]:
    """``dialogs(d)`` shows a dialog for the test; at teardown it is closed without the unsaved-changes
    question (``done``), which a plain ``qtbot.addWidget`` close would ask and wait on."""
    opened: list[QWidget] = []

    def track(dialog):
        opened.append(dialog)
        dialog.show()
        return dialog

    yield track
    for dialog in opened:
        try:
            dialog.done(0)
            dialog.deleteLater()
        except RuntimeError:  # already deleted by Qt
            pass


def store_event(
    ctx: AppContext, data: dict | None = None, *, event: str = "OrderChanged", shop_id: int = 3
) -> int:
    data = ORDER_DATA if data is None else data
    order = data.get("Order", {})
    with ctx.db.session() as session:
        if session.get(Shop, shop_id) is None:
            session.add(Shop(id=shop_id, name=f"Shop {shop_id}"))
        row = EventRow(
            event=event,
            shop_id=shop_id,
            occurred_at=datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
            entity_type="Order",
            entity_id=str(order.get("Id")),
            entity_code=order.get("OrderCode"),
            entity_data_json=json.dumps({"OrderId": order.get("Id"), "OrderCode": order.get("OrderCode")}),
            data_json=json.dumps(data),
        )
        session.add(row)
        session.flush()
        return row.id


def full_action(**changes) -> WebhookAction:
    action = WebhookAction(
        url="https://erp.example/hooks/order",
        method="POST",
        priority=Priority.HIGH,
        unique_queue_items=True,
        hmac_secret="s3cr3t-hmac-value",
        signature_scheme=SignatureScheme.SHOPCTRL,
        timeout_seconds=20,
        username="erp-sync",
        password="hunter2-password",
        headers={"X-Api-Version": "2", "X-Tenant": "shop-3"},
        payload_body='{\n  "order": "$$Order.OrderCode$$",\n  "total": {{ Order.TotalDue | json }}\n}',
    )
    from dataclasses import replace

    return replace(action, **changes)


def save(ctx: AppContext, trigger: Trigger) -> int:
    with ctx.db.session() as session:
        return trigger_store.save_trigger(session, ctx.box, trigger)


def load_all(ctx: AppContext) -> list[Trigger]:
    with ctx.db.session() as session:
        return trigger_store.list_triggers(session, ctx.box)


def answer_message_boxes(monkeypatch, *answers: QMessageBox.StandardButton) -> list[str]:
    """Patch QMessageBox.exec to answer in turn (the last answer repeats); returns the texts asked."""
    asked: list[str] = []
    queue = list(answers)

    def fake_exec(box: QMessageBox) -> int:
        asked.append(box.text())
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return int(answer.value)

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    return asked


def when_modal(callback: Callable[[QWidget], None]) -> None:
    """Run ``callback(dialog)`` as soon as a modal dialog is open (inside its exec loop).

    If the callback fails the dialog is closed, so a failing test never hangs on a modal loop.
    """
    attempts = {"n": 0}

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            attempts["n"] += 1
            if attempts["n"] < 200:
                QTimer.singleShot(10, poll)
            return
        try:
            callback(dialog)
        except BaseException:
            dialog.done(0)
            raise

    QTimer.singleShot(0, poll)
