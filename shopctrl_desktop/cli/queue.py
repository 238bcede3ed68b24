"""``shopctrl-desktop queue list|retry|cancel`` and ``alerts list``: the queue subcommands of the command line
(``cli``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from shopctrl_desktop.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Context,
    out,
    print_help_for_missing_action,
    print_json,
    print_table,
)


def cmd_queue_list(ctx: Context) -> int:
    from shopctrl_desktop.domain.model import ItemStatus, Priority
    from shopctrl_desktop.store.queue import count_items, list_items

    if ctx.args.limit < 1:
        raise CliError("--limit must be 1 or more", EXIT_USAGE)

    statuses = None
    if ctx.args.status:
        statuses = [s.strip().lower() for s in ctx.args.status.split(",") if s.strip()]
        unknown = [s for s in statuses if s not in {x.value for x in ItemStatus}]
        if unknown:
            raise CliError(
                f"unknown status {', '.join(unknown)}; use one of " + ", ".join(s.value for s in ItemStatus),
                EXIT_USAGE,
            )
    with ctx.db.session() as session:
        items = list_items(session, statuses, limit=ctx.args.limit)
        total = count_items(session, statuses) if len(items) >= ctx.args.limit else len(items)
    if total > len(items):  # on stderr: standard output stays the table or the JSON array
        matching = "matching " if statuses else ""
        print(
            f"showing the first {len(items):,} of {total:,} {matching}items (highest priority first, then "
            f"oldest); {total - len(items):,} left out: use --limit N or --status to see them",
            file=sys.stderr,
        )
    if ctx.args.json:
        print_json([i.to_json() for i in items])
        return EXIT_OK
    rows = [
        [
            str(i.id),
            i.status,
            Priority(i.priority).label,
            i.trigger_title,
            i.event_name,
            f"{i.entity_type} {i.entity_code or i.entity_id or ''}".strip(),
            i.url,
            str(i.attempts),
            (i.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S") if i.next_attempt_at else ""),
            (f"{i.response_status or ''} {i.response_message or ''}".strip())[:60],
        ]
        for i in items
    ]
    print_table(
        rows,
        [
            "ID",
            "STATUS",
            "PRIORITY",
            "TRIGGER",
            "EVENT",
            "ENTITY",
            "URL",
            "ATTEMPTS",
            "NEXT (UTC)",
            "LAST RESPONSE",
        ],
    )
    return EXIT_OK


def _either(statuses: tuple[str, ...]) -> str:
    """("failed", "retrying", "cancelled") -> "failed, retrying or cancelled"."""
    return " or ".join(filter(None, (", ".join(statuses[:-1]), statuses[-1])))


def cmd_queue_cancel(ctx: Context) -> int:
    from shopctrl_desktop.domain.queue import CANCELLABLE_STATUSES
    from shopctrl_desktop.store.queue import cancel_item, get_item

    with ctx.db.session() as session:
        if cancel_item(session, ctx.args.id):
            out(f"item {ctx.args.id} cancelled")
            return EXIT_OK
        item = get_item(session, ctx.args.id)
    if item is None:
        raise CliError(f"there is no queue item {ctx.args.id}")
    raise CliError(
        f"item {ctx.args.id} is {item.status}; only {_either(CANCELLABLE_STATUSES)} items can be cancelled"
    )


def _since(text: str | None) -> datetime | None:
    """``--since``: an ISO 8601 time; without a zone it is UTC."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CliError(
            f"--since {text!r} is not a time; use ISO 8601, e.g. 2026-12-03T10:42 or 2026-12-03T10:42:00+01:00",
            EXIT_USAGE,
        ) from None
    return when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _retry_failed(ctx: Context) -> int:
    from shopctrl_desktop.domain.breaker import short_name
    from shopctrl_desktop.store.queue import retry_failed

    since = _since(ctx.args.since)
    dry_run = ctx.args.dry_run
    with ctx.db.session() as session:
        counts = retry_failed(session, since=since, endpoint=ctx.args.endpoint, dry_run=dry_run)
    where = f" to {ctx.args.endpoint}" if ctx.args.endpoint else ""
    when = f" since {since.isoformat().replace('+00:00', 'Z')}" if since else ""
    if dry_run:
        out(f"dry run: {counts.total} failed item(s){where}{when} would be queued again; nothing changed")
    else:
        out(f"{counts.total} failed item(s){where}{when} queued again")
    if counts:
        print_table([[str(n), short_name(key)] for key, n in sorted(counts.items())], ["ITEMS", "ENDPOINT"])
    return EXIT_OK


def cmd_queue_retry(ctx: Context) -> int:
    from shopctrl_desktop.domain.queue import RETRYABLE_STATUSES
    from shopctrl_desktop.store.queue import get_item, retry_item, superseded_by

    if ctx.args.failed == (ctx.args.id is not None):
        raise CliError("give either an item ID or --failed", EXIT_USAGE)
    if ctx.args.failed:
        return _retry_failed(ctx)
    if ctx.args.since or ctx.args.endpoint or ctx.args.dry_run:
        raise CliError("--since, --endpoint and --dry-run go with --failed", EXIT_USAGE)
    with ctx.db.session() as session:
        if retry_item(session, ctx.args.id):
            out(f"item {ctx.args.id} queued again, with a fresh retry schedule")
            return EXIT_OK
        item = get_item(session, ctx.args.id)
        newer = superseded_by(session, ctx.args.id) if item is not None else None
    if item is None:
        raise CliError(f"there is no queue item {ctx.args.id}")
    if newer is not None:
        raise CliError(
            f"item {ctx.args.id} is superseded by #{newer}, a newer item for the same entity; it is not sent "
            f"again (old data after new). To send this exact request anyway: the GUI's Resend"
        )
    raise CliError(
        f"item {ctx.args.id} is {item.status}; only {_either(RETRYABLE_STATUSES)} items can be retried"
    )


def cmd_alerts_list(ctx: Context) -> int:
    from shopctrl_desktop.store.alerts import list_alerts

    with ctx.db.session() as session:
        alerts = list_alerts(session, unread_only=ctx.args.unread, limit=ctx.args.limit)
    if ctx.args.json:
        print_json([a.to_json() for a in alerts])
        return EXIT_OK
    rows = [
        [
            str(a.id),
            a.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            a.severity,
            "" if a.read else "unread",
            str(a.item_id or ""),
            a.title,
        ]
        for a in alerts
    ]
    print_table(rows, ["ID", "CREATED (UTC)", "SEVERITY", "READ", "ITEM", "TITLE"])
    return EXIT_OK


def add_queue_parsers(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``queue`` and ``alerts`` and their actions; ``add`` is ``build_parser``'s subcommand factory."""
    queue = add(
        "queue", lambda ctx: print_help_for_missing_action(queue), "list, retry or cancel queue items"
    )
    qsub = queue.add_subparsers(dest="queue_command", metavar="ACTION")
    p = qsub.add_parser("list", help="queue items, highest priority first, then oldest", parents=[common])
    p.add_argument(
        "--status", metavar="S", help="queued, sending, delivered, retrying, failed, cancelled (comma list)"
    )
    p.add_argument(
        "--limit",
        type=int,
        default=1000,
        help="at most this many items (default 1000); how many were left out is said on standard error",
    )
    p.add_argument("--json", action="store_true", help="one JSON array with camelCase fields")
    p.set_defaults(handler=cmd_queue_list)
    p = qsub.add_parser(
        "retry", help="send an item again now (ID) or every failed item (--failed)", parents=[common]
    )
    p.add_argument("id", metavar="ID", type=int, nargs="?")
    p.add_argument("--failed", action="store_true", help="every failed item")
    p.add_argument(
        "--since", metavar="ISO", help="with --failed: only items that failed at or after this time"
    )
    p.add_argument(
        "--endpoint", metavar="URL", help="with --failed: only items sent to this endpoint (any URL of it)"
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="with --failed: print how many items per endpoint would go; change nothing",
    )
    p.set_defaults(handler=cmd_queue_retry)
    p = qsub.add_parser("cancel", help="cancel a waiting item", parents=[common])
    p.add_argument("id", metavar="ID", type=int)
    p.set_defaults(handler=cmd_queue_cancel)

    alerts = add("alerts", lambda ctx: print_help_for_missing_action(alerts), "list alerts")
    asub = alerts.add_subparsers(dest="alerts_command", metavar="ACTION")
    p = asub.add_parser("list", help="alerts, newest first", parents=[common])
    p.add_argument("--json", action="store_true", help="one JSON array with camelCase fields")
    p.add_argument("--unread", action="store_true", help="only unread alerts")
    p.add_argument("--limit", type=int, default=500)
    p.set_defaults(handler=cmd_alerts_list)
