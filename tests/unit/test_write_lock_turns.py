"""SQLite's write lock between two connections (two processes of ``serve --workers N``): BEGIN IMMEDIATE is
tried again every fraction of a millisecond instead of SQLite's 1-100 ms sleeps, and still gives up with
"database is locked" after the busy timeout."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from shopctrl_desktop.store import ingest_sql
from shopctrl_desktop.store.ingest_sql import begin_immediate


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def busy_timeout(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA busy_timeout").fetchone()[0])


def test_the_waiting_writer_gets_the_lock_soon_after_the_other_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "db.sqlite3"
    holder, waiter = connect(path), connect(path)
    holder.execute("CREATE TABLE t (x)")
    holder.commit()
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    tried = threading.Event()
    real_sleep = time.sleep

    def noting_sleep(seconds: float) -> None:
        assert seconds <= max(ingest_sql.WRITE_LOCK_POLL)
        tried.set()
        real_sleep(seconds)

    monkeypatch.setattr(ingest_sql.time, "sleep", noting_sleep)
    got_at: list[float] = []
    thread = threading.Thread(target=lambda: (begin_immediate(waiter), got_at.append(time.monotonic())))
    thread.start()
    assert tried.wait(10), "the second writer never found the lock taken"
    assert not got_at
    committed_at = time.monotonic()
    holder.commit()
    thread.join(10)
    assert got_at and got_at[0] - committed_at < 1.0
    assert waiter.in_transaction
    waiter.execute("INSERT INTO t VALUES (2)")
    waiter.commit()
    assert busy_timeout(waiter) == ingest_sql.SQLITE_BUSY_TIMEOUT_MS  # restored for every other statement
    assert holder.execute("SELECT count(*) FROM t").fetchone()[0] == 2


def test_after_the_busy_timeout_it_fails_as_sqlite_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "db.sqlite3"
    holder, waiter = connect(path), connect(path)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(ingest_sql, "SQLITE_BUSY_TIMEOUT_MS", 50)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        begin_immediate(waiter)
    assert not waiter.in_transaction
    assert busy_timeout(waiter) == 50
    holder.rollback()
