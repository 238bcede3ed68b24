"""``shopctrl-desktop triggers list|export|import|rotate-secret``: the trigger subcommands of the command line (``cli``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from shopctrl_desktop.cli.common import (
    EXIT_OK,
    CliError,
    Context,
    out,
    print_help_for_missing_action,
    print_json,
    print_table,
    read_json_file,
)

if TYPE_CHECKING:
    from shopctrl_desktop.domain.model import Trigger


def cmd_triggers_list(ctx: Context) -> int:
    from shopctrl_desktop.domain.trigger_file import trigger_to_json
    from shopctrl_desktop.store.triggers import list_triggers

    with ctx.db.session() as session:
        triggers = list_triggers(session, None)  # no secrets read: a support login may list
    if ctx.args.json:
        listed = [{"id": t.id, **trigger_to_json(t)} for t in triggers]
        for trigger, entry in zip(triggers, listed, strict=True):  # action ids: for `rotate-secret ACTION_ID`
            for action, action_entry in zip(trigger.actions, entry["actions"], strict=True):
                action_entry["id"] = action.id
        print_json(listed)
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
    print_table(rows, ["ID", "TITLE", "EVENT", "SHOP", "ENABLED", "ACTIONS"])
    return EXIT_OK


def cmd_triggers_export(ctx: Context) -> int:
    from shopctrl_desktop.domain.trigger_file import export_document
    from shopctrl_desktop.store.keys import recorded_fingerprint
    from shopctrl_desktop.store.secrets import SecretKeyError
    from shopctrl_desktop.store.triggers import list_triggers

    with ctx.db.session() as session:  # secrets read only when asked for (support may export without)
        try:
            triggers = list_triggers(session, ctx.box if ctx.args.include_secrets else None)
        except SecretKeyError as exc:  # sealed for the engine key, which this workstation does not hold
            needed = recorded_fingerprint(session)
            raise CliError(
                f"cannot export the secrets: {exc}"
                + (f" (the engine key this database needs: {needed})" if needed else "")
            ) from None
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

    document = read_json_file(ctx.args.file)
    try:  # then every template is rendered in a bounded worker for its event's sample (_check_templates)
        triggers = parse_document(document)
    except TriggerFileError as exc:
        raise CliError(str(exc)) from None
    problems = _check_templates(ctx, triggers)
    if problems:
        raise CliError(str(TriggerFileError(problems)))
    created = updated = 0
    with ctx.db.session() as session:
        for trigger in triggers:
            # secrets this workstation cannot read (sealed for the engine key) are kept as they are stored
            existing = find_trigger_by_title(session, ctx.box, trigger.title, keep_unreadable=True)
            save_trigger(session, ctx.box, merge_secrets(trigger, existing))
            created += existing is None
            updated += existing is not None
    out(f"imported {len(triggers)} trigger(s): {created} created, {updated} updated")
    return EXIT_OK


def cmd_triggers_rotate_secret(ctx: Context) -> int:
    """Rotate one action's HMAC secret: the new one signs at once; Standard Webhooks keeps signing with the
    previous one for the overlap, the other schemes cut over (domain/secret_rotation.py)."""
    from shopctrl_desktop.domain.secret_rotation import rotation_notice
    from shopctrl_desktop.domain.signing import generate_secret
    from shopctrl_desktop.store.models import WebhookActionRow
    from shopctrl_desktop.store.secret_rotation import RotationError, rotate_secret

    args = ctx.args
    if (args.secret is None) == (not args.generate):
        raise CliError(
            "give the new secret with --secret VALUE (or --secret - to read it) or use --generate", 2
        )
    overlap = ctx.settings.secret_rotation_overlap_hours if args.overlap is None else args.overlap
    new_secret = args.secret
    if new_secret == "-":
        new_secret = sys.stdin.readline().rstrip("\r\n")
    with ctx.db.session() as session:
        row = session.get(WebhookActionRow, args.action_id)
        if args.generate and row is not None:
            new_secret = generate_secret(row.signature_scheme)
        try:
            rotation = rotate_secret(
                session, ctx.box, args.action_id, new_secret or "", overlap_hours=overlap
            )
        except RotationError as exc:
            raise CliError(str(exc), 2) from None
    plan = rotation.plan
    notice = rotation_notice(
        rotation.scheme,
        plan.rotated_at.astimezone(),
        plan.previous_expires_at.astimezone() if plan.previous_expires_at else None,
        plan.rotated_at,
    )
    out(f'action #{rotation.action_id} of trigger "{rotation.trigger_title}": {notice}')
    if args.generate:
        out(f"new secret (give it to the receiver; it is not shown again): {new_secret}")
    return EXIT_OK


def _check_templates(ctx: Context, triggers: list[Trigger]) -> list[str]:
    """Every payload template compiled and rendered with sample data in a render worker (the bounds of
    ``serve``: 2 s, 512 MB), so a template that would stop the engine is refused here, at once."""
    from shopctrl_desktop.domain.payload import renders_in_process
    from shopctrl_desktop.engine.render_pool import RenderPool, check_templates
    from shopctrl_desktop.engine.sample_events import sample_events
    from shopctrl_desktop.store.events import recent_events

    if all(renders_in_process(a) for t in triggers for a in t.actions):
        return []
    with ctx.db.session() as session:
        samples = {t.event: found[0] for t in triggers if (found := recent_events(session, t.event, limit=1))}
    pool = RenderPool(1)
    try:
        return check_templates(pool, triggers, samples, sample_events())
    finally:
        pool.close()


def add_triggers_parser(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``triggers`` and its actions; ``add`` is ``build_parser``'s subcommand factory."""
    triggers = add(
        "triggers", lambda ctx: print_help_for_missing_action(triggers), "list, export or import triggers"
    )
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
    p = tsub.add_parser(
        "rotate-secret",
        help="rotate an action's HMAC secret (Standard Webhooks: the previous one signs too for an overlap)",
        parents=[common],
    )
    p.add_argument(
        "action_id", metavar="ACTION_ID", type=int, help="the action's id (`triggers list --json`)"
    )
    given = p.add_mutually_exclusive_group()
    given.add_argument("--secret", metavar="VALUE", help="the new secret ('-' reads it from standard input)")
    given.add_argument(
        "--generate", action="store_true", help="generate a new random secret and print it once"
    )
    p.add_argument(
        "--overlap",
        metavar="HOURS",
        type=float,
        help="hours the previous secret keeps signing (Standard Webhooks; default: the setting, 24)",
    )
    p.set_defaults(handler=cmd_triggers_rotate_secret)
