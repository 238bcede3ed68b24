"""``shopctrl-desktop audit list``: the audit trail (SPEC §10), newest first."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime

from shopctrl_desktop.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Context,
    print_help_for_missing_action,
    print_json,
    print_table,
)


def parse_since(value: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is UTC (as the table shows times)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"--since {value!r} is not an ISO date or time; use e.g. 2026-12-01 or 2026-12-01T09:30Z",
            EXIT_USAGE,
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def cmd_audit_list(ctx: Context) -> int:
    from shopctrl_desktop.store.audit import list_entries

    since = parse_since(ctx.args.since) if ctx.args.since else None
    with ctx.db.session() as session:
        entries = list_entries(
            session, who=ctx.args.who, what=ctx.args.what, since=since, limit=ctx.args.limit
        )
    if ctx.args.json:
        print_json([e.to_json() for e in entries])
        return EXIT_OK
    rows = [
        [
            str(e.id),
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.who,
            e.workstation,
            e.summary[:100],
        ]
        for e in entries
    ]
    print_table(rows, ["ID", "AT (UTC)", "WHO", "WORKSTATION", "WHAT"])
    return EXIT_OK


def add_audit_parser(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``audit`` and its actions; ``add`` is ``build_parser``'s subcommand factory."""
    audit = add("audit", lambda ctx: print_help_for_missing_action(audit), "show the audit trail")
    sub = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    p = sub.add_parser(
        "list", help="who changed what, from which workstation, when (newest first)", parents=[common]
    )
    p.add_argument(
        "--since", metavar="ISO", help="only entries at or after this date/time (UTC unless given)"
    )
    p.add_argument("--who", metavar="USER", help="only this user's entries")
    p.add_argument(
        "--what",
        metavar="ACTION",
        help="an action (trigger.changed) or a kind (trigger, item, alerts, settings)",
    )
    p.add_argument("--limit", type=int, default=500, help="at most this many entries (default 500)")
    p.add_argument("--json", action="store_true", help="one JSON array with camelCase fields")
    p.set_defaults(handler=cmd_audit_list)
