"""``shopctrl-desktop endpoints list|pause|resume``: endpoints, their circuit breaker, pause and resume
(SPEC §11, docs/endpoints.md)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from shopctrl_desktop.cli.common import (
    EXIT_OK,
    CliError,
    Context,
    out,
    print_help_for_missing_action,
    print_json,
    print_table,
)


def cmd_endpoints_list(ctx: Context) -> int:
    from shopctrl_desktop.store.endpoints import list_endpoints

    with ctx.db.session() as session:
        summaries = list_endpoints(session)
    if ctx.args.json:
        print_json([s.to_json() for s in summaries])
        return EXIT_OK
    rows = [
        [
            str(s.id or ""),
            s.state,
            s.url,
            str(s.queued),
            str(s.retrying),
            str(s.failed),
            (s.last_error or "")[:60],
        ]
        for s in summaries
    ]
    print_table(rows, ["ID", "STATE", "URL", "QUEUED", "RETRYING", "FAILED", "LAST ERROR"])
    return EXIT_OK


def _change(ctx: Context, pausing: bool) -> int:
    from shopctrl_desktop.domain.breaker import short_name
    from shopctrl_desktop.store.endpoints import EndpointNotFound, pause_endpoint, resume_endpoint

    try:
        with ctx.db.session() as session:
            change = pause_endpoint if pausing else resume_endpoint
            key, count, changed = change(session, ctx.args.endpoint)
    except EndpointNotFound as exc:
        raise CliError(str(exc)) from None
    name = short_name(key)
    if pausing:
        out(
            f"{name} paused; {count} waiting item(s) keep their attempts until it is resumed"
            if changed
            else f"{name} was already paused"
        )
    else:
        out(f"{name} resumed; {count} waiting item(s) are due now" if changed else f"{name} was not paused")
    return EXIT_OK


def cmd_endpoints_pause(ctx: Context) -> int:
    return _change(ctx, pausing=True)


def cmd_endpoints_resume(ctx: Context) -> int:
    return _change(ctx, pausing=False)


def add_endpoints_parser(
    add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add ``endpoints`` and its actions; ``add`` is ``build_parser``'s subcommand factory."""
    endpoints = add(
        "endpoints",
        lambda ctx: print_help_for_missing_action(endpoints),
        "list endpoints with their state; pause or resume deliveries to one",
    )
    sub = endpoints.add_subparsers(dest="endpoints_command", metavar="ACTION")
    p = sub.add_parser(
        "list", help="every endpoint: state, queued/retrying/failed counts, last error", parents=[common]
    )
    p.add_argument("--json", action="store_true", help="one JSON array with camelCase fields")
    p.set_defaults(handler=cmd_endpoints_list)
    for name, handler, text in (
        (
            "pause",
            cmd_endpoints_pause,
            "hold deliveries to an endpoint; its items wait and keep their attempts",
        ),
        (
            "resume",
            cmd_endpoints_resume,
            "deliver to a paused endpoint (or one whose circuit is open) again now",
        ),
    ):
        p = sub.add_parser(name, help=text, description=text, parents=[common])
        p.add_argument(
            "endpoint", metavar="ID|URL", help="the endpoint's ID from 'endpoints list', or its URL"
        )
        p.set_defaults(handler=handler)
