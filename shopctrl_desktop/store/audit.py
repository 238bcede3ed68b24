"""The audit trail repository: record an entry in the caller's transaction, list entries newest first.

Every write path records here, inside the same session (transaction) as the change it describes, so a
rolled-back change leaves no entry: store/triggers.py (save, delete, enable), store/queue.py (retry, cancel,
resend, retry failed), store/alerts.py (mark read, mark all read), app_context.py (settings). Key and user
commands record with :func:`record` and the ``KEY_*`` / ``USER_*`` actions of domain/audit.py.

Who: on PostgreSQL the database user (``current_user``; the server stamps it and the time itself, see
migration 0003), elsewhere the OS user. Workstation: the host name. Nothing here updates or deletes.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.audit import AuditAction, AuditEntry, FieldChange, Subject, diff_fields
from shopctrl_desktop.store.models import AuditEntryRow, utcnow


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in the environment or the password database
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def workstation() -> str:
    return socket.gethostname() or "unknown"


def current_user(session: Session) -> str:
    """Who is acting: the database user on PostgreSQL, the OS user otherwise."""
    if session.get_bind().dialect.name == "postgresql":
        return str(session.scalar(text("SELECT current_user")))
    return os_user()


def record(
    session: Session,
    action: AuditAction | str,
    subject: Subject,
    changes: Iterable[FieldChange] = (),
) -> int:
    """Add one entry to the session's transaction (flushed, not committed); returns its id."""
    row = AuditEntryRow(
        at=utcnow(),
        who=current_user(session)[:200],
        workstation=workstation()[:300],
        action=str(action),
        subject_kind=str(subject.kind),
        subject_id=subject.id,
        subject_name=subject.name[:300],
        changes_json=json.dumps([c.to_json() for c in changes], ensure_ascii=False, default=str),
    )
    session.add(row)
    session.flush()
    return row.id


def record_settings_change(session: Session, old: Mapping[str, Any], new: Mapping[str, Any]) -> int | None:
    """Record the difference of two settings (``Settings.to_json()``); None when nothing changed.
    A database URL is recorded without its password."""
    changes = diff_fields(_flat(_without_password(old)), _flat(_without_password(new)))
    if not changes:
        return None
    return record(session, AuditAction.SETTINGS_CHANGED, Subject("settings"), changes)


def _without_password(settings: Mapping[str, Any]) -> dict[str, Any]:
    data = dict(settings)
    url = data.get("database_url")
    if url:
        from sqlalchemy.engine import make_url

        try:
            data["database_url"] = make_url(url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - not a URL at all: keep no part of it that could be a secret
            data["database_url"] = "(unparsable URL)"
    return data


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = list(value) if isinstance(value, tuple) else value
    return flat


def _entry(row: AuditEntryRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        who=row.who,
        workstation=row.workstation,
        action=row.action,
        subject=Subject(row.subject_kind, row.subject_id, row.subject_name),
        changes=tuple(FieldChange.from_json(c) for c in json.loads(row.changes_json or "[]")),
    )


def list_entries(
    session: Session,
    *,
    who: str | None = None,
    what: str | Iterable[str] | None = None,
    since: datetime | None = None,
    subject_kind: str | None = None,
    subject_id: int | None = None,
    contains: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[AuditEntry]:
    """Entries newest first, ``limit`` from ``offset``. ``what`` is an action (``trigger.changed``) or its
    kind (``trigger``), or several; ``contains`` looks in the subject's name and the changes (case-insensitive)."""
    query = select(AuditEntryRow)
    if who:
        query = query.where(AuditEntryRow.who == who)
    if what:
        wanted = [what] if isinstance(what, str) else list(what)
        query = query.where(
            or_(
                *(
                    AuditEntryRow.action == w if "." in w else AuditEntryRow.action.like(f"{w}.%")
                    for w in wanted
                )
            )
        )
    if since is not None:
        query = query.where(AuditEntryRow.at >= since)
    if subject_kind:
        query = query.where(AuditEntryRow.subject_kind == subject_kind)
    if subject_id is not None:
        query = query.where(AuditEntryRow.subject_id == subject_id)
    if contains:
        pattern = f"%{contains.lower()}%"
        query = query.where(
            or_(
                AuditEntryRow.subject_name.ilike(pattern),
                AuditEntryRow.changes_json.ilike(pattern),
                AuditEntryRow.workstation.ilike(pattern),
            )
        )
    rows = session.scalars(
        query.order_by(AuditEntryRow.at.desc(), AuditEntryRow.id.desc()).limit(limit).offset(offset)
    )
    return [_entry(r) for r in rows]


def known_users(session: Session) -> list[str]:
    """Everyone who has an entry, for a "who" filter."""
    return sorted(session.scalars(select(AuditEntryRow.who).distinct()))
