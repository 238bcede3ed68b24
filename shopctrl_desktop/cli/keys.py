"""``key status``, ``key export FILE``, ``key import FILE``, ``key migrate``: the engine key that opens the
stored secrets. Export/import move it from one workstation to another, in a file protected by a passphrase
(scrypt-derived key + Fernet), mode 0600; import checks the file's key is the one this database needs.
``key migrate`` turns an older symmetric key into the engine keypair and re-seals every ``v1`` secret for it.
All are audited."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from shopctrl_desktop.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    Context,
    out,
    print_help_for_missing_action,
)

log = logging.getLogger(__name__)

MIN_PASSPHRASE = 8


def _check(ctx: Context):  # type: ignore[no-untyped-def]  # -> KeyCheck (store imported lazily)
    from shopctrl_desktop.store.keys import check_database_key

    return check_database_key(ctx.db, ctx.box)


def warn_about_key(ctx: Context) -> None:
    """At the start of ``serve``: say clearly when this workstation's key is not the database's. The engine
    keeps running and delivers what it can (actions without secrets, or secrets it can read)."""
    try:
        check = _check(ctx)
    except Exception as exc:  # noqa: BLE001 - the engine reports database trouble itself
        log.warning("cannot compare this workstation's key with the database's: %s", exc)
        return
    if check.message:
        log.warning("secret key: %s", check.message)
        print(f"shopctrl-desktop: warning: {check.message}", file=sys.stderr)


def _passphrase(prompt: str, *, confirm: bool) -> str:
    """From standard input when it is not a terminal (one line), else asked twice (``confirm``) with
    getpass."""
    if not sys.stdin.isatty():
        text = sys.stdin.readline().rstrip("\r\n")
    else:
        text = getpass.getpass(prompt)
        if confirm and getpass.getpass("Repeat the passphrase: ") != text:
            raise CliError("the two passphrases differ; nothing was written")
    if not text:
        raise CliError("no passphrase given; nothing was written")
    return text


_KINDS = {"x25519": "engine keypair (X25519)", "fernet": "older symmetric key (Fernet)"}


def cmd_key_status(ctx: Context) -> int:
    from shopctrl_desktop.store.keys import unsealed_count

    check = _check(ctx)
    with ctx.db.session() as session:
        older = unsealed_count(session)
    out(f"this workstation's key: {check.have}, {_KINDS[ctx.box.kind]} (from {ctx.box.source})")
    database_kind = (
        "engine keypair: new secrets are sealed with its public key" if check.sealed else "symmetric"
    )
    out(
        f"this database's key:    {check.needed or 'not recorded yet'}"
        + (f" ({database_kind})" if check.needed else "")
    )
    if older:
        out(
            f"{older} stored secret(s) still use the older symmetric key: run `shopctrl-desktop key migrate` here"
        )
    if check.message:
        print(f"shopctrl-desktop: {check.message}", file=sys.stderr)
        return EXIT_FAILED
    out("this workstation can decrypt the stored secrets")
    return EXIT_OK


def ensure_engine_keypair(ctx: Context, session):  # type: ignore[no-untyped-def]  # -> SecretBox
    """The database's engine keypair, in ``session``'s transaction: this workstation's keypair recorded as
    the engine key when the database has none yet; an older symmetric key is turned into a keypair that
    keeps it (written to ``secret.key``, the previous file kept as ``secret.key.<fingerprint>.old``). Returns
    the box to use. CliError when this workstation's key is not the database's."""
    from shopctrl_desktop.store.key_file import install_key
    from shopctrl_desktop.store.keys import check_key, engine_public_key, record_engine_key
    from shopctrl_desktop.store.secrets import ENV_KEY

    check = check_key(session, ctx.box)
    if check.sealed and check.matches:
        return ctx.box
    if not check.matches:
        raise CliError(
            f"this workstation's key ({check.have}) is not the one this database's secrets need"
            f"{f' ({check.needed})' if check.needed else ''}; run this on the workstation that has it "
            "(nothing was changed)"
        )
    box = ctx.box
    if box.kind != "x25519":
        if box.source == ENV_KEY:
            raise CliError(
                f"the key comes from {ENV_KEY} and is an older symmetric key: put it into this workstation's "
                f"key file (`key export FILE`, unset {ENV_KEY}, `key import FILE`) and run this again "
                "(nothing was changed)"
            )
        box = box.with_keypair()
        try:
            install_key(ctx.paths.data_dir, box, old_box=ctx.box)
        except OSError as exc:
            raise CliError(f"cannot write the key into {ctx.paths.data_dir}: {exc.strerror or exc}") from None
        out(f"this workstation's key is now the engine keypair {box.fingerprint} (it keeps the older key)")
    if not record_engine_key(session, box) and engine_public_key(session) is None:
        raise CliError("this login may not record the engine key in the database; run this as an admin")
    out(f"the database's engine key is {box.fingerprint}: new secrets are sealed with its public key")
    ctx._box = box  # noqa: SLF001 - the upgraded key for the rest of this command
    return box


def cmd_key_migrate(ctx: Context) -> int:
    from shopctrl_desktop.domain.audit import AuditAction, FieldChange, Subject, SubjectKind
    from shopctrl_desktop.store.audit import record
    from shopctrl_desktop.store.keys import reseal_all
    from shopctrl_desktop.store.secrets import SecretKeyError

    with ctx.db.session() as session:
        box = ensure_engine_keypair(ctx, session)
        try:
            count = reseal_all(session, box)
        except SecretKeyError as exc:
            session.rollback()
            raise CliError(f"{exc} (nothing was re-sealed)") from None
        if count:
            record(
                session,
                AuditAction.KEY_MIGRATED,
                Subject(SubjectKind.KEY, None, box.fingerprint),
                [FieldChange("sealed secrets", "v1 (symmetric)", f"v2 ({count} re-sealed)")],
            )
    out(
        f"re-sealed {count} secret(s) for the engine key {box.fingerprint}"
        if count
        else "no older secrets to re-seal"
    )
    return EXIT_OK


def cmd_key_export(ctx: Context) -> int:
    from shopctrl_desktop.domain.audit import AuditAction, Subject, SubjectKind
    from shopctrl_desktop.store.audit import record
    from shopctrl_desktop.store.key_file import write_key_file
    from shopctrl_desktop.store.keys import check_key

    target = Path(ctx.args.file)
    if target.exists():
        raise CliError(f"{target} already exists; choose another file name (nothing was written)")
    with ctx.db.session() as session:
        check = check_key(session, ctx.box)
        if not check.matches:
            raise CliError(
                f"this workstation's key ({check.have}) is not the one this database's secrets need"
                f"{f' ({check.needed})' if check.needed else ''}; export it on a workstation that has it"
            )
        passphrase = _passphrase("Passphrase for the key file: ", confirm=True)
        if len(passphrase) < MIN_PASSPHRASE:
            raise CliError(f"the passphrase needs at least {MIN_PASSPHRASE} characters; nothing was written")
        record(session, AuditAction.KEY_EXPORTED, Subject(SubjectKind.KEY, None, check.have))
        try:
            write_key_file(target, ctx.box, passphrase)
        except OSError as exc:
            raise CliError(f"cannot write {target}: {exc.strerror or exc}") from None
    out(f"exported key {check.have} to {target} (mode 0600, protected by the passphrase)")
    return EXIT_OK


def cmd_key_import(ctx: Context) -> int:
    from shopctrl_desktop.domain.audit import AuditAction, FieldChange, Subject, SubjectKind
    from shopctrl_desktop.store.audit import record
    from shopctrl_desktop.store.key_file import KeyFileError, install_key, read_key_file
    from shopctrl_desktop.store.keys import record_fingerprint, recorded_fingerprint, secrets_readable
    from shopctrl_desktop.store.secrets import ENV_KEY

    passphrase = _passphrase("Passphrase of the key file: ", confirm=False)
    try:
        box = read_key_file(Path(ctx.args.file), passphrase)
    except KeyFileError as exc:
        raise CliError(str(exc)) from None
    old = ctx.box.fingerprint
    with ctx.db.session() as session:
        needed = recorded_fingerprint(session)
        if needed is not None and needed != box.fingerprint:
            raise CliError(
                f"{ctx.args.file} holds key {box.fingerprint}, but this database's secrets need key {needed}: "
                "the file is for another database (nothing was changed)"
            )
        if needed is None:
            if not secrets_readable(session, box):
                raise CliError(
                    f"key {box.fingerprint} in {ctx.args.file} cannot decrypt this database's secrets: the file "
                    "is for another database (nothing was changed)"
                )
            record_fingerprint(session, box.fingerprint)
        record(
            session,
            AuditAction.KEY_IMPORTED,
            Subject(SubjectKind.KEY, None, box.fingerprint),
            [FieldChange("key", old, box.fingerprint)],
        )
        try:
            backup = install_key(ctx.paths.data_dir, box, old_box=ctx.box)
        except OSError as exc:
            raise CliError(f"cannot write the key into {ctx.paths.data_dir}: {exc.strerror or exc}") from None
    out(f"imported key {box.fingerprint} into {ctx.paths.data_dir / 'secret.key'}")
    if backup is not None:
        out(f"the previous key {old} is kept in {backup}")
    if os.environ.get(ENV_KEY):
        print(
            f"shopctrl-desktop: warning: {ENV_KEY} is set and takes precedence over the key file; "
            "unset it or set it to the imported key",
            file=sys.stderr,
        )
    out("restart the engine (serve or the desktop app) and retry the failed items: queue retry --failed")
    return EXIT_OK


def add_keys_parser(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``key`` and its actions; ``add`` is ``build_parser``'s subcommand factory."""
    key = add("key", lambda ctx: print_help_for_missing_action(key), "the key that decrypts stored secrets")
    sub = key.add_subparsers(dest="key_command", metavar="ACTION")
    p = sub.add_parser(
        "status",
        help="this workstation's key and the one the database needs (exit 1 if they differ)",
        parents=[common],
    )
    p.set_defaults(handler=cmd_key_status)
    p = sub.add_parser(
        "export",
        help="write this workstation's key to FILE (mode 0600), protected by a passphrase "
        "(asked, or one line on standard input)",
        parents=[common],
    )
    p.add_argument("file", metavar="FILE")
    p.set_defaults(handler=cmd_key_export)
    p = sub.add_parser(
        "import",
        help="use the key in FILE (from key export) on this workstation; it must be the database's key",
        parents=[common],
    )
    p.add_argument("file", metavar="FILE")
    p.set_defaults(handler=cmd_key_import)
    p = sub.add_parser(
        "migrate",
        help="make this workstation's key the engine keypair and re-seal every older (v1) secret for it, "
        "in one transaction (run where the key is)",
        parents=[common],
    )
    p.set_defaults(handler=cmd_key_migrate)
