"""Opening the database: engine, session factory, SQLite pragmas and Alembic migrations at start."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class DatabaseError(RuntimeError):
    """The database cannot be used; the message says why in plain words."""


#: How long a SQLite statement waits for another connection's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # a new database gives the space of deleted rows back to the file system in steps (retention); on an
    # existing one this changes nothing until `purge --vacuum` rewrites it once
    cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    """One engine + session factory. Sessions are short-lived and never cross threads."""

    def __init__(self, url: str, *, migrate: bool = True, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.is_postgresql = parsed.get_backend_name() == "postgresql"
        # hide_parameters: with -v (SQLAlchemy at DEBUG) or in an error message, a statement never shows its
        # values — among them the ciphertexts of secrets, decryptable with the key file beside the log
        kwargs: dict[str, object] = {"echo": echo, "future": True, "hide_parameters": True}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = create_engine(url, **kwargs)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - bad URL, missing driver
            raise DatabaseError(
                f"cannot open database {parsed.render_as_string(hide_password=True)}: {exc}"
            ) from exc
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self.migrate()

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def migrate(self) -> None:
        cfg = alembic_config(self.url)
        script = ScriptDirectory.from_config(cfg)
        heads = set(script.get_heads())
        try:
            with self.engine.connect() as conn:
                current = set(MigrationContext.configure(conn).get_current_heads())
        except Exception as exc:  # noqa: BLE001
            raise DatabaseError(f"cannot open database {self.display_url}: {exc}") from exc
        unknown = {rev for rev in current if _lookup(script, rev) is None}
        if unknown:
            raise DatabaseError(
                f"the database {self.display_url} was written by a newer version of ShopCtrl Desktop "
                f"(schema revision {', '.join(sorted(unknown))}); install that version or use another database"
            )
        if current != heads:
            log.info("upgrading database schema %s -> %s", sorted(current) or "empty", sorted(heads))
            try:
                with self.engine.begin() as conn:
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient privilege
                    raise
                raise DatabaseError(
                    f"the database {self.display_url} needs a schema upgrade "
                    f"({', '.join(sorted(current)) or 'empty'} -> {', '.join(sorted(heads))}) and this login "
                    "may not make it: the database owner runs `shopctrl-desktop db setup`"
                ) from None
            if current:  # an existing database was upgraded in place: say so on the Alerts page
                from shopctrl_desktop.store.alerts import create_alert

                with self.session() as session:
                    create_alert(
                        session,
                        "information",
                        "Database schema upgraded",
                        f"The database {self.display_url} was upgraded from schema revision "
                        f"{', '.join(sorted(current))} to {', '.join(sorted(heads))} by ShopCtrl Desktop.",
                    )

    def dispose(self) -> None:
        self.engine.dispose()


def _lookup(script: ScriptDirectory, rev: str) -> object | None:
    try:
        return script.get_revision(rev)
    except Exception:  # noqa: BLE001
        return None


def known_revision(revision: str) -> bool:
    """Whether this version's migrations know ``revision`` (an unknown one was written by a newer version)."""
    return _lookup(ScriptDirectory.from_config(alembic_config("sqlite://")), revision) is not None


def current_revision(db: Database) -> str:
    """The schema revision the database is at (``a, b`` for several heads; empty when none)."""
    with db.engine.connect() as conn:
        return ", ".join(sorted(MigrationContext.configure(conn).get_current_heads()))
