"""``backup FILE`` and ``restore FILE`` (docs/data.md "Backing up", "Restoring")."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from shopctrl_desktop.cli.common import EXIT_OK, CliError, Context, out


def cmd_backup(ctx: Context) -> int:
    from shopctrl_desktop.store.backup import BackupError, backup_database

    try:
        target = backup_database(ctx.database_url, Path(ctx.args.file))
    except BackupError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write {ctx.args.file}: {exc.strerror or exc}") from None
    out(f"backed up {ctx.database_url.removeprefix('sqlite:///')} to {target} (mode 0600)")
    out(f"keep {ctx.paths.key_file.name} with it: the stored secrets need that key (docs/data.md)")
    return EXIT_OK


def cmd_restore(ctx: Context) -> int:
    from shopctrl_desktop.store.backup import BackupError, restore_database
    from shopctrl_desktop.store.db import DatabaseError
    from shopctrl_desktop.store.engine_lock import DatabaseInUseError

    try:
        result = restore_database(ctx.database_url, Path(ctx.args.file))
    except (BackupError, DatabaseInUseError, DatabaseError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(
            f"cannot restore from {ctx.args.file}: {exc.strerror or exc}; nothing was changed"
        ) from None
    out(result.describe())
    return EXIT_OK


def add_backup_parsers(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    del common
    p = add(
        "backup",
        cmd_backup,
        "copy the SQLite database to FILE while the engine runs (consistent; mode 0600)",
    )
    p.add_argument("file", metavar="FILE")
    p = add(
        "restore",
        cmd_restore,
        "replace the database with the backup FILE (the engine must be stopped; the current one is kept)",
    )
    p.add_argument("file", metavar="FILE")


__all__ = ["add_backup_parsers"]
