"""Test data and helpers for the queue, alerts, settings and shell GUI tests (real SQLite, real servers)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import AlertRow, DeliveryAttemptRow, EventRow, QueueItemRow, utcnow

#: The offscreen platform's only note when a top-level window is shown; every other Qt warning fails a test.
OFFSCREEN_NOTE = pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$")

STATUSES = ("delivered", "delivered", "failed", "retrying", "queued", "cancelled")
TRIGGERS = ("Order to ERP", "Shipment to carrier", "Invoice to accounting")
EVENTS = ("OrderChanged", "ShipmentShipped", "InvoicePaymentsDone")


def make_context(app_paths, db, box, **settings_fields) -> AppContext:  # type: ignore[no-untyped-def]
    return AppContext(paths=app_paths, settings=Settings(**settings_fields), db=db, box=box)


def add_queue_items(db: Database, n: int, *, status: str | None = None, start: int = 0) -> list[int]:
    """``n`` items cycling through statuses, triggers and events; each sent item has one attempt."""
    now = utcnow()
    ids: list[int] = []
    with db.session() as s:
        event = EventRow(
            event="OrderChanged",
            shop_id=1,
            occurred_at=now,
            received_at=now,
            entity_type="Order",
            entity_id="1",
            entity_code="ORD-1",
            entity_data_json="{}",
            data_json="{}",
        )
        s.add(event)
        s.flush()
        for k in range(start, start + n):
            st = status or STATUSES[k % len(STATUSES)]
            sent = st in ("delivered", "failed", "retrying")
            item = QueueItemRow(
                event_id=event.id,
                trigger_title=TRIGGERS[k % 3],
                event_name=EVENTS[k % 3],
                entity_type="Order",
                entity_id=str(1000 + k),
                entity_code=f"ORD-{1000 + k}",
                priority=3,
                status=st,
                method="POST",
                url=f"https://erp.example.com/hooks/{k % 3}",
                host="erp.example.com",
                headers_json=json.dumps(
                    {
                        "Content-Type": "application/json; charset=utf-8",
                        "X-ShopCtrl-Trigger": EVENTS[k % 3],
                        "X-Api-Key": "super-secret-key-123",
                    }
                ),
                body=json.dumps({"Trigger": EVENTS[k % 3], "entityData": {"OrderId": 1000 + k}}),
                attempts=1 if sent else 0,
                created_at=now - timedelta(minutes=n - k),
                last_attempt_at=now if sent else None,
                next_attempt_at=now + timedelta(seconds=90) if st in ("queued", "retrying") else None,
                response_status=(200 if st == "delivered" else 503) if sent else None,
                response_message=("OK" if st == "delivered" else "Service Unavailable") if sent else None,
                duration_ms=120.0 if sent else None,
            )
            s.add(item)
            s.flush()
            ids.append(item.id)
            if sent:
                s.add(
                    DeliveryAttemptRow(
                        item_id=item.id,
                        number=1,
                        started_at=now,
                        duration_ms=120.0,
                        status_code=item.response_status,
                        response_headers_json=json.dumps({"Content-Type": "text/plain"}),
                        response_body="ok" if st == "delivered" else "try again later",
                    )
                )
    return ids


def add_alert(
    db: Database, item_id: int | None, *, severity: str = "error", title: str = "Delivery failed"
) -> int:
    with db.session() as s:
        row = AlertRow(
            severity=severity,
            title=title,
            message=f"Item #{item_id}: 503 after 11 attempts",
            item_id=item_id,
            created_at=utcnow(),
            read=False,
        )
        s.add(row)
        s.flush()
        return row.id


def item_status(db: Database, item_id: int) -> str:
    with db.sessions() as s:
        row = s.get(QueueItemRow, item_id)
        assert row is not None
        return row.status


@dataclass
class ThreadedReceiver:
    """A real aiohttp receiver on 127.0.0.1, on its own thread and loop (the GUI thread stays free)."""

    status: int = 200
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def count(self) -> int:
        return len(self.bodies)


@contextmanager
def threaded_receiver(status: int = 200) -> Iterator[ThreadedReceiver]:
    rec = ThreadedReceiver(status=status)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        rec.bodies.append(await request.read())
        rec.headers.append(dict(request.headers))
        return web.Response(status=rec.status, text="ok")

    async def serve() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        rec.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()
        await stop.wait()
        await runner.cleanup()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    assert ready.wait(10), "receiver did not start"
    try:
        yield rec
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


@contextmanager
def running_window(qtbot, ctx: AppContext) -> Iterator[tuple[Any, str]]:  # type: ignore[no-untyped-def]
    """The main window with its engine thread started (listener up): yields (window, listener address); on
    the way out stops the engine, closes the window and waits for its background jobs."""
    from shopctrl_desktop.gui.background import wait_for_background
    from shopctrl_desktop.gui.engine_thread import EngineThread
    from shopctrl_desktop.gui.main_window import MainWindow

    engine = EngineThread(ctx)
    window = MainWindow(ctx, engine)
    qtbot.addWidget(window)
    window.show()
    window.start()
    with qtbot.waitSignal(engine.engine_started, timeout=20_000) as started:
        engine.start()
    try:
        yield window, started.args[0]
    finally:
        assert engine.stop(30_000)
        window.close()
        wait_for_background(10_000)


def answer_questions(monkeypatch, answer: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Patch QMessageBox.exec to click the button whose text starts with ``answer`` (as a person would);
    returns the questions asked."""
    from PySide6.QtWidgets import QMessageBox

    asked: list[str] = []

    def fake_exec(box: QMessageBox) -> int:
        asked.append(box.text())
        for button in box.buttons():
            if button.text().startswith(answer):
                button.click()
                return 0
        raise AssertionError(f"no button {answer!r} in {[b.text() for b in box.buttons()]}")

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    return asked
