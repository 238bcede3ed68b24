"""Command line (SPEC 8). Never imports Qt: the desktop app (``gui``) and ``demo`` are imported lazily."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopctrl_desktop import __version__
from shopctrl_desktop.config import ConfigError, Settings, load_settings
from shopctrl_desktop.paths import AppPaths, resolve_paths

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """Printed as ``shopctrl-desktop: <message>`` with the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Context:
    args: argparse.Namespace
    paths: AppPaths
    settings: Settings
    _db: Any = None
    _box: Any = None

    @property
    def db(self) -> Any:
        if self._db is None:
            from shopctrl_desktop.config import database_url_for
            from shopctrl_desktop.store.db import Database, DatabaseError

            try:
                self._db = Database(database_url_for(self.paths, self.settings))
            except DatabaseError as exc:
                raise CliError(str(exc), EXIT_USAGE) from None
        return self._db

    @property
    def box(self) -> Any:
        if self._box is None:
            from shopctrl_desktop.store.secrets import load_secret_box

            self._box = load_secret_box(self.paths.data_dir)
        return self._box


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _print_json(data: Any) -> None:
    _out(json.dumps(data, indent=2, ensure_ascii=False))


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    _out("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in rows:
        _out("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


# --- serve -------------------------------------------------------------------------------------------
def cmd_serve(ctx: Context) -> int:
    from shopctrl_desktop.engine.listener import ListenerError
    from shopctrl_desktop.engine.service import run_engine_blocking
    from shopctrl_desktop.logging_setup import setup_logging

    setup_logging(ctx.paths, verbose=ctx.args.verbose)
    try:
        return run_engine_blocking(ctx.db, ctx.box, ctx.settings, ctx.paths)
    except ListenerError as exc:
        raise CliError(str(exc)) from None


# --- triggers ----------------------------------------------------------------------------------------
def cmd_triggers_list(ctx: Context) -> int:
    from shopctrl_desktop.domain.trigger_file import trigger_to_json
    from shopctrl_desktop.store.triggers import list_triggers

    with ctx.db.session() as session:
        triggers = list_triggers(session, ctx.box)
    if ctx.args.json:
        _print_json([{"id": t.id, **trigger_to_json(t)} for t in triggers])
        return EXIT_OK
    rows = [
        [
            str(t.id),
            t.title,
            t.event,
            "all" if t.shop_id is None else str(t.shop_id),
            "yes" if t.enabled else "no",
            str(len(t.actions)),
        ]
        for t in triggers
    ]
    _table(rows, ["ID", "TITLE", "EVENT", "SHOP", "ENABLED", "ACTIONS"])
    return EXIT_OK


def cmd_triggers_export(ctx: Context) -> int:
    from shopctrl_desktop.domain.trigger_file import export_document
    from shopctrl_desktop.store.triggers import list_triggers

    with ctx.db.session() as session:
        triggers = list_triggers(session, ctx.box)
    text = (
        json.dumps(
            export_document(triggers, include_secrets=ctx.args.include_secrets), indent=2, ensure_ascii=False
        )
        + "\n"
    )
    if ctx.args.output and ctx.args.output != "-":
        path = Path(ctx.args.output)
        mode = 0o600 if ctx.args.include_secrets else 0o644
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if ctx.args.include_secrets:
            os.chmod(path, 0o600)
        print(f"exported {len(triggers)} trigger(s) to {path}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_triggers_import(ctx: Context) -> int:
    from shopctrl_desktop.domain.trigger_file import TriggerFileError, merge_secrets, parse_document
    from shopctrl_desktop.store.triggers import find_trigger_by_title, save_trigger

    document = _read_json_file(ctx.args.file)
    try:
        triggers = parse_document(document)
    except TriggerFileError as exc:
        raise CliError(str(exc)) from None
    created = updated = 0
    with ctx.db.session() as session:
        for trigger in triggers:
            existing = find_trigger_by_title(session, ctx.box, trigger.title)
            save_trigger(session, ctx.box, merge_secrets(trigger, existing))
            created += existing is None
            updated += existing is not None
    _out(f"imported {len(triggers)} trigger(s): {created} created, {updated} updated")
    return EXIT_OK


def _read_json_file(name: str) -> Any:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text("utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"{name} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{name} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


# --- queue -------------------------------------------------------------------------------------------
def cmd_queue_list(ctx: Context) -> int:
    from shopctrl_desktop.domain.model import ItemStatus, Priority
    from shopctrl_desktop.store.queue import list_items

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
    if ctx.args.json:
        _print_json([i.to_json() for i in items])
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
    _table(
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


def cmd_queue_cancel(ctx: Context) -> int:
    from shopctrl_desktop.store.queue import cancel_item, get_item

    with ctx.db.session() as session:
        if cancel_item(session, ctx.args.id):
            _out(f"item {ctx.args.id} cancelled")
            return EXIT_OK
        item = get_item(session, ctx.args.id)
    if item is None:
        raise CliError(f"there is no queue item {ctx.args.id}")
    raise CliError(f"item {ctx.args.id} is {item.status}; only queued or retrying items can be cancelled")


def cmd_queue_retry(ctx: Context) -> int:
    from shopctrl_desktop.store.queue import get_item, retry_failed, retry_item

    if ctx.args.failed == (ctx.args.id is not None):
        raise CliError("give either an item ID or --failed", EXIT_USAGE)
    with ctx.db.session() as session:
        if ctx.args.failed:
            n = retry_failed(session)
            _out(f"{n} failed item(s) queued again")
            return EXIT_OK
        if retry_item(session, ctx.args.id):
            _out(f"item {ctx.args.id} queued again")
            return EXIT_OK
        item = get_item(session, ctx.args.id)
    if item is None:
        raise CliError(f"there is no queue item {ctx.args.id}")
    raise CliError(
        f"item {ctx.args.id} is {item.status}; only failed, retrying or cancelled items can be retried"
    )


# --- alerts, token, send-event -----------------------------------------------------------------------
def cmd_alerts_list(ctx: Context) -> int:
    from shopctrl_desktop.store.alerts import list_alerts

    with ctx.db.session() as session:
        alerts = list_alerts(session, unread_only=ctx.args.unread, limit=ctx.args.limit)
    if ctx.args.json:
        _print_json([a.to_json() for a in alerts])
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
    _table(rows, ["ID", "CREATED (UTC)", "SEVERITY", "READ", "ITEM", "TITLE"])
    return EXIT_OK


def cmd_token(ctx: Context) -> int:
    from shopctrl_desktop.engine.token import load_or_create_token, rotate_token

    ctx.paths.ensure()
    _out(rotate_token(ctx.paths) if ctx.args.rotate else load_or_create_token(ctx.paths))
    return EXIT_OK


def cmd_send_event(ctx: Context) -> int:
    import urllib.error
    import urllib.request

    from shopctrl_desktop.engine.token import read_token

    document = _read_json_file(ctx.args.file)
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
    _out(f"HTTP {status}")
    _out(text)
    return EXIT_OK if status == 202 else EXIT_FAILED


def cmd_render(ctx: Context) -> int:
    from shopctrl_desktop.cli_render import run_render

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
        from shopctrl_desktop.engine.demo import main as demo_main
    except ImportError:
        try:
            from shopctrl_desktop.gui.app import main_demo as demo_main  # type: ignore[attr-defined,no-redef]
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
    add(
        "serve",
        cmd_serve,
        "the engine without a screen (listener + delivery); stops cleanly on SIGINT/SIGTERM",
    )

    triggers = add("triggers", lambda ctx: _missing(triggers), "list, export or import triggers")
    tsub = triggers.add_subparsers(dest="triggers_command", metavar="ACTION")
    p = tsub.add_parser("list", help="list the triggers", parents=[common])
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.set_defaults(handler=cmd_triggers_list)
    p = tsub.add_parser("export", help="write every trigger as JSON (SPEC 3.3)", parents=[common])
    p.add_argument(
        "--include-secrets", action="store_true", help="include HMAC secrets, passwords, private keys"
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.set_defaults(handler=cmd_triggers_export)
    p = tsub.add_parser("import", help="create or update triggers by title from FILE", parents=[common])
    p.add_argument("file", metavar="FILE", help="an export file ('-' reads standard input)")
    p.set_defaults(handler=cmd_triggers_import)

    queue = add("queue", lambda ctx: _missing(queue), "list, retry or cancel queue items")
    qsub = queue.add_subparsers(dest="queue_command", metavar="ACTION")
    p = qsub.add_parser("list", help="queue items, highest priority first, then oldest", parents=[common])
    p.add_argument(
        "--status", metavar="S", help="queued, sending, delivered, retrying, failed, cancelled (comma list)"
    )
    p.add_argument("--limit", type=int, default=1000, help="at most this many items (default 1000)")
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

    alerts = add("alerts", lambda ctx: _missing(alerts), "list alerts")
    asub = alerts.add_subparsers(dest="alerts_command", metavar="ACTION")
    p = asub.add_parser("list", help="alerts, newest first", parents=[common])
    p.add_argument("--json", action="store_true", help="one JSON array with camelCase fields")
    p.add_argument("--unread", action="store_true", help="only unread alerts")
    p.add_argument("--limit", type=int, default=500)
    p.set_defaults(handler=cmd_alerts_list)

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


def _missing(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


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
    try:
        paths = resolve_paths(args.data_dir)
        if args.handler is not cmd_demo:
            paths.ensure()
        settings = load_settings(paths, database_url=args.database_url, listen=args.listen)
        ctx = Context(args=args, paths=paths, settings=settings)
        return int(args.handler(ctx))
    except ConfigError as exc:
        print(f"shopctrl-desktop: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CliError as exc:
        print(f"shopctrl-desktop: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
