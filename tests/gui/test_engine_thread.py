"""The engine QThread: starts the real listener + delivery in a child process, relays its progress as Qt
signals, passes wake/stop down, stops cleanly, and tells the window when the child dies."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from pathlib import Path

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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are a Linux feature")
def test_the_engine_process_and_all_its_threads_run_at_a_lower_priority(qtbot, ctx):
    thread = EngineThread(ctx)
    try:
        with qtbot.waitSignal(thread.engine_started, timeout=60_000):
            thread.start()
        pid = thread.engine_pid
        assert pid is not None and pid != os.getpid()
        gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        tids = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
        assert len(tids) > 1  # the engine's loop, database and sender threads
        assert {os.getpriority(os.PRIO_PROCESS, tid) for tid in tids} == {min(19, gui + ENGINE_NICE)}
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui  # the GUI keeps its own
    finally:
        assert thread.stop(30_000)


def test_stop_ends_the_child_process(qtbot, ctx):
    thread = EngineThread(ctx)
    try:
        with qtbot.waitSignal(thread.engine_started, timeout=60_000):
            thread.start()
    except BaseException:
        thread.stop(60_000)  # never leave a running QThread behind (Qt aborts the run)
        raise
    pid = thread.engine_pid
    assert pid is not None
    failures: list[str] = []
    thread.engine_failed.connect(failures.append)
    with qtbot.waitSignal(thread.engine_stopped, timeout=30_000):
        assert thread.stop(30_000)
    assert thread.engine_pid is None
    with pytest.raises(ProcessLookupError):  # reaped: no such process any more
        os.kill(pid, 0)
    assert failures == []  # a requested stop is not a failure


def test_wake_reaches_the_engine_in_the_child(qtbot, ctx, caplog):
    """ "Retry now": the item is made due and the engine woken; the child's log (relayed to this process's
    logging) shows the wake arrived, and the item is sent."""
    import logging
    from datetime import timedelta

    from shopctrl_desktop.store.models import utcnow
    from tests.helpers.factories import add_items

    caplog.set_level(logging.DEBUG, logger="shopctrl_desktop.engine.child_process")  # the child logs alike
    with threaded_receiver() as receiver:
        action = make_action(ctx.db, ctx.box, receiver.url())
        (item_id,) = add_items(ctx.db, action, next_attempt_at=utcnow() + timedelta(hours=1))
        thread = EngineThread(ctx)
        delivered: list[int] = []
        thread.signals.items_changed.connect(
            lambda changes: delivered.extend(c.item_id for c in changes if c.status == "delivered")
        )
        try:
            with qtbot.waitSignal(thread.engine_started, timeout=60_000):
                thread.start()
            assert delivered == [] and receiver.count == 0
            with ctx.db.session() as s:
                s.get(QueueItemRow, item_id).next_attempt_at = utcnow()  # due now, as after "Retry now"
            thread.wake()
            qtbot.waitUntil(
                lambda: any(r.getMessage() == "woken by the window" for r in caplog.records), timeout=20_000
            )
            woken = next(r for r in caplog.records if r.getMessage() == "woken by the window")
            assert woken.process != os.getpid() and woken.threadName.startswith("engine:")
            qtbot.waitUntil(lambda: delivered == [item_id], timeout=20_000)
            assert receiver.count == 1
        finally:
            assert thread.stop(30_000)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_engine_process_is_reported_and_the_window_stays_usable(qtbot, ctx):
    from shopctrl_desktop.gui.background import wait_for_background
    from shopctrl_desktop.gui.main_window import MainWindow
    from tests.gui.queue_support import add_queue_items

    thread = EngineThread(ctx)
    window = MainWindow(ctx, thread)
    qtbot.addWidget(window)
    window.show()
    window.start()
    states: list[tuple[str, str, str]] = []
    thread.signals.state_changed.connect(lambda *args: states.append(args))
    try:
        with qtbot.waitSignal(thread.engine_started, timeout=60_000):
            thread.start()
        qtbot.waitUntil(
            lambda: "running" in window.listener_label.text() or "●" in window.listener_label.text()
        )
        with (
            qtbot.waitSignal(thread.engine_failed, timeout=20_000) as failed,
            qtbot.waitSignal(thread.engine_stopped, timeout=20_000),
        ):
            os.kill(thread.engine_pid, signal.SIGKILL)
        assert "ended unexpectedly" in failed.args[0]
        assert ("delivery", "error", failed.args[0]) in states
        assert thread.wait(10_000) and not thread.isRunning()
        qtbot.waitUntil(lambda: hasattr(window, "engine_failed_box") and window.engine_failed_box.isVisible())
        assert "error" in window.listener_label.text() and "error" in window.engine_label.text()
        window.engine_failed_box.accept()
        # still usable: the queue page shows new rows, and "Retry now" does not block on a dead engine
        add_queue_items(ctx.db, 3)
        window.queue_page.model.note_new_items()
        qtbot.waitUntil(lambda: window.queue_page.model.rowCount() == 3, timeout=10_000)
        thread.wake()
        assert thread.stop(1_000)
    finally:
        thread.stop(30_000)
        window.close()
        wait_for_background(10_000)
