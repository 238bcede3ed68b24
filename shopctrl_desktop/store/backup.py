"""Backing up and restoring a SQLite database file (SQLite's online backup API; docs/data.md "Backing up").

A backup is one self-contained SQLite file (rollback journal, no ``-wal``), mode 0600 — it holds customer
data and the sealed secrets — written to a temporary file beside the target and renamed into place, so the
target is either the old file or the whole new one. It is a snapshot of the moment the backup began: the
source is read inside one read transaction, which in WAL mode never blocks the engine's writers.

A PostgreSQL database is refused in words: ``pg_dump`` / ``pg_restore`` are the tools for a shared one.
"""

from __future__ import annotations

import contextlib
import os
import secrets as _random
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from shopctrl_desktop.domain.audit import AuditAction, FieldChange, Subject, SubjectKind
from shopctrl_desktop.store.engine_lock import EngineLock

POSTGRES_HINT = (
    "is a PostgreSQL database: back it up with PostgreSQL's own tools, e.g. `pg_dump -Fc -f shopctrl.dump "
    'DBNAME`, and restore with `pg_restore` (docs/data.md, "PostgreSQL")'
)


class BackupError(RuntimeError):
    """A backup or restore cannot be done; the message says why in plain words."""


def sqlite_database_file(url: str) -> Path:
    """The file of a SQLite URL; BackupError for PostgreSQL (pointing at pg_dump) or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(f"{parsed.render_as_string(hide_password=True)} {POSTGRES_HINT}")
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up or restore")
    return Path(parsed.database)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _new_private_file(directory: Path, name: str) -> Path:
    """An empty file (mode 0600) beside where ``name`` goes; the caller renames or removes it."""
    directory.mkdir(parents=True, exist_ok=True)
    temp = directory / f".{name}.tmp-{os.getpid()}-{_random.token_hex(4)}"
    os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    return temp


def _fsync(path: Path, *, directory: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:  # Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy_into(
    source: Path, temp: Path, *, pages: int, pause: float, stop: Callable[[], bool] | None
) -> None:
    """SQLite's backup of ``source`` (one snapshot: a read transaction held throughout) into ``temp``."""
    try:
        src = _connect_read_only(source)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read {source}: {exc}") from None
    try:
        dst = sqlite3.connect(temp)
        try:
            src.execute("BEGIN")
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts here

            def progress(_status: int, _remaining: int, _total: int) -> None:
                if stop is not None and stop():
                    raise BackupError("the backup was stopped")

            src.backup(dst, pages=pages, progress=progress, sleep=pause)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            dst.close()
            with contextlib.suppress(sqlite3.Error):
                src.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} cannot be read as a SQLite database: {exc}") from None
    finally:
        src.close()


def backup_sqlite_file(
    source: Path,
    target: Path,
    *,
    pages: int = -1,
    pause: float = 0.0,
    stop: Callable[[], bool] | None = None,
) -> Path:
    """A consistent copy of the SQLite file ``source`` at ``target`` (replaced atomically, mode 0600).

    ``pages`` > 0 copies that many pages per step with ``pause`` seconds between steps (the engine's daily
    backup); ``stop`` returning True between steps abandons the backup and leaves ``target`` as it was."""
    target = Path(target)
    temp = _new_private_file(target.parent, target.name)
    try:
        _copy_into(Path(source), temp, pages=pages, pause=pause, stop=stop)
        os.chmod(temp, 0o600)
        _fsync(temp)
        os.replace(temp, target)
        _fsync(target.parent, directory=True)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


def backup_database(url: str, target: Path) -> Path:
    """``backup FILE``: the database behind ``url`` (SQLite only) copied to ``target``."""
    source = sqlite_database_file(url)
    if Path(target).resolve() == source.resolve():
        raise BackupError(f"{target} is the database itself; choose another file")
    return backup_sqlite_file(source, Path(target))


# --- checking a backup ---------------------------------------------------------------------------------
def schema_revision(path: Path) -> str | None:
    """The Alembic revision recorded in a SQLite file; None when it has no ``alembic_version`` table."""
    conn = _connect_read_only(path)
    try:
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone():
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None
    finally:
        conn.close()


def integrity_problems(path: Path) -> list[str]:
    """``PRAGMA integrity_check``'s findings (empty when the file is sound)."""
    conn = _connect_read_only(path)
    try:
        rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
    finally:
        conn.close()
    return [] if rows == ["ok"] else rows


def check_backup(path: Path) -> str:
    """The schema revision of a sound ShopCtrl Desktop backup this version can open; BackupError otherwise."""
    from shopctrl_desktop.store.db import known_revision

    try:
        problems = integrity_problems(path)
        revision = schema_revision(path)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a usable SQLite database: {exc}") from None
    if problems:
        raise BackupError(
            f"{path} is damaged (integrity check: {'; '.join(problems[:3])}); nothing was changed"
        )
    if revision is None:
        raise BackupError(
            f"{path} is not a ShopCtrl Desktop database (no schema revision); nothing was changed"
        )
    if not known_revision(revision):
        raise BackupError(
            f"{path} was written by a newer version of ShopCtrl Desktop (schema revision {revision}); "
            "install that version to restore it; nothing was changed"
        )
    return revision


# --- restoring -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RestoreResult:
    database: Path
    backup: Path
    kept: Path | None  # the database as it was before, None when there was none
    revision_of_backup: str
    revision_now: str

    def describe(self) -> str:
        lines = [f"restored {self.database} from {self.backup}"]
        if self.kept is not None:
            lines.append(f"the database as it was is kept as {self.kept}")
        if self.revision_of_backup != self.revision_now:
            lines.append(
                f"its schema was upgraded from revision {self.revision_of_backup} to {self.revision_now}"
            )
        return "\n".join(lines)


def _keep_current(database: Path, now: datetime) -> Path | None:
    """The current database (and its -wal/-journal) under ``<name>.before-restore-<timestamp>``."""
    if not database.exists():
        return None
    kept = database.with_name(f"{database.name}.before-restore-{now.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.link(database, kept)
    except OSError:
        shutil.copy2(database, kept)
    os.chmod(kept, 0o600)
    for suffix in ("-wal", "-journal"):  # committed pages not yet in the file belong to the kept copy
        side = database.with_name(database.name + suffix)
        if side.exists():
            os.replace(side, kept.with_name(kept.name + suffix))
    database.with_name(database.name + "-shm").unlink(missing_ok=True)
    return kept


def restore_database(url: str, backup: Path, *, now: datetime | None = None) -> RestoreResult:
    """``restore FILE``: check ``backup``, keep the current database, put the backup in its place (one
    rename), upgrade its schema if it is older, and record the restore in the restored database's audit
    trail. Refused (BackupError / DatabaseInUseError) while an engine uses the database; nothing changed."""
    from shopctrl_desktop.store.audit import record
    from shopctrl_desktop.store.db import Database

    database = sqlite_database_file(url)
    backup = Path(backup)
    if backup.resolve() == database.resolve():
        raise BackupError(f"{backup} is the database itself; choose a backup file")
    now = now or datetime.now(UTC)
    with EngineLock(database, exclusive=True):
        temp = _new_private_file(database.parent, database.name)
        try:
            _copy_into(backup, temp, pages=-1, pause=0.0, stop=None)
            revision = check_backup(temp)
            kept = _keep_current(database, now)
            os.replace(temp, database)
            _fsync(database.parent, directory=True)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        db = Database(url)  # migrates an older backup to this version's schema
        try:
            from shopctrl_desktop.store.db import current_revision

            revision_now = current_revision(db)
            with db.session() as session:
                record(
                    session,
                    AuditAction.DATABASE_RESTORED,
                    Subject(SubjectKind.DATABASE, None, backup.name),
                    [
                        FieldChange("backup", None, str(backup.resolve())),
                        FieldChange("kept as", None, str(kept) if kept else None),
                        FieldChange("schema revision", revision, revision_now),
                    ],
                )
        finally:
            db.dispose()
    return RestoreResult(database, backup, kept, revision, revision_now)
