"""Send test runs on the GUI's qasync loop: the window stays responsive while the request waits, one send at a
time, answers in words, and closing mid-send cancels cleanly. Real servers on 127.0.0.1, on their own thread."""

from __future__ import annotations

import asyncio

import shiboken6
from PySide6.QtCore import Qt, QTimer

from shopctrl_desktop.domain.model import Trigger
from shopctrl_desktop.gui.webhook.editor import WebhookEditorDialog
from shopctrl_desktop.gui.webhook.preview import RequestPreviewDialog
from tests.gui.triggers_support import (  # noqa: F401
    OFFSCREEN_NOISE,
    ctx,
    dialogs,
    full_action,
    store_event,
)
from tests.helpers.receivers import Receiver, hang, on_a_thread, tls_server
from tests.helpers.senders import record_closed_senders

pytestmark = OFFSCREEN_NOISE
TRIGGER = Trigger(title="ERP order sync", event="OrderChanged")


def open_preview(qtbot, dialogs, ctx, **action) -> tuple[WebhookEditorDialog, RequestPreviewDialog]:  # noqa: F811
    editor = dialogs(WebhookEditorDialog(ctx, full_action(client_certificate=None, **action), TRIGGER))
    with qtbot.waitSignal(editor.sample_loaded, timeout=5000):
        pass
    preview = editor.show_preview()
    with qtbot.waitSignal(preview.preview_rendered, timeout=5000):
        pass
    assert preview.send_button.isEnabled()
    return editor, preview


def test_the_window_stays_responsive_while_a_send_test_waits(qtbot, gui_loop, ctx, dialogs, monkeypatch):  # noqa: F811
    closed = record_closed_senders(monkeypatch)
    store_event(ctx)  # the event list offers it and the sample event: the combo can change under the send
    with on_a_thread(Receiver()) as server:
        server.responder = hang(server)
        editor, preview = open_preview(qtbot, dialogs, ctx, url=server.url())
        finished: list[object] = []
        preview.test_finished.connect(finished.append)
        qtbot.mouseClick(preview.send_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(server.requests) == 1)  # at the server, which holds the answer back
        assert preview._sending in asyncio.all_tasks(gui_loop)  # noqa: SLF001 - a task on the GUI's loop

        # While the request waits, the GUI thread runs its event loop: timers fire, input is handled.
        ticks: list[int] = []
        timer = QTimer(preview)
        timer.setInterval(5)
        timer.timeout.connect(lambda: ticks.append(1))
        timer.start()
        qtbot.waitUntil(lambda: len(ticks) >= 10)
        with qtbot.waitSignal(preview.preview_rendered, timeout=5000):
            qtbot.keyClick(preview.event_combo, Qt.Key.Key_Down)  # another event: rendered again
        assert preview.event_combo.currentIndex() == 1
        assert preview.is_sending and "Sending to" in preview.status_label.text()
        assert not preview.send_button.isEnabled()  # re-rendering did not re-enable it

        # No second send while one is in flight: not from the dialog, not from the editor's button.
        preview.send_test()
        editor.payload_tab.send_test_button.click()
        assert editor.preview_dialog is preview
        assert finished == [] and closed == []

        server.release_threadsafe()
        qtbot.waitUntil(lambda: len(finished) == 1)
    assert finished[0].status_code == 200  # type: ignore[attr-defined]
    assert "Delivered" in preview.status_label.text() and "HTTP 200 OK" in preview.status_label.text()
    assert "late" in preview.response_view.toPlainText()
    assert preview.send_button.isEnabled() and not preview.is_sending
    assert len(server.requests) == 1 and len(closed) == 1


def test_a_refused_connection_is_shown_in_words(qtbot, gui_loop, ctx, dialogs):  # noqa: F811
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _editor, preview = open_preview(qtbot, dialogs, ctx, url=f"http://127.0.0.1:{port}/hook")
    with qtbot.waitSignal(preview.test_finished, timeout=10_000) as finished:
        preview.send_button.click()
    assert finished.args[0].error == f"connection refused by 127.0.0.1:{port}"
    text = preview.status_label.text()
    assert "Not delivered" in text and f"connection refused by 127.0.0.1:{port}" in text


def test_tls_an_untrusted_certificate_is_named_and_the_actions_ca_is_used(qtbot, gui_loop, ctx, dialogs):  # noqa: F811
    material = tls_server()
    with on_a_thread(Receiver(ssl_context=material.server_context)) as server:
        _editor, preview = open_preview(qtbot, dialogs, ctx, url=server.url())
        with qtbot.waitSignal(preview.test_finished, timeout=10_000) as untrusted:
            preview.send_button.click()
        assert untrusted.args[0].error.startswith("certificate verify failed")
        assert "certificate verify failed" in preview.status_label.text()
        assert "localhost" in preview.status_label.text() and server.requests == []

        # With the CA in the action the context is built off the GUI thread, and the request goes through.
        _editor, trusted_preview = open_preview(
            qtbot, dialogs, ctx, url=server.url(), ca_certificate=material.ca_pem
        )
        with qtbot.waitSignal(trusted_preview.test_finished, timeout=10_000) as trusted:
            trusted_preview.send_button.click()
        assert trusted.args[0].status_code == 200, trusted.args[0]
        assert len(server.requests) == 1


def test_closing_the_preview_mid_send_cancels_it(qtbot, gui_loop, ctx, dialogs, monkeypatch):  # noqa: F811
    closed = record_closed_senders(monkeypatch)
    with on_a_thread(Receiver()) as server:
        server.responder = hang(server)
        _editor, preview = open_preview(qtbot, dialogs, ctx, url=server.url())
        finished: list[object] = []
        preview.test_finished.connect(finished.append)
        preview.send_button.click()
        qtbot.waitUntil(lambda: len(server.requests) == 1)
        task = preview._sending  # noqa: SLF001
        assert task is not None
        preview.close()  # the Close button / window X: done() gives the send up at once
        assert task.cancelling()
        qtbot.waitUntil(task.done)
        assert task.cancelled() and len(closed) == 1
        server.release_threadsafe()
    assert finished == []


def test_deleting_the_editor_mid_send_cancels_it(qtbot, gui_loop, ctx, dialogs, monkeypatch):  # noqa: F811
    closed = record_closed_senders(monkeypatch)
    with on_a_thread(Receiver()) as server:
        server.responder = hang(server)
        editor, preview = open_preview(qtbot, dialogs, ctx, url=server.url())
        preview.send_button.click()
        qtbot.waitUntil(lambda: len(server.requests) == 1)
        task = preview._sending  # noqa: SLF001
        assert task is not None
        shiboken6.delete(editor)  # takes the preview (its child) with it, without closing it first
        assert not shiboken6.isValid(preview)
        qtbot.waitUntil(task.done)
        assert task.cancelled() and len(closed) == 1
        server.release_threadsafe()
