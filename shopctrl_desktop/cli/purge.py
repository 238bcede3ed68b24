"""``purge [--dry-run] [--vacuum]``: retention now, instead of waiting for the engine's turn (docs/data.md
"How long data is kept")."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime

from shopctrl_desktop.cli.common import EXIT_OK, CliError, Context, out


def cmd_purge(ctx: Context) -> int:
    from shopctrl_desktop.domain.retention import cutoffs
    from shopctrl_desktop.store.retention import Purged, count_due, give_all_space_back, purge_batch

    s = ctx.settings
    cut = cutoffs(datetime.now(UTC), s.keep_delivered_days, s.keep_failed_days)
    rules = (
        f"delivered and cancelled items after {s.keep_delivered_days} days, failed after {s.keep_failed_days}"
        if cut.any
        else "retention is off (keep_delivered_days and keep_failed_days are 0)"
    )
    if ctx.args.dry_run:
        with ctx.db.sessions() as session:
            due = count_due(session, cut)
        kinds = ", ".join(f"{n:,} {status}" for status, n in sorted(due.by_status.items())) or "no items"
        out(f"would delete {kinds} ({due.attempts:,} attempts) and {due.events:,} event snapshots ({rules})")
        return EXIT_OK
    total = Purged()
    while True:
        with ctx.db.session() as session:
            done = purge_batch(session, cut)
        if done.nothing:
            break
        total.add(done)
    kinds = ", ".join(f"{n:,} {status}" for status, n in sorted(total.by_status.items())) or "no items"
    out(f"deleted {kinds} ({total.attempts:,} attempts) and {total.events:,} event snapshots ({rules})")
    if ctx.args.vacuum:
        _vacuum(ctx)
    elif ctx.db.is_sqlite:
        if not give_all_space_back(ctx.db):
            out(
                "the file keeps its size: this database was created before retention; run `purge --vacuum` "
                "once with the engine stopped to give the space back"
            )
    return EXIT_OK


def _vacuum(ctx: Context) -> None:
    from pathlib import Path

    from sqlalchemy import text

    from shopctrl_desktop.store.engine_lock import DatabaseInUseError, EngineLock

    if not ctx.db.is_sqlite:
        raise CliError("--vacuum is for SQLite; PostgreSQL's autovacuum reuses the space by itself")
    database_file = Path(ctx.database_url.removeprefix("sqlite:///"))
    try:
        lock = EngineLock(database_file, exclusive=True)
    except DatabaseInUseError as exc:
        raise CliError(f"{exc}; --vacuum rewrites the whole file") from None
    try:
        before = database_file.stat().st_size
        with ctx.db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text("PRAGMA auto_vacuum=INCREMENTAL"))
            conn.execute(text("VACUUM"))
        after = database_file.stat().st_size
        out(
            f"rewrote {database_file}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB; from now on space comes back by itself"
        )
    finally:
        lock.release()


def add_purge_parser(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    del common
    p = add("purge", cmd_purge, "delete finished items, their attempts and events past their retention now")
    p.add_argument("--dry-run", action="store_true", help="say what would go, change nothing")
    p.add_argument(
        "--vacuum", action="store_true", help="SQLite: rewrite the file once to give the space back"
    )


__all__ = ["add_purge_parser"]
