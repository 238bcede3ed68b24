"""Joining a shared PostgreSQL database from a workstation: the URL without its password, where the password
is kept, and a connection check that answers in words. Qt-free: the desktop app's first-run and sign-in
dialogs and the command line use the same functions.

The password never goes into settings.json. It comes from, in order:

1. ``SHOPCTRL_DATABASE_PASSWORD`` in the environment (servers, scripts);
2. the OS keyring (service ``shopctrl-desktop``, account ``postgresql://user@host:port/database``), when a
   working keyring backend exists (a desktop session; ``store/secrets.py`` ``_keyring_usable``);
3. otherwise the desktop app asks at each start ("Sign in to the shared database"), and the command line
   leaves it to libpq (``PGPASSWORD``, ``~/.pgpass``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import URL, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from shopctrl_desktop.domain.roles import Role, group_role_name
from shopctrl_desktop.store.secrets import KEYRING_SERVICE, _keyring_usable

log = logging.getLogger(__name__)

PASSWORD_ENV = "SHOPCTRL_DATABASE_PASSWORD"
DEFAULT_PORT = 5432
DRIVER = "postgresql+psycopg"


class SharedLoginError(ValueError):
    """The URL or the fields do not name a PostgreSQL database; the message says what is wrong."""


# --- the URL ---------------------------------------------------------------------------------------------
def parse_shared_url(url: str) -> URL:
    """A pasted ``postgresql://…`` (or ``postgres://``, ``postgresql+psycopg://``) URL with the app's driver;
    SharedLoginError in words for anything else."""
    value = url.strip()
    if value.startswith("postgres://"):
        value = "postgresql://" + value.removeprefix("postgres://")
    try:
        parsed = make_url(value)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number (half typed)
        raise SharedLoginError(
            "this is not a database URL; it looks like postgresql://user@host:5432/database"
        ) from None
    if parsed.get_backend_name() != "postgresql":
        raise SharedLoginError(f"a shared database is PostgreSQL; {parsed.drivername}:// is not supported")
    if not parsed.database:
        raise SharedLoginError("the URL names no database; add it after the host: …@host:5432/shop")
    if not parsed.username:
        raise SharedLoginError("the URL names no user; add it before the host: postgresql://anna@host/shop")
    return parsed.set(drivername=DRIVER)


def build_shared_url(host: str, port: int, database: str, user: str) -> URL:
    """The URL for the dialog's fields; ``host`` may be a server name, an address or a socket folder."""
    host, database, user = host.strip(), database.strip(), user.strip()
    missing = [name for name, value in (("host", host), ("database", database), ("user", user)) if not value]
    if missing:
        raise SharedLoginError(f"enter the {' and the '.join(missing)}")
    if host.startswith("/"):  # a unix socket folder: libpq takes it as the host parameter
        return URL.create(DRIVER, username=user, database=database, query={"host": host, "port": str(port)})
    return URL.create(DRIVER, username=user, host=host, port=port, database=database)


def without_password(url: URL) -> str:
    """What settings.json keeps: the URL with no password in it."""
    return url._replace(password=None).render_as_string(hide_password=False)  # set(password=None) keeps it


def server_of(url: URL) -> tuple[str, int]:
    host = url.host or str(url.query.get("host") or "localhost")
    port = url.port or int(str(url.query.get("port") or DEFAULT_PORT))
    return host, port


def describe(url: str | URL) -> str:
    """``anna@db.example:5432/shop``: how the dialogs name a shared database."""
    parsed = make_url(url) if isinstance(url, str) else url
    host, port = server_of(parsed)
    return f"{parsed.username}@{host}:{port}/{parsed.database}"


def keyring_account(url: str | URL) -> str:
    """The keyring account the password is kept under: ``postgresql://anna@db.example:5432/shop``."""
    return "postgresql://" + describe(url)


# --- where the password is kept ---------------------------------------------------------------------------
def keyring_available() -> bool:
    """Whether a working OS keyring backend exists (not keyring's "fail" backend)."""
    return _keyring_usable()


def stored_password(url: str | URL, environ: Mapping[str, str] | None = None) -> str | None:
    """The password for ``url`` from SHOPCTRL_DATABASE_PASSWORD or the OS keyring; None when neither has it."""
    env = os.environ if environ is None else environ
    if env.get(PASSWORD_ENV):
        return env[PASSWORD_ENV]
    if not keyring_available():
        return None
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, keyring_account(url)) or None
    except Exception as exc:  # noqa: BLE001 - a locked or broken keyring: ask instead
        log.warning("cannot read the database password from the OS keyring (%s)", type(exc).__name__)
        return None


def remember_password(url: str | URL, password: str) -> bool:
    """Keep ``password`` in the OS keyring; False (nothing stored) when no working keyring exists."""
    if not keyring_available():
        return False
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, keyring_account(url), password)
        return True
    except Exception as exc:  # noqa: BLE001
        log.warning("cannot store the database password in the OS keyring (%s)", type(exc).__name__)
        return False


def forget_password(url: str | URL) -> None:
    if not keyring_available():
        return
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, keyring_account(url))
    except Exception:  # noqa: BLE001 - nothing stored, or the keyring refuses: nothing to forget
        pass


def with_password(url: str | URL, password: str | None) -> str:
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed._replace(password=password or None).render_as_string(hide_password=False)


def with_stored_password(url: str, environ: Mapping[str, str] | None = None) -> str:
    """``url`` with the stored password added, when it is a PostgreSQL URL without one and a password is
    stored (environment or keyring); otherwise ``url`` unchanged. The CLI and the desktop app open the
    database through this."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url
    if parsed.get_backend_name() != "postgresql" or parsed.password:
        return url
    password = stored_password(parsed, environ)
    return with_password(parsed, password) if password else url


# --- the connection check ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class JoinCheck:
    """The answer to "Test connection": ``ok`` and words for a person."""

    ok: bool
    message: str
    user: str = ""
    role: Role | None = None
    owner: bool = False


def _connection_failure(exc: BaseException, url: URL) -> str:
    text_ = str(getattr(exc, "orig", None) or exc)
    lowered = text_.lower()
    host, port = server_of(url)
    user, database = url.username, url.database
    if "password authentication failed" in lowered:
        return f"wrong password for user {user} (or no such user) on {host}:{port}; check both and try again"
    if "no password supplied" in lowered:
        return f"the server {host}:{port} asks for a password for user {user}; enter it"
    if 'role "' in lowered and "does not exist" in lowered:
        return f"there is no user {user} on {host}:{port}; ask the database owner for your login"
    if 'database "' in lowered and "does not exist" in lowered:
        return (
            f"there is no database {database!r} on {host}:{port}; check its name with the database owner "
            "(who creates it and runs `shopctrl-desktop db setup`)"
        )
    if "failed to resolve host" in lowered or "could not translate host name" in lowered:
        return f"the server name {host!r} is unknown (DNS); check the host name"
    if "connection refused" in lowered or "no such file or directory" in lowered:
        return (
            f"nothing answers on {host}:{port}: the server is not running there, or the port is wrong, "
            "or a firewall refuses it"
        )
    if "timeout" in lowered or "timed out" in lowered:
        return f"the server {host}:{port} did not answer in time: unreachable (network, firewall) or too busy"
    if "no pg_hba.conf entry" in lowered:
        return (
            f"the server {host}:{port} does not let user {user} in from this computer (pg_hba.conf); "
            "ask the database owner"
        )
    first = text_.strip().splitlines()[0] if text_.strip() else type(exc).__name__
    return f"cannot connect to {host}:{port}: {first}"


def check_shared_database(url: str | URL, os_user: str, *, timeout_s: int = 5) -> JoinCheck:
    """Connect to the shared database at ``url`` (with its password) for real and say in words whether this
    workstation can use it: the login, the schema (set up, not newer than this version) and a ShopCtrl role.
    Writes nothing."""
    from alembic.script import ScriptDirectory

    from shopctrl_desktop.store.db import alembic_config
    from shopctrl_desktop.store.roles import current_identity

    parsed = parse_shared_url(url) if isinstance(url, str) else url
    engine = create_engine(parsed, poolclass=NullPool, connect_args={"connect_timeout": max(2, timeout_s)})
    try:
        try:
            connection = engine.connect()
        except Exception as exc:  # noqa: BLE001 - every failure to connect becomes words
            return JoinCheck(False, _connection_failure(exc, parsed))
        with connection, connection.begin():
            from sqlalchemy.orm import Session

            session = Session(bind=connection)
            identity = current_identity(session, os_user)
            name = str(connection.scalar(text("SELECT current_database()")))
            has_schema = bool(connection.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL")))
            setup_hint = "run `shopctrl-desktop db setup` first" + (
                "" if identity.owner else " (the database owner does)"
            )
            if not has_schema:
                return JoinCheck(False, f"the database {name} was never set up for ShopCtrl: {setup_hint}")
            groups_exist = bool(
                connection.scalar(
                    text("SELECT count(*) FROM pg_roles WHERE rolname = ANY(:g)"),
                    {"g": [group_role_name(name, r) for r in Role]},
                )
            )
            if identity.role is None:
                if not groups_exist:
                    return JoinCheck(False, f"the roles of database {name} were never set up: {setup_hint}")
                return JoinCheck(
                    False,
                    f"user {identity.user} has no ShopCtrl role in {name}; ask the database owner to run "
                    f"`shopctrl-desktop db add-user {identity.user} --role admin|support|engine`",
                    identity.user,
                )
            current = {str(r) for r in connection.scalars(text("SELECT version_num FROM alembic_version"))}
        script = ScriptDirectory.from_config(alembic_config(without_password(parsed)))
        known = {rev.revision for rev in script.walk_revisions()}
        unknown = sorted(current - known)
        if unknown:
            return JoinCheck(
                False,
                f"the database {name} was written by a newer version of ShopCtrl Desktop (schema revision "
                f"{', '.join(unknown)}); install that version on this workstation",
                identity.user,
                identity.role,
                identity.owner,
            )
        if current != set(script.get_heads()) and not identity.owner:
            return JoinCheck(
                False,
                f"the database {name} needs a schema upgrade for this version: the database owner runs "
                "`shopctrl-desktop db setup`",
                identity.user,
                identity.role,
            )
        owner = " (owner of the database)" if identity.owner else ""
        return JoinCheck(
            True,
            f"Connected as {identity.user} — {identity.role.value}{owner}",
            identity.user,
            identity.role,
            identity.owner,
        )
    except Exception as exc:  # noqa: BLE001 - a statement failed after connecting: still words
        log.warning("shared database check failed: %s", type(exc).__name__)
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return JoinCheck(
            False, f"connected, but the check failed: {first[0] if first else type(exc).__name__}"
        )
    finally:
        engine.dispose()
