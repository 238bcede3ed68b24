"""``shopctrl-desktop endpoints list|pause|resume``: endpoints, their circuit breaker, pause and resume
(SPEC §11, docs/endpoints.md)."""

from __future__ import annotations

import argparse
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


def cmd_endpoints_list(ctx: Context) -> int:
    from shopctrl_desktop.domain.endpoint_stats import latency_text
    from shopctrl_desktop.domain.rate_limit import rate_text
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
            rate_text(e.summary.rate_limit) if e.summary.rate_limit else "",
        ]
        for e in page
    ]
    headers = ["ID", "STATE", "URL", "OK 1H", "OK 24H", "P50 / P95", "QUEUED", "RETRYING", "FAILED"]
    print_table(rows, [*headers, "LAST ERROR", "USED BY", "RATE LIMIT"])
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


def cmd_endpoints_rate_limit(ctx: Context) -> int:
    """``endpoints rate-limit ID|URL RATE`` or ``--off``: at most RATE requests per second to the endpoint."""
    from shopctrl_desktop.domain.breaker import short_name
    from shopctrl_desktop.domain.rate_limit import RateLimitError, parse_rate, rate_text
    from shopctrl_desktop.store.endpoints import EndpointNotFound, RateLimitNotAllowed, set_rate_limit

    args = ctx.args
    if args.off == (args.rate is not None):
        raise CliError(
            "give either a rate in requests per second (for example 20 or 0.5) or --off, not both",
            EXIT_USAGE,
        )
    try:
        rate = None if args.off else parse_rate(args.rate)
    except RateLimitError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    try:
        with ctx.db.session() as session:
            key, before, changed = set_rate_limit(session, args.endpoint, rate)
    except (EndpointNotFound, RateLimitNotAllowed) as exc:
        raise CliError(str(exc)) from None
    name = short_name(key)
    if not changed:
        out(f"{name} already has {'no rate limit' if rate is None else f'the rate limit {rate_text(rate)}'}")
    elif rate is None:
        out(
            f"{name}: rate limit removed (was {rate_text(before)}); deliveries go as fast as the receiver answers"
        )
    else:
        out(
            f"{name}: at most {rate_text(rate)} (one request every {1 / rate:.3g} s); "
            "a running engine applies it within a few seconds"
        )
    return EXIT_OK


def add_endpoints_parser(
    add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add ``endpoints`` and its actions; ``add`` is ``build_parser``'s subcommand factory."""
    endpoints = add(
        "endpoints",
        lambda ctx: print_help_for_missing_action(endpoints),
        "list endpoints with their state; pause or resume deliveries to one, or limit their rate",
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
    text = "limit deliveries to an endpoint to RATE requests per second (spaced evenly), or --off"
    p = sub.add_parser("rate-limit", help=text, description=text, parents=[common])
    p.add_argument("endpoint", metavar="ID|URL", help="the endpoint's ID from 'endpoints list', or its URL")
    p.add_argument(
        "rate", metavar="RATE", nargs="?", help="requests per second, 0.01 to 10000 (e.g. 20 or 0.5)"
    )
    p.add_argument("--off", action="store_true", help="no rate limit (as fast as the receiver answers)")
    p.set_defaults(handler=cmd_endpoints_rate_limit)
