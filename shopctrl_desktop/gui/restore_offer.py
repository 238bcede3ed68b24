"""At start, when the SQLite database file cannot be opened (damaged, not a database): the error dialog names
the file and offers the latest automatic backup ("Restore the backup of 2026-12-02?").

Restoring is ``store.backup.restore_database`` — the same as ``shopctrl-desktop restore FILE``: the backup is
checked first, the damaged file is kept as ``<name>.before-restore-<timestamp>``, the restore is audited.
"""

from __future__ import annotations

import logging
import sqlite3
from enum import Enum
from pathlib import Path

from shopctrl_desktop.config import Settings, database_url_for
from shopctrl_desktop.domain.backups import backup_day, latest_backup
from shopctrl_desktop.engine.daily_backup import backup_folder
from shopctrl_desktop.paths import AppPaths
from shopctrl_desktop.store.backup import BackupError, integrity_problems, sqlite_database_file
from shopctrl_desktop.store.engine_lock import DatabaseInUseError, EngineLock

log = logging.getLogger(__name__)


class Offer(Enum):
    NONE = "none"  # not a damaged SQLite file, or no backup: the plain error dialog
    DECLINED = "declined"  # the person chose Quit (or the restore failed, said in its own dialog)
    RESTORED = "restored"  # start again


def _damaged_database(paths: AppPaths, settings: Settings) -> Path | None:
    """The SQLite file the app would open, when it exists and is damaged or not a database."""
    try:
        database = sqlite_database_file(database_url_for(paths, settings))
    except BackupError:
        return None
    if not database.is_file():
        return None
    try:
        return database if integrity_problems(database) else None
    except (sqlite3.Error, BackupError):
        return database


def offer_latest_backup(paths: AppPaths, settings: Settings, message: str, parent: object = None) -> Offer:
    from PySide6.QtWidgets import QMessageBox

    from shopctrl_desktop.gui.help import APP_TITLE
    from shopctrl_desktop.store.backup import restore_database

    database = _damaged_database(paths, settings)
    folder = backup_folder(paths.data_dir)
    latest = latest_backup(p.name for p in folder.iterdir()) if folder.is_dir() else None
    if database is None or latest is None:
        return Offer.NONE
    day = backup_day(latest)
    box = QMessageBox(parent)  # type: ignore[arg-type]
    box.setObjectName("restore_offer")
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(f"{APP_TITLE} cannot start")
    box.setText(f"The database file {database} cannot be opened.\n\nRestore the backup of {day}?")
    first_line = (message.splitlines() or [""])[0]
    reason = first_line.rsplit(") ", 1)[-1] if ") " in first_line else first_line  # the driver's words
    box.setInformativeText(
        f"SQLite says: {reason}.\n\nThe backup: {folder / latest}\nThe damaged file is kept as "
        f"{database.name}.before-restore-…; changes made after the backup was taken are not in the backup."
    )
    restore = box.addButton("Restore the backup", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(restore)
    box.exec()
    if box.clickedButton() is not restore:
        return Offer.DECLINED
    try:
        result = restore_database(database_url_for(paths, settings), folder / latest)
    except Exception as exc:  # noqa: BLE001 - said in words, at the place the person acted
        log.error("restoring %s failed: %s", folder / latest, exc)
        QMessageBox.critical(None, f"{APP_TITLE} cannot start", f"The backup cannot be restored: {exc}")
        return Offer.DECLINED
    log.info("%s", result.describe())
    return Offer.RESTORED


def hold_database(url: str) -> EngineLock | None:
    """The shared "in use" lock on a SQLite database file for the window's lifetime (an engine holds its
    own), so ``restore`` never replaces the file under the window; None for PostgreSQL."""
    try:
        return EngineLock(sqlite_database_file(url), exclusive=False)
    except (BackupError, DatabaseInUseError, OSError):
        return None
