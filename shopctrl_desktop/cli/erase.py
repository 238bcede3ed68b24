"""``erase --entity TYPE:ID | --email ADDRESS [--dry-run]``: a customer's erasure request (docs/data.md)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from shopctrl_desktop.cli.common import EXIT_OK, CliError, Context, out


def cmd_erase(ctx: Context) -> int:
    from shopctrl_desktop.domain.erasure import ErasureError, parse_request
    from shopctrl_desktop.store.erasure import erase

    try:
        request = parse_request(ctx.args.entity, ctx.args.email)
    except ErasureError as exc:
        raise CliError(str(exc)) from None
    if ctx.args.dry_run:
        with ctx.db.sessions() as session:
            result = erase(session, request, dry_run=True)
    else:
        with ctx.db.session() as session:
            result = erase(session, request)
    out(result.describe(request, dry_run=ctx.args.dry_run))
    return EXIT_OK


def add_erase_parser(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    del common
    p = add("erase", cmd_erase, "erase a customer's data: events, payloads, response bodies, alert texts")
    p.add_argument("--entity", metavar="TYPE:ID", help="the events about this entity, e.g. Customer:42")
    p.add_argument("--email", metavar="ADDRESS", help="everything that contains this e-mail address")
    p.add_argument("--dry-run", action="store_true", help="say what would be erased, change nothing")


__all__ = ["add_erase_parser"]
