"""The main window: settings and layout survive a restart, alerts link to the queue, status bar counts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import load_settings
from shopctrl_desktop.domain.queue import QueueCounts
from shopctrl_desktop.engine.token import read_token
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.main_window import PAGE_ALERTS, PAGE_QUEUE, MainWindow
from tests.gui.queue_support import OFFSCREEN_NOTE, add_alert, add_queue_items, make_context

pytestmark = OFFSCREEN_NOTE


def open_window(qtbot, ctx: AppContext) -> MainWindow:
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: window.queue_page.model.is_complete, timeout=10_000)
    return window


def test_settings_survive_a_restart(qtbot, ctx, app_paths, db, box):
    window = open_window(qtbot, ctx)
    dialog = window.open_settings()
    assert "restarted" in dialog.findChild(type(dialog.listener_error), "restart_note").text()
    old_token = dialog.token_edit.text()
    dialog.port_spin.setValue(9876)
    dialog.tabs.setCurrentIndex(dialog.tabs.indexOf(dialog.findChild(QWidget, "settings_delivery_tab")))
    dialog.retry_kind.setCurrentIndex(dialog.retry_kind.findData("custom"))
    assert dialog.delays_edit.isVisibleTo(dialog) and not dialog.base_spin.isVisibleTo(dialog)
    dialog.delays_edit.setText("abc")
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.delays_error.isVisibleTo(dialog)  # the field says what is wrong
    dialog.delays_edit.setText("5, 10, 60")
    dialog.max_retries_spin.setValue(3)
    dialog.concurrency_spin.setValue(4)
    dialog.database_edit.setText("sqlite:////tmp/elsewhere.sqlite3")
    new_token = dialog.regenerate_token()
    assert new_token != old_token and read_token(app_paths) == new_token
    with qtbot.waitSignal(window.settings_saved, timeout=5_000):
        qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)
    assert "restart" in window.statusBar().currentMessage()
    window.close()

    # a new process: settings from disk, a new window, the values are there
    restarted = AppContext(paths=app_paths, settings=load_settings(app_paths, environ={}), db=db, box=box)
    second = open_window(qtbot, restarted)
    again = second.open_settings()
    assert again.port_spin.value() == 9876
    assert again.retry_kind.currentData() == "custom"
    assert again.delays_edit.text() == "5, 10, 60"
    assert again.max_retries_spin.value() == 3
    assert again.concurrency_spin.value() == 4
    assert again.database_edit.text() == "sqlite:////tmp/elsewhere.sqlite3"
    assert again.token_edit.text() == new_token
    again.reject()


def test_window_layout_is_remembered(qtbot, ctx):
    window = open_window(qtbot, ctx)
    window.resize(window.minimumSizeHint().width(), 640)
    qtbot.waitUntil(lambda: window.height() == 640)
    window.queue_page.table.setColumnWidth(4, 333)
    window.nav.setCurrentRow(PAGE_ALERTS)
    window.close()
    assert (ctx.paths.data_dir / "window.ini").exists()

    second = open_window(qtbot, ctx)
    # the offscreen screen is 800 px wide, so the width is clamped there; the height (default 820) is not
    assert abs(second.height() - 640) <= 5
    assert second.queue_page.table.columnWidth(4) == 333
    assert second.nav.currentRow() == PAGE_ALERTS


def test_alert_link_opens_the_queue_item_and_status_bar_counts(qtbot, ctx):
    ids = add_queue_items(ctx.db, 12)
    add_alert(ctx.db, ids[3])
    window = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: window.alerts_label.text() == "Alerts: 1 unread", timeout=5_000)
    assert window.nav.item(PAGE_ALERTS).text() == "Alerts (1)"
    qtbot.waitUntil(lambda: "Failed 2" in window.counts_label.text(), timeout=5_000)

    window.alerts_page.table.selectRow(0)
    window.alerts_page.open_selected_item()
    assert window.nav.currentRow() == PAGE_QUEUE
    qtbot.waitUntil(lambda: window.queue_page.current_id() == ids[3], timeout=5_000)
    qtbot.waitUntil(lambda: window.queue_page.detail_pane.detail is not None, timeout=5_000)
    qtbot.waitUntil(lambda: window.alerts_label.text() == "No unread alerts", timeout=5_000)

    window.show_counts(QueueCounts(queued=5, sending=1, retrying=2, failed=3))
    assert window.counts_label.text() == "Queued 6 · Retrying 2 · Failed 3"


def test_a_listener_that_cannot_start_is_explained(qtbot, app_paths, db, box):
    import socket

    from shopctrl_desktop.gui.engine_thread import EngineThread

    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    try:
        ctx = make_context(app_paths, db, box, listen_port=blocker.getsockname()[1])
        engine = EngineThread(ctx)
        window = MainWindow(ctx, engine)
        qtbot.addWidget(window)
        window.show()
        window.start()
        with qtbot.waitSignal(engine.engine_failed, timeout=20_000):
            engine.start()
        qtbot.waitUntil(lambda: hasattr(window, "engine_failed_box") and window.engine_failed_box.isVisible())
        assert str(blocker.getsockname()[1]) in window.engine_failed_box.text()
        assert "error" in window.listener_label.text()
        window.engine_failed_box.accept()
        assert engine.wait(20_000)
    finally:
        blocker.close()
        wait_for_background(10_000)


def test_each_new_error_alert_is_a_desktop_notification(qtbot, ctx):
    window = open_window(qtbot, ctx)
    shown: list[tuple] = []

    class Tray:  # the offscreen platform has no system tray; this stands in for QSystemTrayIcon
        def showMessage(self, *args) -> None:  # noqa: N802 - Qt's name
            shown.append(args)

        def hide(self) -> None:
            pass

    window.tray = Tray()
    window._on_engine_alert_raised(7, "error", "Delivery failed for good: Order paid → ERP")
    window._on_engine_alert_raised(8, "warning", "Certificate expires soon")
    assert len(shown) == 1 and "Order paid → ERP" in shown[0][0]


def test_keyboard_shortcuts_act_on_the_page_with_the_focus(qtbot, ctx, monkeypatch):
    from shopctrl_desktop.gui.queue.columns import Column
    from tests.gui.queue_support import answer_questions, item_status

    answer_questions(monkeypatch, "Cancel the item")  # Del asks first, naming the item

    ids = add_queue_items(ctx.db, 6, status="queued")
    window = open_window(qtbot, ctx)
    window.activateWindow()
    page = window.queue_page
    page.model.index(0, Column.STATUS).data()
    qtbot.waitUntil(lambda: page.model.is_row_loaded(0), timeout=5_000)
    page.table.setFocus()
    page.select_row(0)
    qtbot.waitUntil(page.cancel_action.isEnabled, timeout=5_000)
    qtbot.keyClick(page.table, Qt.Key.Key_Delete)  # Del = Cancel on the queue page (Delete… on Triggers)
    qtbot.waitUntil(lambda: item_status(ctx.db, ids[-1]) == "cancelled", timeout=5_000)
    assert [item_status(ctx.db, i) for i in ids[:-1]] == ["queued"] * 5


def test_the_circuit_note_says_what_it_is_and_elides_the_host_not_the_path(qtbot, ctx):
    from types import SimpleNamespace

    from PySide6.QtWidgets import QLabel

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    window._on_engine_state_changed("listener", "running", "127.0.0.1:8765")  # as the engine reports it
    window._on_engine_state_changed("delivery", "running", "")
    name = "127.0.0.1:44037/fail/crm/customers"
    full = f"{name} failing since 19:40 — 3 waiting"
    window.show_circuit_note(SimpleNamespace(name=name, text=lambda: full))
    label = window.circuit_label
    qtbot.waitUntil(lambda: label.isVisible() and label.width() > 0)
    shown = QLabel(label.text()).text()  # the link's words
    plain = shown.split(">", 1)[1].rsplit("</a", 1)[0]
    assert plain.startswith("⚠ Circuit open: …/") and "/customers" in plain
    assert "127.0.0.1" not in plain  # the host goes first; the path names the service
    assert full in label.toolTip()  # the whole note stays in the tooltip
    assert label.sizeHint().width() <= label.width()
    # at 1024 px the listener's address moves to its tooltip, leaving the room to the note
    assert window.listener_label.text() == "Listener ●"
    assert "http://127.0.0.1:8765/events" in window.listener_label.toolTip()
    window.resize(1900, 1000)
    qtbot.waitUntil(lambda: f"Circuit open: {name} failing since 19:40 — 3 waiting" in label.text())
    assert window.listener_label.text() == "Listener: http://127.0.0.1:8765 ●"
    window.close()
