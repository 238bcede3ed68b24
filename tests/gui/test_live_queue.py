"""One live queue across workstations (SPEC §10): a window with "Deliver from this workstation" off runs no
engine, and shows what a real ``serve`` process on the same database does — new items, their delivery, the
status bar counts, alerts — within 2 s: through LISTEN/NOTIFY on PostgreSQL, by polling on SQLite and after
the notification connection is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.gui.app import build_window
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.live import MODE_NOTIFY, MODE_POLL
from shopctrl_desktop.paths import AppPaths
from shopctrl_desktop.store.db import Database
from tests.gui.queue_support import OFFSCREEN_NOTE, threaded_receiver
from tests.helpers.postgres import throwaway_postgres
from tests.helpers.processes import cli, start_serve

pytestmark = [OFFSCREEN_NOTE]

LIVE_MS = 2000  # SPEC §10: within 2 s


def _trigger_file(path: Path, ok_url: str, broken_url: str) -> Path:
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "triggers": [
                    {
                        "title": "ERP",
                        "event": "OrderChanged",
                        "actions": [{"type": "callWebhook", "url": ok_url}],
                    },
                    {
                        "title": "Broken",
                        "event": "ProductChanged",
                        "actions": [{"type": "callWebhook", "url": broken_url}],
                    },
                ],
            }
        )
    )
    return path


def _post(address: str, token: str, event: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"http://{address}/events",
        data=json.dumps([event]).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 202


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _newest_item(db: Database) -> tuple[int, str]:
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT id, status FROM queue_items ORDER BY id DESC LIMIT 1")).one()
    return int(row[0]), str(row[1])


def _shown_status(window: Any, item_id: int) -> str | None:
    model = window.queue_page.model
    if model.row_of(item_id) is None:
        return None
    row = model.cached_row(item_id)
    return None if row is None else row.status


@contextmanager
def _support_window(qtbot, ctx: AppContext, mode: str) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    window, engine, live = build_window(ctx)
    assert engine is None  # no engine, no listener on a support workstation
    qtbot.addWidget(window)
    window.show()
    window.start()
    live.start()
    try:
        qtbot.waitUntil(lambda: live.mode == mode and live.polls >= 1, timeout=10_000)  # the baseline
        yield window
    finally:
        live.stop()
        window.close()
        wait_for_background(10_000)


def _check_live(qtbot, window, db: Database, address: str, token: str, n: int) -> None:  # type: ignore[no-untyped-def]
    """What both back ends must show of serve's work: a new item and its delivery, a failure with its
    count and its alert — each within 2 s of happening in the database."""
    # a delivered item: appears, then shows "delivered", each within 2 s of happening
    _post(
        address,
        token,
        {"id": f"order-{n}", "event": "OrderChanged", "shopId": 1, "data": {"Order": {"Id": n}}},
    )
    item_id, _ = _newest_item(db)
    qtbot.waitUntil(lambda: _shown_status(window, item_id) is not None, timeout=LIVE_MS)
    qtbot.waitUntil(lambda: _newest_item(db)[1] == "delivered", timeout=20_000)
    qtbot.waitUntil(lambda: _shown_status(window, item_id) == "delivered", timeout=LIVE_MS)
    # a failed item (no retries): the failed count follows and serve's alert appears
    failed_before = window.counts.failed
    _post(
        address,
        token,
        {"id": f"product-{n}", "event": "ProductChanged", "shopId": 1, "data": {"Product": {"Id": n}}},
    )
    failed_id, _ = _newest_item(db)
    qtbot.waitUntil(lambda: _newest_item(db)[1] == "failed", timeout=20_000)
    qtbot.waitUntil(lambda: _shown_status(window, failed_id) == "failed", timeout=LIVE_MS)
    qtbot.waitUntil(lambda: window.counts.failed == failed_before + 1, timeout=LIVE_MS)
    assert f"Failed {failed_before + 1}" in window.counts_label.text()
    with db.engine.connect() as conn:
        alert_id = int(
            conn.execute(text("SELECT max(id) FROM alerts WHERE item_id = :i"), {"i": failed_id}).scalar()
        )
    qtbot.waitUntil(lambda: window.alerts_page.model.row_of(alert_id) is not None, timeout=LIVE_MS)
    assert "unread" in window.alerts_label.text()


def _workstations(tmp_path: Path, url: str, ok, broken) -> tuple[dict[str, str], Path]:  # type: ignore[no-untyped-def]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SHOPCTRL_DATABASE_URL": url, "SHOPCTRL_MAX_RETRIES": "0"}
    serve_dir = tmp_path / "delivering-workstation"
    triggers = _trigger_file(tmp_path / "triggers.json", ok.url(), broken.url())
    imported = cli(serve_dir, "triggers", "import", str(triggers), env=env)
    assert imported.returncode == 0, imported.stderr
    return env, serve_dir


@pytest.mark.slow
def test_support_workstation_follows_serve_on_postgresql_and_polls_when_the_listener_is_lost(
    qtbot, tmp_path: Path, app_paths: AppPaths, box
) -> None:  # type: ignore[no-untyped-def]
    with ExitStack() as stack:
        cluster = stack.enter_context(throwaway_postgres("shopctrl-pg-live-"))
        ok = stack.enter_context(threaded_receiver(200))
        broken = stack.enter_context(threaded_receiver(500))
        db = cluster.new_database()
        stack.callback(db.dispose)
        env, serve_dir = _workstations(tmp_path, db.url, ok, broken)
        ctx = AppContext(
            paths=app_paths, settings=Settings(database_url=db.url, deliver_here=False), db=db, box=box
        )
        window = stack.enter_context(_support_window(qtbot, ctx, MODE_NOTIFY))
        assert window.engine_label.text() == "Delivery: another workstation"
        proc, address = start_serve(serve_dir, env)
        stack.callback(_stop, proc)
        token = (serve_dir / "api-token").read_text().strip()

        _check_live(qtbot, window, db, address, token, 1)

        # the notification connection is cut: polling takes over, the window keeps following
        live = window.live
        live.reconnect_seconds = 3600  # stays cut while the checks run: polling alone must show them
        with db.engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": live.listener.backend_pid})
            conn.commit()
        qtbot.waitUntil(lambda: live.mode == MODE_POLL, timeout=LIVE_MS)
        _check_live(qtbot, window, db, address, token, 2)
        assert live.mode == MODE_POLL
        live.reconnect_seconds = 0.5
        qtbot.waitUntil(lambda: live.mode == MODE_NOTIFY, timeout=10_000)  # and it listens again


@pytest.mark.slow
def test_support_workstation_follows_serve_on_sqlite_by_polling(
    qtbot, tmp_path: Path, app_paths, db, box
) -> None:  # type: ignore[no-untyped-def]
    with ExitStack() as stack:
        ok = stack.enter_context(threaded_receiver(200))
        broken = stack.enter_context(threaded_receiver(500))
        env, serve_dir = _workstations(tmp_path, db.url, ok, broken)
        ctx = AppContext(paths=app_paths, settings=Settings(deliver_here=False), db=db, box=box)
        window = stack.enter_context(_support_window(qtbot, ctx, MODE_POLL))
        assert window.live.listener is None
        proc, address = start_serve(serve_dir, env)
        stack.callback(_stop, proc)
        token = (serve_dir / "api-token").read_text().strip()
        _check_live(qtbot, window, db, address, token, 1)


def test_deliver_from_this_workstation_is_a_setting_saved_audited_and_obeyed(
    qtbot, app_paths, db, box
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    from shopctrl_desktop.config import load_settings
    from shopctrl_desktop.store.audit import list_entries

    ctx = AppContext(paths=app_paths, settings=Settings(), db=db, box=box)
    assert ctx.settings.deliver_here  # default on
    window, engine, live = build_window(ctx)
    assert engine is not None and window.engine is engine
    qtbot.addWidget(window)
    dialog = window.open_settings()
    assert dialog.deliver_here_check.isChecked()
    dialog.deliver_here_check.setChecked(False)
    with qtbot.waitSignal(window.settings_saved, timeout=5_000):
        qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)
    window.close()
    with db.sessions() as s:
        changes = [c for e in list_entries(s) for c in e.changes if c.field == "deliver_here"]
    assert [(c.old, c.new) for c in changes] == [(True, False)]

    # the next start: no engine, no listener, the status bar says who delivers
    restarted = AppContext(paths=app_paths, settings=load_settings(app_paths, environ={}), db=db, box=box)
    assert restarted.settings.deliver_here is False
    window, engine, live = build_window(restarted)
    qtbot.addWidget(window)
    assert engine is None and window.live is live
    assert window.engine_label.text() == "Delivery: another workstation"
    assert "off" in window.listener_label.text() and "error" not in window.listener_label.text().lower()
    window.close()
