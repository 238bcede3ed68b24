"""``shopctrl-desktop queue list|retry|cancel`` and ``alerts list``: the queue subcommands of the command line
(``cli``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

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


def cmd_queue_retry(ctx: Context) -> int:
    from shopctrl_desktop.domain.queue import RETRYABLE_STATUSES
    from shopctrl_desktop.store.queue import get_item, retry_failed, retry_item

    if ctx.args.failed == (ctx.args.id is not None):
        raise CliError("give either an item ID or --failed", EXIT_USAGE)
    with ctx.db.session() as session:
        if ctx.args.failed:
            n = retry_failed(session)
            out(f"{n} failed item(s) queued again")
            return EXIT_OK
        if retry_item(session, ctx.args.id):
            out(f"item {ctx.args.id} queued again")
            return EXIT_OK
        item = get_item(session, ctx.args.id)
    if item is None:
        raise CliError(f"there is no queue item {ctx.args.id}")
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
