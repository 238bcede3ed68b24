"""``shopctrl-desktop shops list|rename``: shops learned from events (SPEC §3), renamed by a person (audited)."""

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


def cmd_shops_list(ctx: Context) -> int:
    from shopctrl_desktop.store.shops import list_shops

    with ctx.db.session() as session:
        shops = list_shops(session)
    if ctx.args.json:
        print_json([s.to_json() for s in shops])
        return EXIT_OK
    rows = [
        [str(s.id), s.name, s.first_seen.strftime("%Y-%m-%d %H:%M:%S") if s.first_seen else ""] for s in shops
    ]
    print_table(rows, ["ID", "NAME", "FIRST SEEN (UTC)"])
    return EXIT_OK


def cmd_shops_rename(ctx: Context) -> int:
    from shopctrl_desktop.domain.shops import ShopNameError, UnknownShopError
    from shopctrl_desktop.store.shops import rename_shop

    try:
        with ctx.db.session() as session:
            result = rename_shop(session, ctx.args.id, ctx.args.name)
    except UnknownShopError as exc:
        raise CliError(str(exc)) from None
    except ShopNameError as exc:
        raise CliError(f"shop {ctx.args.id} not renamed: {exc}", EXIT_USAGE) from None
    if result.changed:
        out(f"shop {result.shop_id} renamed: “{result.old}” → “{result.new}”")
    else:
        out(f"shop {result.shop_id} is already called “{result.new}”; nothing changed")
    return EXIT_OK


def add_shops_parser(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``shops`` and its actions; ``add`` is ``build_parser``'s subcommand factory."""
    shops: argparse.ArgumentParser = add(
        "shops",
        lambda ctx: print_help_for_missing_action(shops),
        "list shops (learned from events) or rename one",
    )
    sub = shops.add_subparsers(dest="shops_command", metavar="ACTION")
    p = sub.add_parser(
        "list", help="shops by id, with their names and when they were first seen", parents=[common]
    )
    p.add_argument("--json", action="store_true", help="one JSON array with camelCase fields")
    p.set_defaults(handler=cmd_shops_list)
    p = sub.add_parser("rename", help="give a shop a name (recorded in the audit trail)", parents=[common])
    p.add_argument("id", type=int, metavar="ID", help="the shop's id (as in the events' shopId)")
    p.add_argument("name", metavar="NAME", help="the new name (quote it if it has spaces)")
    p.set_defaults(handler=cmd_shops_rename)
