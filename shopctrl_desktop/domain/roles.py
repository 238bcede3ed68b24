"""Who may do what (SPEC §10): the three roles, the capabilities of each, and the names of their
PostgreSQL group roles.

On PostgreSQL the database enforces these (store/roles.py turns them into GRANTs); the faces use
:data:`CAPABILITIES` to show what the current login may do. On SQLite the OS account is the boundary and the
user is an admin.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # everything: triggers, secrets, settings, the queue, alerts
    SUPPORT = "support"  # watch the queue, retry/cancel/resend, mark alerts read; no secrets, no changes
    ENGINE = "engine"  # what ``serve`` needs: intake, claim and record, read secrets, raise alerts


class Capability(StrEnum):
    VIEW_QUEUE = "viewQueue"  # items, attempts, events
    VIEW_ALERTS = "viewAlerts"
    VIEW_TRIGGERS = "viewTriggers"  # without secrets
    RETRY_CANCEL = "retryCancel"
    RESEND = "resend"
    MARK_ALERTS_READ = "markAlertsRead"
    PAUSE_ENDPOINTS = "pauseEndpoints"  # pause / resume deliveries to an endpoint
    EDIT_TRIGGERS = "editTriggers"
    READ_SECRETS = "readSecrets"
    EDIT_SETTINGS = "editSettings"  # settings stored in the database and shop names
    VIEW_AUDIT = "viewAudit"
    ERASE_DATA = "eraseData"  # a customer's erasure request (domain/erasure.py); admins only
    DELIVER = "deliver"  # take events, claim items, record outcomes, raise alerts


_SUPPORT = frozenset(
    {
        Capability.VIEW_QUEUE,
        Capability.VIEW_ALERTS,
        Capability.VIEW_TRIGGERS,
        Capability.RETRY_CANCEL,
        Capability.RESEND,
        Capability.MARK_ALERTS_READ,
        Capability.PAUSE_ENDPOINTS,
    }
)

#: What each role may do. The GRANTs of store/roles.py implement exactly this on PostgreSQL.
CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.ADMIN: frozenset(Capability),
    Role.SUPPORT: _SUPPORT,
    Role.ENGINE: frozenset(
        {
            Capability.VIEW_QUEUE,
            Capability.VIEW_ALERTS,
            Capability.VIEW_TRIGGERS,
            Capability.READ_SECRETS,
            Capability.DELIVER,
        }
    ),
}

#: PostgreSQL truncates identifiers longer than this many bytes.
MAX_IDENTIFIER_BYTES = 63

_USER_NAME = re.compile(r"[a-z_][a-z0-9_.\-]*")


class RoleNameError(ValueError):
    """A user name that cannot be a login, in words."""


def may(role: Role | None, capability: Capability) -> bool:
    return role is not None and capability in CAPABILITIES[role]


def group_role_name(database: str, role: Role) -> str:
    """The PostgreSQL group role for ``role`` in ``database``: ``<database>_<role>``.

    Roles are global to a PostgreSQL server while GRANTs are per database, so one name per database keeps two
    shops' databases on one server apart: ``shop_a_support`` is granted only in ``shop_a`` and never gives a
    login rights in ``shop_b``. A database name too long for that is shortened and made unique with a hash.
    """
    suffix = f"_{role.value}"
    name = f"{database}{suffix}"
    if len(name.encode()) <= MAX_IDENTIFIER_BYTES:
        return name
    digest = hashlib.sha256(database.encode()).hexdigest()[:8]
    room = MAX_IDENTIFIER_BYTES - len(suffix) - len(digest) - 1
    head = database.encode()[:room].decode(errors="ignore")
    return f"{head}_{digest}{suffix}"


def validate_user_name(name: str) -> str:
    """A new login's name: lower-case letters, digits, ``_ . -``, starting with a letter or ``_``, at most
    63 bytes, not ``pg_…`` (reserved by PostgreSQL). Quoting is still done by the store (never formatted)."""
    if not name:
        raise RoleNameError("a user name cannot be empty")
    if len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise RoleNameError(f"the user name {name!r} is longer than {MAX_IDENTIFIER_BYTES} bytes")
    if name.startswith("pg_"):
        raise RoleNameError(f"the user name {name!r} starts with pg_, which PostgreSQL reserves")
    if not _USER_NAME.fullmatch(name):
        raise RoleNameError(
            f"the user name {name!r} may hold only lower-case letters, digits, '_', '.' and '-', "
            "and must start with a letter or '_'"
        )
    return name
