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
    from shopctrl_desktop.domain.endpoint_stats import latency_text
    from shopctrl_desktop.store.endpoint_stats import endpoint_page

    with ctx.db.session() as session:
        page = endpoint_page(session)
    if ctx.args.json:
        print_json([e.to_json() for e in page])
        return EXIT_OK
    rows = [
        [
            str(e.summary.id or ""),
            e.summary.state,
            e.summary.url,
            e.hour.text(),
            e.day.text(),
            f"{latency_text(e.p50_ms)} / {latency_text(e.p95_ms)}",
            str(e.summary.queued),
            str(e.summary.retrying),
            str(e.summary.failed),
            (e.summary.last_error or "")[:60],
            ", ".join(e.summary.triggers)[:60],
        ]
        for e in page
    ]
    headers = ["ID", "STATE", "URL", "OK 1H", "OK 24H", "P50 / P95", "QUEUED", "RETRYING", "FAILED"]
    print_table(rows, [*headers, "LAST ERROR", "USED BY"])
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
        "list",
        help="every endpoint: state, success rate 1 h/24 h, latency p50/p95, queued/retrying/failed counts, "
        "last error, the triggers using it",
        parents=[common],
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
