"""``db setup``, ``db add-user`` and ``whoami`` (SPEC §10): joining a shared database, run by its owner, and
asking who the current login is and what it may do."""

from __future__ import annotations

import argparse
import getpass
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
)
from shopctrl_desktop.store.triggers import move_url_credentials

SQLITE_NO_ROLES = (
    "roles: not used on SQLite — this computer's OS account is the boundary and its user is an admin"
)


def cmd_db_setup(ctx: Context) -> int:
    from sqlalchemy import text

    from shopctrl_desktop.store.roles import setup_roles

    db = ctx.db  # opening it creates or upgrades the schema
    with db.session() as session:
        revision = session.scalar(text("SELECT version_num FROM alembic_version"))
    out(f"schema: up to date (revision {revision}) in {db.display_url}")
    if db.is_postgresql:
        with db.session() as session:
            result = setup_roles(session)
        for name in result.created_roles:
            out(f"created role {name}")
        out(
            "roles: privileges set" if result.changed or result.created_roles else "roles: already up to date"
        )
    else:
        out(SQLITE_NO_ROLES)
    _setup_engine_key(ctx)
    with db.session() as session:
        moved = move_url_credentials(session, ctx.box)
    if moved:
        out(
            f"moved the user name and password out of {moved} webhook URL(s) into their Authentication settings"
        )
    return EXIT_OK


def _setup_engine_key(ctx: Context) -> None:
    """The engine keypair: this workstation's key becomes the database's engine key when it has none. On a
    workstation that does not hold the recorded key (an admin's, or the owner's after the first setup) it
    only says which key the database has: the schema and roles are this command's job everywhere."""
    from shopctrl_desktop.cli.keys import ensure_engine_keypair
    from shopctrl_desktop.store.keys import check_key, unsealed_count

    with ctx.db.session() as session:
        check = check_key(session, ctx.box)
        if check.sealed and not check.matches:
            out(
                f"engine key: {check.needed} (recorded; this workstation does not hold it: it can seal secrets "
                "but not read them — right for an admin or support workstation)"
            )
            return
        if not check.matches:
            out(
                f"engine key: not created here: this workstation's key ({check.have}) does not open this "
                "database's secrets; run `shopctrl-desktop key migrate` on the workstation that has their key"
            )
            return
        box = ensure_engine_keypair(ctx, session)
        older = unsealed_count(session)
    out(f"engine key: {box.fingerprint} (private key from {box.source}; keep it on the engine's machine)")
    if older:
        out(f"{older} stored secret(s) use the older symmetric key: run `shopctrl-desktop key migrate` here")


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Password for the new user: ")
    return sys.stdin.readline().rstrip("\r\n")


def cmd_db_add_user(ctx: Context) -> int:
    from shopctrl_desktop.domain.roles import Role, RoleNameError, validate_user_name
    from shopctrl_desktop.store.roles import RolesError, add_user

    try:
        name = validate_user_name(ctx.args.name)
    except RoleNameError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    db = ctx.db
    if not db.is_postgresql:
        raise CliError(f"users are PostgreSQL logins; {SQLITE_NO_ROLES.removeprefix('roles: ')}", EXIT_USAGE)
    password = _read_password()
    try:
        with db.session() as session:
            add_user(session, name, Role(ctx.args.role), password)
    except RolesError as exc:
        raise CliError(str(exc)) from None
    out(f"added user {name} with role {ctx.args.role}")
    return EXIT_OK


def cmd_whoami(ctx: Context) -> int:
    from shopctrl_desktop.store.audit import os_user, workstation
    from shopctrl_desktop.store.roles import current_identity

    with ctx.db.session() as session:
        identity = current_identity(session, os_user())
    role = identity.role.value if identity.role else "none"
    data = {
        "user": identity.user,
        "role": role,
        "owner": identity.owner,
        "workstation": workstation(),
        "database": ctx.db.display_url,
        "may": sorted(c.value for c in identity.capabilities),
    }
    if ctx.args.json:
        print_json(data)
        return EXIT_OK
    note = " (owner of the database)" if identity.owner and ctx.db.is_postgresql else ""
    if not ctx.db.is_postgresql:
        note = " (SQLite: the OS user is an admin)"
    out(f"user: {identity.user}")
    out(f"role: {role}{note}")
    out(f"workstation: {data['workstation']}")
    out(f"database: {data['database']}")
    out(f"may: {', '.join(data['may']) or 'nothing'}")  # type: ignore[arg-type]
    return EXIT_OK


def add_db_parsers(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``db`` with its actions and ``whoami``; ``add`` is ``build_parser``'s subcommand factory."""
    db = add("db", lambda ctx: print_help_for_missing_action(db), "set up a shared database and its users")
    sub = db.add_subparsers(dest="db_command", metavar="ACTION")
    p = sub.add_parser(
        "setup",
        help="create or upgrade the schema; on PostgreSQL also the roles and their privileges (database owner)",
        parents=[common],
    )
    p.set_defaults(handler=cmd_db_setup)
    p = sub.add_parser(
        "add-user",
        help="add a PostgreSQL login in a role; the password is read from standard input (database owner)",
        parents=[common],
    )
    p.add_argument("name", metavar="NAME", help="the login's name")
    p.add_argument("--role", required=True, choices=["admin", "support", "engine"])
    p.set_defaults(handler=cmd_db_add_user)
    p = add("whoami", cmd_whoami, "the current user, role and workstation, and what the role may do")
    p.add_argument("--json", action="store_true", help="one JSON object")
