"""store/backup.py, store/engine_lock.py and the engine's daily backup, on real SQLite files."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command

from shopctrl_desktop.domain.backups import daily_backup_name
from shopctrl_desktop.engine import daily_backup
from shopctrl_desktop.engine.daily_backup import backup_folder, take_daily_backup_if_due
from shopctrl_desktop.engine.service import Engine
from shopctrl_desktop.store.backup import BackupError, backup_database, restore_database
from shopctrl_desktop.store.db import Database, alembic_config, current_revision
from shopctrl_desktop.store.engine_lock import DatabaseInUseError, EngineLock
from tests.helpers.engine_harness import fast_settings
from tests.helpers.processes import cli

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _shops(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM shops").fetchone()[0])
    finally:
        conn.close()


def _add_shop(db: Database, shop_id: int) -> None:
    from sqlalchemy import text

    with db.session() as s:
        s.execute(
            text("INSERT INTO shops (id, name, created_at) VALUES (:i, :n, :t)"),
            {"i": shop_id, "n": f"Shop {shop_id}", "t": "2026-12-01 00:00:00"},
        )


def test_backup_is_a_private_self_contained_copy(db, app_paths, tmp_path) -> None:
    _add_shop(db, 1)
    target = backup_database(db.url, tmp_path / "b" / "copy.sqlite3")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _shops(target) == 1
    assert not (tmp_path / "b" / "copy.sqlite3-wal").exists()
    with pytest.raises(BackupError, match="the database itself"):
        backup_database(db.url, app_paths.database_file)


def test_postgresql_is_refused_pointing_at_pg_dump(tmp_path) -> None:
    url = "postgresql+psycopg://shop:pw@db.example/shopctrl"
    with pytest.raises(BackupError, match="pg_dump") as refused:
        backup_database(url, tmp_path / "x")
    assert "pw" not in str(refused.value)
    result = cli(tmp_path / "data", "--database-url", url, "restore", str(tmp_path / "x"))
    assert result.returncode == 1 and "pg_restore" in result.stderr and "Traceback" not in result.stderr


def test_restore_keeps_the_current_database_and_is_audited(db, app_paths, tmp_path) -> None:
    _add_shop(db, 1)
    backup = backup_database(db.url, tmp_path / "b.sqlite3")
    _add_shop(db, 2)
    db.dispose()
    result = restore_database(db.url, backup, now=NOW)
    assert result.kept == app_paths.database_file.with_name("shopctrl.sqlite3.before-restore-20261203-093000")
    assert _shops(app_paths.database_file) == 1 and _shops(result.kept) == 2
    assert stat.S_IMODE(app_paths.database_file.stat().st_mode) == 0o600
    assert "kept as" in result.describe()
    conn = sqlite3.connect(app_paths.database_file)
    row = conn.execute(
        "SELECT action, subject_kind, subject_name, changes_json FROM audit_entries"
    ).fetchone()
    conn.close()
    assert row[:3] == ("database.restored", "database", "b.sqlite3") and str(backup) in row[3]


def _database_at(path: Path, revision: str) -> Path:
    Database(_url(path), migrate=False).dispose()
    cfg = alembic_config(_url(path))
    command.upgrade(cfg, revision)
    return path


def test_an_older_backup_is_migrated_after_the_restore(db, tmp_path) -> None:
    old = _database_at(tmp_path / "old.sqlite3", "0004")
    head = current_revision(db)
    db.dispose()
    result = restore_database(db.url, old, now=NOW)
    assert (result.revision_of_backup, result.revision_now) == ("0004", head)
    assert "upgraded from revision 0004" in result.describe()


@pytest.mark.parametrize("damage", ["garbage", "newer", "foreign", "torn"])
def test_a_bad_backup_is_refused_and_nothing_changes(db, app_paths, tmp_path, damage) -> None:
    _add_shop(db, 1)
    bad = tmp_path / "bad.sqlite3"
    if damage == "garbage":
        bad.write_bytes(os.urandom(64 * 1024))
        expected = "cannot be read as a SQLite database"
    elif damage == "foreign":
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
        expected = "not a ShopCtrl Desktop database"
    else:
        backup_database(db.url, bad)
        conn = sqlite3.connect(bad)
        if damage == "newer":
            conn.execute("UPDATE alembic_version SET version_num = '0099_future'")
            expected = "newer version of ShopCtrl Desktop"
        else:
            conn.execute("CREATE TABLE filler (x)")
            conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 2000)
            expected = "damaged|not a usable"
        conn.commit()
        conn.close()
        if damage == "torn":
            raw = bytearray(bad.read_bytes())
            raw[len(raw) // 2 : len(raw) // 2 + 8192] = os.urandom(8192)
            bad.write_bytes(bytes(raw))
    db.dispose()
    before = app_paths.database_file.read_bytes()
    with pytest.raises(BackupError, match=expected):
        restore_database(db.url, bad, now=NOW)
    assert app_paths.database_file.read_bytes() == before
    assert not list(app_paths.data_dir.glob("*before-restore*"))
    assert not list(app_paths.data_dir.glob(".*tmp*"))


def test_restore_refused_while_an_engine_holds_the_database_and_an_engine_waits_for_a_restore(
    db, app_paths, tmp_path
) -> None:
    backup = backup_database(db.url, tmp_path / "b.sqlite3")
    with (
        EngineLock(app_paths.database_file, exclusive=False),
        EngineLock(app_paths.database_file, exclusive=False),
    ):  # two engines on one file are fine
        with pytest.raises(DatabaseInUseError, match="an engine is using the database"):
            restore_database(db.url, backup, now=NOW)
    with EngineLock(app_paths.database_file, exclusive=True):
        with pytest.raises(DatabaseInUseError, match="being restored"):
            EngineLock(app_paths.database_file, exclusive=False)


def test_daily_backup_taken_when_due_and_only_seven_kept(db, app_paths) -> None:
    folder = backup_folder(app_paths.data_dir)
    folder.mkdir()
    for i in range(8):  # eight older backups, the newest two days ago
        day = NOW - timedelta(days=9 - i)
        old = folder / daily_backup_name(day.date())
        old.write_bytes(b"old")
    (folder / "my-own-copy.sqlite3").write_bytes(b"mine")
    taken = take_daily_backup_if_due(app_paths.database_file, folder, NOW)
    assert taken == folder / "shopctrl-2026-12-03.sqlite3"
    assert stat.S_IMODE(taken.stat().st_mode) == 0o600
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["my-own-copy.sqlite3"] + [
        daily_backup_name((NOW - timedelta(days=d)).date()) for d in (7, 6, 5, 4, 3, 2, 0)
    ]
    assert (
        take_daily_backup_if_due(app_paths.database_file, folder, NOW + timedelta(hours=14)) is None
    )  # 23:30 the same day
    assert take_daily_backup_if_due(app_paths.database_file, folder, NOW + timedelta(days=1)) is not None
    kept = sorted(p.name for p in folder.iterdir() if p.name.startswith("shopctrl-"))
    assert (
        len(kept) == 7
        and kept[0] == "shopctrl-2026-11-27.sqlite3"
        and kept[-1] == "shopctrl-2026-12-04.sqlite3"
    )


async def test_the_engine_takes_a_daily_backup_and_holds_the_database(
    db, box, app_paths, monkeypatch
) -> None:
    monkeypatch.setattr(daily_backup, "FIRST_CHECK_DELAY", 0.0)
    _add_shop(db, 5)
    engine = Engine(db, box, fast_settings(), app_paths, listen=False)
    await engine.start()
    try:
        with pytest.raises(DatabaseInUseError):
            EngineLock(app_paths.database_file, exclusive=True)
        folder = backup_folder(app_paths.data_dir)
        expected = folder / daily_backup_name(datetime.now(UTC).date())
        deadline = time.monotonic() + 30
        while not expected.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert expected.exists()
    finally:
        await engine.stop()
    assert _shops(expected) == 1
    EngineLock(app_paths.database_file, exclusive=True).release()  # free again once the engine stopped


async def test_an_engine_does_not_start_while_a_restore_holds_the_database(db, box, app_paths) -> None:
    engine = Engine(db, box, fast_settings(), app_paths, listen=False)
    with EngineLock(app_paths.database_file, exclusive=True):
        with pytest.raises(DatabaseInUseError, match="being restored"):
            await engine.start()
    assert not engine.running
    EngineLock(app_paths.database_file, exclusive=True).release()  # the failed start let go of its lock
