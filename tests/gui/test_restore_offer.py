"""A damaged database file at start: the error dialog names the file and offers the latest backup
(issue 13 item 3); Restore puts the backup in place and the app starts, Quit changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from shopctrl_desktop.gui import app as gui_app
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store.backup import backup_sqlite_file
from shopctrl_desktop.store.db import Database


def _damaged_install_with_a_backup(tmp_path: Path) -> Path:
    paths = resolve_paths(tmp_path / "data").ensure()
    db = Database(f"sqlite:///{paths.database_file}")
    db.dispose()
    backup_sqlite_file(paths.database_file, paths.data_dir / "backups" / "shopctrl-2026-12-01.sqlite3")
    backup_sqlite_file(paths.database_file, paths.data_dir / "backups" / "shopctrl-2026-12-02.sqlite3")
    for side in ("-wal", "-shm"):
        paths.database_file.with_name(paths.database_file.name + side).unlink(missing_ok=True)
    paths.database_file.write_bytes(b"this is no database " * 500)  # garbage written into the file
    return paths.data_dir


def _when_offered(act) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, str]] = []

    def poll() -> None:
        for widget in QApplication.topLevelWidgets():
            if widget.objectName() == "restore_offer" and widget.isVisible():
                assert isinstance(widget, QMessageBox)
                seen.append((widget.text(), widget.informativeText()))
                act(widget)
                return
        QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)
    return seen


def _click(label: str):  # type: ignore[no-untyped-def]
    def act(box: QMessageBox) -> None:
        (button,) = [b for b in box.buttons() if b.text() == label]
        button.click()

    return act


def test_quit_leaves_the_damaged_file_as_it_is(qtbot, tmp_path, monkeypatch) -> None:
    data = _damaged_install_with_a_backup(tmp_path)
    damaged = (data / "shopctrl.sqlite3").read_bytes()
    seen = _when_offered(_click("Quit"))
    assert gui_app.main(["--data-dir", str(data)]) == 2
    ((text, details),) = seen
    assert f"The database file {data / 'shopctrl.sqlite3'} cannot be opened" in text
    assert "Restore the backup of 2026-12-02?" in text
    assert "shopctrl-2026-12-02.sqlite3" in details and "Traceback" not in details
    assert (data / "shopctrl.sqlite3").read_bytes() == damaged
    assert not list(data.glob("*before-restore*"))


def test_restore_puts_the_latest_backup_in_place_and_the_app_starts(qtbot, tmp_path, monkeypatch) -> None:
    data = _damaged_install_with_a_backup(tmp_path)
    started: list[object] = []
    from shopctrl_desktop.store.engine_lock import DatabaseInUseError, EngineLock

    def run_application(app, loop, ctx) -> int:  # type: ignore[no-untyped-def]
        started.append(ctx)
        with pytest.raises(DatabaseInUseError):  # while the window runs, `restore` is refused
            EngineLock(data / "shopctrl.sqlite3", exclusive=True)
        return 0

    monkeypatch.setattr(gui_app, "run_application", run_application)
    seen = _when_offered(_click("Restore the backup"))
    assert gui_app.main(["--data-dir", str(data)]) == 0
    assert seen and len(started) == 1
    conn = sqlite3.connect(data / "shopctrl.sqlite3")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT action, subject_name FROM audit_entries").fetchall() == [
            ("database.restored", "shopctrl-2026-12-02.sqlite3")
        ]
    finally:
        conn.close()
    EngineLock(data / "shopctrl.sqlite3", exclusive=True).release()  # let go when the window closed
    (kept,) = data.glob("shopctrl.sqlite3.before-restore-*")
    assert kept.read_bytes().startswith(b"this is no database")


def test_without_a_backup_the_plain_error_dialog_names_the_file(qtbot, tmp_path, monkeypatch) -> None:
    data = _damaged_install_with_a_backup(tmp_path)
    for backup in (data / "backups").iterdir():
        backup.unlink()
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append((title, text)))
    assert gui_app.main(["--data-dir", str(data)]) == 2
    ((title, text),) = shown
    assert "cannot start" in title and str(data / "shopctrl.sqlite3") in text
