"""`backup` while a real `serve` takes events, and `restore` refused while it runs (issue 13 item 3)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store.db import alembic_config
from tests.helpers.processes import cli, import_one_trigger, start_serve

pytestmark = pytest.mark.slow


def _head() -> str:
    from alembic.script import ScriptDirectory

    (head,) = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return str(head)


class _Poster(threading.Thread):
    """Posts one event after another; remembers which ids the listener acknowledged (202)."""

    def __init__(self, address: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url = f"http://{address}/events"
        self.token = token
        self.acknowledged: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors: list[str] = []

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            event_id = f"bk-{n}"
            body = {"id": event_id, "event": "Order changed", "shopId": 1, "data": {"Order": {"Id": n}}}
            request = urllib.request.Request(
                self.url,
                data=json.dumps(body).encode(),
                method="POST",
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    if response.status == 202:
                        with self.lock:
                            self.acknowledged.append(event_id)
            except (urllib.error.URLError, OSError) as exc:
                self.errors.append(str(exc))

    def snapshot(self) -> set[str]:
        with self.lock:
            return set(self.acknowledged)


def test_backup_while_serve_takes_events_and_restore_refused_until_it_stops(tmp_path: Path) -> None:
    data = tmp_path / "data"
    import_one_trigger(data, "http://127.0.0.1:9/never-called")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc, address = start_serve(data, env)
    backup = tmp_path / "out" / "shopctrl-backup.sqlite3"
    database = data / "shopctrl.sqlite3"
    try:
        token = (resolve_paths(data).token_file).read_text().strip()
        poster = _Poster(address, token)
        poster.start()
        deadline_count = 200  # enough events that the backup runs while more arrive
        while len(poster.snapshot()) < deadline_count and poster.is_alive():
            poster.stop.wait(0.05)
        acknowledged_before = poster.snapshot()
        made = cli(data, "backup", str(backup))
        after_backup = len(poster.snapshot())
        poster.stop.set()
        poster.join(30)
        assert made.returncode == 0, made.stderr
        assert not poster.errors, poster.errors[:3]
        assert after_backup > len(acknowledged_before)  # events kept arriving while the backup ran
        assert "backed up" in made.stdout and "secret.key" in made.stdout

        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        assert not list(backup.parent.glob(".*tmp*"))  # the temporary file was renamed into place
        conn = sqlite3.connect(backup)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(_head(),)]
            in_backup = {r[0] for r in conn.execute("SELECT external_id FROM events")}
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
        finally:
            conn.close()
        assert acknowledged_before <= in_backup

        # restore: refused while the engine runs, nothing changed
        before = database.stat().st_ino
        refused = cli(data, "restore", str(backup))
        assert refused.returncode == 1
        assert "an engine is using the database" in refused.stderr and "stop it first" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert database.stat().st_ino == before
        assert not list(data.glob("*.before-restore-*"))

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]

    conn = sqlite3.connect(database)
    all_events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    conn.close()
    assert all_events > len(in_backup)

    restored = cli(data, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert f"restored {database} from {backup}" in restored.stdout
    (kept,) = data.glob("shopctrl.sqlite3.before-restore-*[0-9]")
    assert f"kept as {kept}" in restored.stdout
    conn = sqlite3.connect(database)
    try:
        assert {r[0] for r in conn.execute("SELECT external_id FROM events")} == in_backup
        assert conn.execute(
            "SELECT action, subject_name FROM audit_entries ORDER BY id DESC LIMIT 1"
        ).fetchone() == (
            "database.restored",
            backup.name,
        )
    finally:
        conn.close()
    conn = sqlite3.connect(kept)  # the database as it was, with its -wal: every event
    try:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == all_events
    finally:
        conn.close()
