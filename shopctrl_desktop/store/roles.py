"""The roles of SPEC §10 as PostgreSQL group roles and GRANTs, the logins in them, and what the current
login is (domain/roles.py says what each role may do; this module makes the database enforce it).

``setup_roles`` runs in the database owner's transaction (``db setup``): it creates the three group roles
(``<database>_admin|_support|_engine``, see domain/roles.py ``group_role_name``) and sets their privileges
table by table — revoked, then granted from the plan below, so running it again changes nothing and an
upgrade that changes the plan takes effect. ``add_user`` creates a LOGIN role in one group. Identifiers and
the password are quoted by psycopg (``sql.Identifier`` / ``sql.Literal``), never formatted into SQL text.

The plan (SPEC §10):

- admin: SELECT, INSERT, UPDATE, DELETE on every table; the audit trail only SELECT and INSERT (its
  triggers refuse UPDATE/DELETE/TRUNCATE to every role but the owner anyway, migration 0003).
- support: SELECT on the queue, attempts, events, shops, alerts, triggers and the actions' public columns
  (not the ``*_enc`` secret columns: column privileges); UPDATE of exactly the columns retry, cancel and
  mark-read change (store/queue.py, store/alerts.py); INSERT queue items (resend) and audit entries;
  read, insert and update endpoints (pause / resume, store/endpoints.py).
- engine: what ``serve`` needs: read triggers and actions with their secrets; insert and update shops,
  events, queue items, attempts, alerts and endpoints (circuit breakers); insert audit entries.

Every role may read ``alembic_version`` (each start checks the schema) and the ``id`` of the audit entry it
inserts (``INSERT … RETURNING id``), and use the id sequences of the tables it inserts into.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.audit import AuditAction, FieldChange, Subject, SubjectKind
from shopctrl_desktop.domain.roles import CAPABILITIES, Capability, Role, group_role_name, validate_user_name
from shopctrl_desktop.store.audit import record
from shopctrl_desktop.store.triggers import public_action_columns

AUDIT_TABLE = "audit_entries"
VERSION_TABLE = "alembic_version"
SECRETS_SET_VIEW = "webhook_action_secrets_set"  # which secrets are set, never the secrets (migration 0007)
_WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class Grant:
    """``privilege`` on ``table`` (only ``columns`` when given)."""

    privilege: str
    table: str
    columns: tuple[str, ...] = ()


def _grants(privilege: str, tables: Iterable[str]) -> list[Grant]:
    return [Grant(privilege, t) for t in tables]


#: What support and the engine are granted; anything not listed is not granted to them (a table added by a
#: later migration stays closed to them until the plan names it). Admin: see ``_admin_grants``.
PLAN: dict[Role, list[Grant]] = {
    Role.SUPPORT: [
        *_grants(
            "SELECT",
            (
                "queue_items",
                "delivery_attempts",
                "events",
                "shops",
                "alerts",
                "triggers",
                "database_meta",  # which key the secrets need: checked at start
                VERSION_TABLE,
            ),
        ),
        Grant("SELECT", "webhook_actions", public_action_columns()),
        Grant("SELECT", SECRETS_SET_VIEW),  # "set" / "not set" in the read-only editor
        # retry (a fresh retry schedule: round_start_attempts), cancel
        Grant("UPDATE", "queue_items", ("status", "next_attempt_at", "finished_at", "round_start_attempts")),
        Grant("INSERT", "queue_items"),  # resend
        Grant("UPDATE", "alerts", ("read",)),  # mark read
        *_grants("SELECT", ("endpoints",)),
        *_grants("INSERT", ("endpoints",)),  # pause / resume (store/endpoints.py)
        *_grants("UPDATE", ("endpoints",)),
        Grant("SELECT", "endpoint_minutes"),  # the Endpoints page's figures (store/endpoint_stats.py)
        Grant("INSERT", AUDIT_TABLE),
        Grant("SELECT", AUDIT_TABLE, ("id",)),
    ],
    Role.ENGINE: [
        *_grants(
            "SELECT",
            (
                "queue_items",
                "delivery_attempts",
                "events",
                "shops",
                "alerts",
                "triggers",
                "webhook_actions",
                "database_meta",
                SECRETS_SET_VIEW,
                VERSION_TABLE,
            ),
        ),
        *_grants(
            "INSERT", ("shops", "events", "queue_items", "delivery_attempts", "alerts", "database_meta")
        ),
        *_grants("UPDATE", ("shops", "events", "queue_items", "delivery_attempts", "alerts")),
        *_grants("SELECT", ("endpoints",)),  # circuit breakers (store/circuits.py)
        *_grants("INSERT", ("endpoints",)),
        *_grants("UPDATE", ("endpoints",)),
        *_grants("DELETE", ("queue_items", "delivery_attempts", "events")),  # retention (store/retention.py)
        *[Grant(p, "endpoint_minutes") for p in _WRITE],  # per-minute figures, added and pruned on record
        Grant("INSERT", AUDIT_TABLE),
        Grant("SELECT", AUDIT_TABLE, ("id",)),
    ],
}


def _admin_grants(tables: Iterable[str]) -> list[Grant]:
    grants: list[Grant] = []
    for table in tables:
        if table == AUDIT_TABLE:
            grants += _grants("SELECT", [table]) + _grants("INSERT", [table])
        elif table in (VERSION_TABLE, SECRETS_SET_VIEW):
            grants.append(Grant("SELECT", table))
        else:
            grants += [Grant(p, table) for p in _WRITE]
    return grants


class RolesError(RuntimeError):
    """Roles cannot be set up or a user cannot be added; the message says why and what to do."""


def _driver_cursor(session: Session):  # type: ignore[no-untyped-def]
    """A psycopg cursor on the session's connection (same transaction)."""
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


def database_name(session: Session) -> str:
    return str(session.scalar(text("SELECT current_database()")))


def group_names(session: Session) -> dict[Role, str]:
    name = database_name(session)
    return {role: group_role_name(name, role) for role in Role}


def _role_exists(session: Session, name: str) -> bool:
    return bool(session.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}))


def privilege_snapshot(session: Session) -> list[tuple[str, str, str, str]]:
    """Every (grantee, object, column or '', privilege) the three group roles hold in this database: what
    ``setup_roles`` sets, to compare before and after."""
    groups = list(group_names(session).values())
    rows = session.execute(
        text(
            """
            SELECT grantee, table_name, '' AS col, privilege_type FROM information_schema.role_table_grants
             WHERE grantee = ANY(:g) AND table_schema = current_schema()
            UNION ALL
            SELECT grantee, table_name, column_name, privilege_type FROM information_schema.column_privileges
             WHERE grantee = ANY(:g) AND table_schema = current_schema()
            UNION ALL
            SELECT grantee, object_name, '', privilege_type FROM information_schema.usage_privileges
             WHERE grantee = ANY(:g) AND object_schema = current_schema()
            ORDER BY 1, 2, 3, 4
            """
        ),
        {"g": groups},
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _id_sequences(session: Session) -> dict[str, str]:
    """table name -> its serial/identity sequence (as the server quotes it), in the current schema."""
    rows = session.execute(
        text(
            """
            SELECT t.relname, s.oid::regclass::text
              FROM pg_class s
              JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
                              AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
              JOIN pg_class t ON t.oid = d.refobjid
             WHERE s.relkind = 'S' AND t.relnamespace = current_schema()::regnamespace
            """
        )
    )
    return {str(table): str(sequence) for table, sequence in rows}


@dataclass(frozen=True)
class SetupResult:
    created_roles: tuple[str, ...]
    changed: bool  # privileges differ from before


def setup_roles(session: Session) -> SetupResult:
    """Create the group roles (when missing) and set their privileges from the plan; idempotent. Run by
    the database owner (who needs CREATEROLE to create the roles the first time)."""
    from psycopg import sql

    groups = group_names(session)
    before = privilege_snapshot(session)
    cur = _driver_cursor(session)
    created: list[str] = []
    for group in groups.values():
        if not _role_exists(session, group):
            cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(group)))
            created.append(group)
    database = database_name(session)
    schema = str(session.scalar(text("SELECT current_schema()")))
    inspector = inspect(session.connection())
    tables = sorted([*inspector.get_table_names(), *inspector.get_view_names()])
    plan = {**PLAN, Role.ADMIN: _admin_grants(tables)}
    sequences = _id_sequences(session)
    for role, group in groups.items():
        who = sql.Identifier(group)
        cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), who))
        cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), who))
        for table in tables:
            cur.execute(sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(sql.Identifier(table), who))
            sequence = sequences.get(table)
            if sequence:
                cur.execute(sql.SQL("REVOKE ALL ON SEQUENCE {} FROM {}").format(sql.SQL(sequence), who))
        inserts: set[str] = set()
        for grant in plan[role]:
            if grant.table not in tables:
                continue
            columns = (
                sql.SQL(" ({})").format(sql.SQL(", ").join(map(sql.Identifier, grant.columns)))
                if grant.columns
                else sql.SQL("")
            )
            cur.execute(
                sql.SQL("GRANT {}{} ON TABLE {} TO {}").format(
                    sql.SQL(grant.privilege), columns, sql.Identifier(grant.table), who
                )
            )
            if grant.privilege == "INSERT":
                inserts.add(grant.table)
        for table in sorted(inserts):
            sequence = sequences.get(table)
            if sequence:  # already quoted by the server
                cur.execute(sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(sql.SQL(sequence), who))
    return SetupResult(tuple(created), privilege_snapshot(session) != before)


def add_user(session: Session, name: str, role: Role, password: str) -> None:
    """A LOGIN role ``name`` in the group of ``role``, with ``password``; recorded as user.added.
    RolesError when the name is taken, the groups are missing (``db setup`` not run) or the password empty."""
    from psycopg import sql

    validate_user_name(name)
    if not password:
        raise RolesError("the password is empty; give it on standard input")
    group = group_names(session)[role]
    if not _role_exists(session, group):
        raise RolesError(
            f"the role {group} does not exist in this database server; run `shopctrl-desktop db setup` first"
        )
    if _role_exists(session, name):
        raise RolesError(f"a user or role named {name!r} already exists on this database server")
    _driver_cursor(session).execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
            sql.Identifier(name), sql.Literal(password), sql.Identifier(group)
        )
    )
    # the role, never the password, goes into the entry
    record(
        session,
        AuditAction.USER_ADDED,
        Subject(SubjectKind.USER, None, name),
        [FieldChange("role", None, role.value)],
    )


@dataclass(frozen=True)
class Identity:
    user: str
    role: Role | None
    owner: bool  # owns the database (or is a superuser): may set up roles and add users

    @property
    def capabilities(self) -> frozenset[Capability]:
        return CAPABILITIES[self.role] if self.role is not None else frozenset()


def current_identity(session: Session, os_user: str) -> Identity:
    """Who the current login is and which role it acts in. SQLite: the OS user, an admin. PostgreSQL: the
    owner of the database (or a superuser) is an admin; otherwise the first group role it inherits from, in
    the order admin, support, engine; None when it is in none."""
    if session.get_bind().dialect.name != "postgresql":
        return Identity(os_user, Role.ADMIN, True)
    row = session.execute(
        text(
            """
            SELECT current_user,
                   (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                   OR pg_has_role(current_user, d.datdba, 'MEMBER')
              FROM pg_database d WHERE d.datname = current_database()
            """
        )
    ).one()
    user, owner = str(row[0]), bool(row[1])
    if owner:
        return Identity(user, Role.ADMIN, True)
    for role, group in group_names(session).items():
        if _role_exists(session, group) and session.scalar(
            text("SELECT pg_has_role(current_user, :g, 'USAGE')"), {"g": group}
        ):
            return Identity(user, role, False)
    return Identity(user, None, False)


def may_read_secrets(session: Session) -> bool:
    """Whether this login may read the actions' secret columns (always on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(
        session.scalar(text("SELECT has_column_privilege('webhook_actions', 'hmac_secret_enc', 'SELECT')"))
    )


INSUFFICIENT_PRIVILEGE = "42501"


def refusal_message(exc: BaseException, user: str | None = None) -> str | None:
    """Words for a statement the database refused for lack of privilege (SQLSTATE 42501); None for any other
    error."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if getattr(orig, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
        return None
    detail = str(orig).strip().splitlines()[0] if str(orig).strip() else "permission denied"
    login = f"the login {user!r}" if user else "this login"
    return (
        f"the database refused this for {login}: {detail}. Your role does not allow it; "
        "`shopctrl-desktop whoami` shows your role, an admin or the database owner can do it"
    )
