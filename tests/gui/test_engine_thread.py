"""The engine QThread: starts the real listener + delivery, turns progress into Qt signals, stops cleanly."""

from __future__ import annotations

import os
import socket
import sys
import threading

import httpx
import pytest

from shopctrl_desktop.engine.token import load_or_create_token
from shopctrl_desktop.gui.engine_thread import ENGINE_NICE, EngineThread, lower_thread_priority
from shopctrl_desktop.store.models import EventRow, QueueItemRow
from tests.gui.queue_support import make_context, threaded_receiver
from tests.helpers.factories import make_action


@pytest.fixture
def ctx(app_paths, db, box):
    return make_context(app_paths, db, box, listen_port=0)


def post_events(address: str, token: str, events: list[dict]) -> httpx.Response:
    return httpx.post(
        f"http://{address}/events", json=events, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def order_event(n: int) -> dict:
    return {
        "id": f"evt-{n}",
        "event": "OrderChanged",
        "shopId": 1,
        "data": {"Order": {"Id": 1000 + n, "OrderCode": f"ORD-{1000 + n}"}},
    }


def test_starts_delivers_and_stops_cleanly(qtbot, ctx):
    token = load_or_create_token(ctx.paths)
    with threaded_receiver() as receiver:
        make_action(ctx.db, ctx.box, receiver.url())
        thread = EngineThread(ctx)
        seen: list[tuple[int, str]] = []
        gui_thread = threading.current_thread()
        slot_threads: set[threading.Thread] = set()

        def on_items(changes: list) -> None:
            slot_threads.add(threading.current_thread())
            seen.extend((c.item_id, c.status) for c in changes)

        thread.signals.items_changed.connect(on_items)
        with qtbot.waitSignal(thread.engine_started, timeout=20_000) as started:
            thread.start()
        address = started.args[0]
        assert address.startswith("127.0.0.1:") and not address.endswith(":0")

        answer = post_events(address, token, [order_event(n) for n in range(5)])
        assert answer.status_code == 202, answer.text
        qtbot.waitUntil(lambda: sum(1 for _, st in seen if st == "delivered") >= 5, timeout=20_000)
        assert receiver.count == 5
        assert slot_threads == {gui_thread}  # queued into the GUI thread

        with qtbot.waitSignal(thread.engine_stopped, timeout=30_000):
            assert thread.stop(30_000)
        assert not thread.isRunning() and thread.isFinished()
    with pytest.raises(OSError):
        socket.create_connection(tuple(address.rsplit(":", 1)), timeout=2)  # type: ignore[arg-type]
    with ctx.db.sessions() as s:
        assert s.query(EventRow).count() == 5
        assert {r.status for r in s.query(QueueItemRow)} == {"delivered"}


def test_stop_before_the_engine_started_still_ends_the_thread(qtbot, ctx):
    thread = EngineThread(ctx)
    thread.start()
    assert thread.stop(30_000)
    assert thread.isFinished()


def test_port_taken_is_reported_not_raised(qtbot, app_paths, db, box):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        ctx = make_context(app_paths, db, box, listen_port=port)
        thread = EngineThread(ctx)
        with qtbot.waitSignal(thread.engine_failed, timeout=20_000) as failed:
            thread.start()
        assert str(port) in failed.args[0]
        assert thread.wait(20_000)
    finally:
        blocker.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are a Linux feature")
def test_engine_threads_run_at_a_lower_priority_than_the_gui_thread():
    seen: dict[str, int] = {}

    def engine_like() -> None:
        lower_thread_priority()
        seen["engine"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        child = threading.Thread(  # a thread the engine starts (database, dispatcher) inherits it
            target=lambda: seen.setdefault(
                "child", os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            )
        )
        child.start()
        child.join()

    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=engine_like)
    thread.start()
    thread.join()
    assert seen["engine"] == min(19, gui + ENGINE_NICE)
    assert seen["child"] == seen["engine"]
    assert (
        os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui
    )  # the calling thread is untouched
