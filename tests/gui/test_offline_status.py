"""Offline awareness in the desktop app: the system's reachability (QNetworkInformation) reaches the real
engine (a child process) through the engine handle, the engine pauses, and the status bar says "Offline —
deliveries paused since HH:MM" until the network is back; then the waiting item is delivered."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtNetwork import QNetworkInformation

from shopctrl_desktop.gui.engine_thread import EngineThread
from shopctrl_desktop.gui.main_window import MainWindow
from shopctrl_desktop.gui.network_watch import NetworkWatch
from tests.gui.queue_support import make_context, threaded_receiver
from tests.helpers.factories import add_items, make_action

Reachability = QNetworkInformation.Reachability


def test_status_bar_says_offline_while_the_system_reports_no_network(qtbot, app_paths, db, box):
    # no probe within the test: only the system's report ends "offline"
    ctx = make_context(app_paths, db, box, listen_port=0, offline_first_probe_seconds=600.0)
    with threaded_receiver() as receiver:
        action = make_action(db, box, receiver.url())
        engine = EngineThread(ctx, listen=False)
        window = MainWindow(ctx, engine)
        qtbot.addWidget(window)
        window.show()
        label = window.offline_label
        assert not label.isVisible()
        with qtbot.waitSignal(engine.engine_started, timeout=30_000):
            engine.start()
        try:
            engine.set_network_online(False)
            qtbot.waitUntil(label.isVisible, timeout=20_000)
            now = datetime.now().astimezone()
            assert "Offline — deliveries paused since " in label.text()
            since = label.text().rsplit(" ", 1)[-1]
            assert since in {now.strftime("%H:%M"), (now.replace(second=0)).strftime("%H:%M")}
            assert window.engine_label.text() == "Delivery: offline"
            window.grab()  # paints with the note

            (item,) = add_items(db, action, 1)
            engine.wake()  # due now, but offline: it waits
            engine.set_network_online(True)
            qtbot.waitUntil(lambda: not label.isVisible(), timeout=20_000)
            assert window.engine_label.text() == "Delivery: running"
            qtbot.waitUntil(lambda: receiver.count == 1, timeout=20_000)
        finally:
            with qtbot.waitSignal(engine.engine_stopped, timeout=30_000):
                assert engine.stop(30_000)


class Sink:
    def __init__(self) -> None:
        self.reports: list[bool] = []

    def set_network_online(self, online: bool) -> None:
        self.reports.append(online)


def test_network_watch_reports_disconnected_and_back(qtbot):
    sink = Sink()
    watch = NetworkWatch(sink)
    sink.reports.clear()  # whatever the machine's backend said at start
    watch.on_reachability(Reachability.Disconnected)
    watch.on_reachability(Reachability.Unknown)  # no opinion: nothing said
    watch.on_reachability(Reachability.Online)
    watch.on_reachability(Reachability.Local)  # a local network: receivers on it may answer
    assert sink.reports == [False, True, True]
