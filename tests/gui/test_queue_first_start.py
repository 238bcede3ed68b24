"""First start (issue 14, point 4): an empty data directory opens on a page that leads somewhere — Add
trigger, Try the demo, Connect your back office (listener URL, token, a curl line to copy)."""

from __future__ import annotations

from PySide6.QtCore import QProcess, Qt
from PySide6.QtGui import QGuiApplication

from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.engine.token import read_token
from shopctrl_desktop.gui.main_window import PAGE_QUEUE, PAGE_TRIGGERS, MainWindow
from shopctrl_desktop.store import triggers as trigger_store
from tests.gui.queue_support import OFFSCREEN_NOTE, add_queue_items

pytestmark = OFFSCREEN_NOTE


def open_window(qtbot, ctx) -> MainWindow:
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.start()
    window.nav.setCurrentRow(PAGE_QUEUE)
    qtbot.waitUntil(lambda: window.queue_page.model.is_complete, timeout=10_000)
    return window


def test_an_empty_data_directory_opens_on_the_ways_on(qtbot, ctx, monkeypatch):
    window = open_window(qtbot, ctx)
    page, panel = window.queue_page, window.queue_page.first_start
    qtbot.waitUntil(panel.isVisible, timeout=5_000)
    assert not page.splitter.isVisible() and not page.filter_bar.isVisible()

    token = read_token(ctx.paths)
    assert token and panel.token_edit.text() == token
    assert panel.token_edit.echoMode() == panel.token_edit.EchoMode.Password  # hidden until Show
    assert panel.url_edit.text() == f"http://{ctx.settings.listen_address}/events"
    assert token not in panel.curl_edit.text()  # nothing secret on screen (screenshots)
    copy_curl = next(b for b in panel.findChildren(type(panel.demo_button)) if b.text() == "Copy curl")
    qtbot.mouseClick(copy_curl, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith(f"curl -X POST http://{ctx.settings.listen_address}/events")
    assert f"Authorization: Bearer {token}" in copied and '"event": "OrderChanged"' in copied

    started: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(
        QProcess, "startDetached", lambda program, args: started.append((program, args)) or (True, 1)
    )
    qtbot.mouseClick(panel.demo_button, Qt.MouseButton.LeftButton)
    assert started and started[0][1][-1] == "demo"

    opened: list[bool] = []
    monkeypatch.setattr(window.triggers_page.add_action, "trigger", lambda: opened.append(True))
    qtbot.mouseClick(panel.add_trigger_button, Qt.MouseButton.LeftButton)
    assert window.nav.currentRow() == PAGE_TRIGGERS and opened == [True]


def test_the_first_start_panel_leaves_once_there_is_a_trigger_or_an_item(qtbot, ctx):
    window = open_window(qtbot, ctx)
    page = window.queue_page
    qtbot.waitUntil(page.first_start.isVisible, timeout=5_000)
    with ctx.db.session() as s:
        trigger_store.save_trigger(
            s, ctx.box, Trigger("ERP", "OrderChanged", actions=(WebhookAction(url="https://erp.example/h"),))
        )
    page.reload_choices()  # what a saved trigger does (triggers_changed)
    qtbot.waitUntil(lambda: not page.first_start.isVisible(), timeout=5_000)
    assert page.splitter.isVisible() and "No webhook calls yet" in page.empty_label.text()


def test_a_queue_with_items_never_shows_the_first_start_panel(qtbot, ctx):
    add_queue_items(ctx.db, 3)
    window = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: window.queue_page.model.rowCount() == 3, timeout=5_000)
    qtbot.waitUntil(lambda: window.queue_page._has_triggers is not None, timeout=5_000)  # choices known
    assert not window.queue_page.first_start.isVisible()
