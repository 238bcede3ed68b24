"""What every command of the command line shares: exit codes, the error a command raises, its context and
how it writes output. The command modules import this one; it imports none of them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopctrl_desktop.app_context import AppContext

if TYPE_CHECKING:
    from shopctrl_desktop.config import Settings
    from shopctrl_desktop.paths import AppPaths
    from shopctrl_desktop.store.db import Database

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """Printed as ``shopctrl-desktop: <message>`` with the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class Context(AppContext):
    """The application context plus the command's parsed arguments; a database that cannot be opened is a
    usage error (exit 2) with the driver's message."""

    def __init__(self, args: argparse.Namespace, paths: AppPaths, settings: Settings) -> None:
        super().__init__(paths, settings)
        self.args = args

    @property
    def db(self) -> Database:
        from shopctrl_desktop.store.db import DatabaseError

        try:
            return super().db
        except DatabaseError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def print_json(data: Any) -> None:
    out(json.dumps(data, indent=2, ensure_ascii=False))


def print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    out("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in rows:
        out("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def read_json_file(name: str) -> Any:
    """The JSON document in file ``name`` (``-``: standard input); CliError saying what is wrong."""
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text("utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"{name} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{name} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


def print_help_for_missing_action(parser: argparse.ArgumentParser) -> int:
    """A command group given without its action (``queue``): its help on standard error, exit 2."""
    parser.print_help(sys.stderr)
    return EXIT_USAGE
