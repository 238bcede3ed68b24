"""Command line (SPEC 8). Never imports Qt: the desktop app (``gui``) and ``demo`` are imported lazily."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from shopctrl_desktop import __version__
from shopctrl_desktop.cli.audit import add_audit_parser
from shopctrl_desktop.cli.backup import add_backup_parsers
from shopctrl_desktop.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Context,
    out,
    read_json_file,
)
from shopctrl_desktop.cli.db import add_db_parsers
from shopctrl_desktop.cli.endpoints import add_endpoints_parser
from shopctrl_desktop.cli.erase import add_erase_parser
from shopctrl_desktop.cli.keys import add_keys_parser, warn_about_key
from shopctrl_desktop.cli.purge import add_purge_parser
from shopctrl_desktop.cli.queue import add_queue_parsers
from shopctrl_desktop.cli.render import run_render
from shopctrl_desktop.cli.shops import add_shops_parser
from shopctrl_desktop.cli.triggers import add_triggers_parser
from shopctrl_desktop.config import ConfigError, load_settings
from shopctrl_desktop.paths import resolve_paths


# --- serve -------------------------------------------------------------------------------------------
def cmd_serve(ctx: Context) -> int:
    from shopctrl_desktop.engine.listener import ListenerError
    from shopctrl_desktop.engine.service import run_engine_blocking
    from shopctrl_desktop.logging_setup import setup_logging
    from shopctrl_desktop.runtime import tune_process

    setup_logging(ctx.paths, verbose=ctx.args.verbose)
    tune_process()
    warn_about_key(ctx)  # a key other than the database's: said clearly, and the engine delivers what it can
    from shopctrl_desktop.domain.serve_layout import default_workers, serve_layout
    from shopctrl_desktop.store.engine_lock import DatabaseInUseError

    workers = ctx.args.workers or ctx.settings.serve_workers or default_workers(os.cpu_count())
    if workers < 1:
        raise CliError("--workers (or the setting serve_workers) must be at least 1", EXIT_USAGE)
    layout = serve_layout(workers, sqlite=ctx.db.is_sqlite)
    try:
        if layout.single_process:
            return run_engine_blocking(ctx.db, ctx.box, ctx.settings, ctx.paths)
        from shopctrl_desktop.engine.supervisor import ServiceStartError, run_supervised

        try:
            return run_supervised(ctx.db, ctx.box, ctx.settings, ctx.paths, layout)
        except ServiceStartError as exc:
            raise CliError(str(exc)) from None
    except (ListenerError, DatabaseInUseError) as exc:
        raise CliError(str(exc)) from None


# --- token, send-event, render ----------------------------------------------------------------------
def cmd_token(ctx: Context) -> int:
    from shopctrl_desktop.engine.token import load_or_create_token, rotate_token

    ctx.paths.ensure()
    out(rotate_token(ctx.paths) if ctx.args.rotate else load_or_create_token(ctx.paths))
    return EXIT_OK


def cmd_send_event(ctx: Context) -> int:
    import urllib.error
    import urllib.request

    from shopctrl_desktop.engine.token import read_token

    document = read_json_file(ctx.args.file)
    token = read_token(ctx.paths)
    if token is None:
        raise CliError(
            f"no token in {ctx.paths.token_file}; start the engine first ('shopctrl-desktop serve')"
        )
    host = ctx.settings.listen_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    url = (
        ctx.args.url
        or f"http://{'[' + host + ']' if ':' in host else host}:{ctx.settings.listen_port}/events"
    )
    request = urllib.request.Request(
        url,
        data=json.dumps(document).encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=ctx.args.timeout) as response:  # noqa: S310 - local listener
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CliError(
            f"cannot reach the listener at {url}: {reason} (is 'shopctrl-desktop serve' running?)"
        ) from None
    text = body.decode("utf-8", "replace")
    try:
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        pass
    out(f"HTTP {status}")
    out(text)
    return EXIT_OK if status == 202 else EXIT_FAILED


def cmd_render(ctx: Context) -> int:
    return run_render(ctx)


# --- gui, demo ---------------------------------------------------------------------------------------
def cmd_gui(ctx: Context) -> int:
    try:
        from shopctrl_desktop.gui.app import main as gui_main
    except ImportError as exc:
        raise CliError(
            f"the desktop application is not available ({exc}); 'shopctrl-desktop serve' runs the "
            "engine without a screen"
        ) from None
    # The app opens the database itself, so a database that cannot be opened is shown in a dialog.
    return int(gui_main(list(ctx.args.rest or []), paths=ctx.paths, settings=ctx.settings) or 0)


def cmd_demo(ctx: Context) -> int:
    argv = [a for a in (ctx.args.rest or []) if a != "--"]
    if ctx.args.data_dir and "--data-dir" not in argv:
        argv = ["--data-dir", ctx.args.data_dir, *argv]
    for flag in ("duration", "interval"):  # the demo's own options, declared on the subparser
        if getattr(ctx.args, flag, None) is not None:
            argv += [f"--{flag}", str(getattr(ctx.args, flag))]
    if getattr(ctx.args, "headless", False):
        argv.append("--headless")
    if ctx.args.verbose:
        argv.append("--verbose")
    try:
        from shopctrl_desktop.demo.main import main as demo_main
    except ImportError as exc:
        raise CliError(f"the demo is not available in this build ({exc})") from None
    return int(demo_main(argv) or 0)


# --- parser ------------------------------------------------------------------------------------------
def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=default,
        help="data directory: database, settings, token, key (env SHOPCTRL_DATA_DIR)",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        default=default,
        help="any SQLAlchemy URL, e.g. postgresql+psycopg://… (env SHOPCTRL_DATABASE_URL)",
    )
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default=default,
        help="listener address, default 127.0.0.1:8765 (env SHOPCTRL_LISTEN)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default if suppress else False,
        help="log debug messages",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shopctrl-desktop",
        description="ShopCtrl Desktop: triggers, payload templates and a persistent webhook delivery queue. "
        "Without a command it starts the desktop application.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _global_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(
        name: str, handler: Callable[[Context], int], help_text: str, **kw: Any
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common], **kw)
        p.set_defaults(handler=handler)
        return p

    gui = add("gui", cmd_gui, "the desktop application (the default)")
    gui.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    demo = add("demo", cmd_demo, "the application with sample triggers, a sample receiver and sample events")
    demo.add_argument("--headless", action="store_true", help="run without a screen (engine in this process)")
    demo.add_argument("--duration", type=float, metavar="S", help="headless: stop after S seconds")
    demo.add_argument("--interval", type=float, metavar="S", help="seconds between two sample events")
    demo.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    serve = add(
        "serve",
        cmd_serve,
        "the engine without a screen (listener + delivery); stops cleanly on SIGINT/SIGTERM",
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes: 1 = everything in one; N ≥ 2 = intake and delivery processes under a "
        "supervisor (default: setting serve_workers, else one per core, at most 4)",
    )

    add_triggers_parser(add, common)
    add_queue_parsers(add, common)
    add_endpoints_parser(add, common)
    add_audit_parser(add, common)
    add_shops_parser(add, common)
    add_db_parsers(add, common)
    add_keys_parser(add, common)
    add_backup_parsers(add, common)
    add_purge_parser(add, common)
    add_erase_parser(add, common)

    p = add("token", cmd_token, "print the listener's bearer token (created on first use)")
    p.add_argument("--rotate", action="store_true", help="make a new token; the old one stops working")
    p = add("send-event", cmd_send_event, "post events from a JSON file to the running listener")
    p.add_argument("file", metavar="FILE", help="one event object or an array ('-' reads standard input)")
    p.add_argument("--url", help="listener URL (default from --listen / settings)")
    p.add_argument("--timeout", type=float, default=60.0)
    p = add("render", cmd_render, "print the request a trigger would send for an event, without sending it")
    p.add_argument("--trigger", required=True, metavar="TITLE", help="the trigger's title")
    p.add_argument("--event", required=True, metavar="FILE", help="an event (or array) as for POST /events")
    return parser


def _refusal(exc: Exception, ctx: Context | None) -> str | None:
    from sqlalchemy.engine import make_url

    from shopctrl_desktop.store.roles import refusal_message

    try:
        user = make_url(ctx.database_url).username if ctx is not None else None
    except Exception:  # noqa: BLE001 - no URL to name the login by
        user = None
    return refusal_message(exc, user)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("data_dir", "database_url", "listen"):
        if not hasattr(args, name):
            setattr(args, name, None)
    if not hasattr(args, "verbose"):
        args.verbose = False
    if getattr(args, "handler", None) is None:
        args.handler, args.rest = cmd_gui, []
    ctx: Context | None = None
    try:
        paths = resolve_paths(args.data_dir)
        if args.handler is not cmd_demo:
            paths.ensure()
        settings = load_settings(paths, database_url=args.database_url, listen=args.listen)
        ctx = Context(args, paths, settings)
        return int(args.handler(ctx))
    except ConfigError as exc:
        print(f"shopctrl-desktop: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CliError as exc:
        print(f"shopctrl-desktop: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if type(exc).__name__ == "SecretKeyError":  # store.secrets is not imported by every command
            message: str | None = str(exc)
        else:  # a statement the database refused for lack of privilege: words, not a traceback
            message = _refusal(exc, ctx)
        if message is None:
            raise
        print(f"shopctrl-desktop: {message}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
