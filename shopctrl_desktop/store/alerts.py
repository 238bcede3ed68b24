"""Alerts repository: created when an item fails for good; read/unread for the Alerts page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.audit import AuditAction, FieldChange, Subject, SubjectKind
from shopctrl_desktop.domain.model import AlertSeverity
from shopctrl_desktop.store.audit import record
from shopctrl_desktop.store.models import AlertRow, utcnow


@dataclass(frozen=True)
class Alert:
    id: int
    severity: str
    title: str
    message: str
    item_id: int | None
    trigger_id: int | None
    created_at: datetime
    read: bool

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "severity": self.severity,
            "title": self.title,
            "message": self.message,
            "itemId": self.item_id,
            "triggerId": self.trigger_id,
            "createdAt": self.created_at.isoformat().replace("+00:00", "Z"),
            "read": self.read,
        }


def _alert(row: AlertRow) -> Alert:
    return Alert(
        id=row.id,
        severity=row.severity,
        title=row.title,
        message=row.message,
        item_id=row.item_id,
        trigger_id=row.trigger_id,
        created_at=row.created_at,
        read=row.read,
    )


def create_alert(
    session: Session,
    severity: AlertSeverity | str,
    title: str,
    message: str,
    item_id: int | None = None,
    trigger_id: int | None = None,
    created_at: datetime | None = None,
) -> int:
    row = AlertRow(
        severity=AlertSeverity(severity).value,
        title=title[:300],
        message=message,
        item_id=item_id,
        trigger_id=trigger_id,
        created_at=created_at or utcnow(),
        read=False,
    )
    session.add(row)
    session.flush()
    return row.id


def list_alerts(session: Session, unread_only: bool = False, limit: int = 500) -> list[Alert]:
    """Newest first."""
    query = select(AlertRow)
    if unread_only:
        query = query.where(AlertRow.read.is_(False))
    rows = session.scalars(query.order_by(AlertRow.id.desc()).limit(limit))
    return [_alert(r) for r in rows]


def get_alert(session: Session, alert_id: int) -> Alert | None:
    row = session.get(AlertRow, alert_id)
    return _alert(row) if row else None


def mark_read(session: Session, ids: Iterable[int]) -> int:
    """Mark these alerts read; returns how many were unread. Recorded in the audit trail."""
    wanted = list(ids)
    if not wanted:
        return 0
    rows = session.execute(
        update(AlertRow)
        .where(AlertRow.id.in_(wanted), AlertRow.read.is_(False))
        .values(read=True)
        .returning(AlertRow.id, AlertRow.title)
    ).all()
    if len(rows) == 1:
        record(session, AuditAction.ALERTS_READ, Subject(SubjectKind.ALERT, rows[0].id, rows[0].title))
    elif rows:
        _record_alerts(session, AuditAction.ALERTS_READ, sorted(r.id for r in rows))
    return len(rows)


def mark_all_read(session: Session) -> int:
    """Mark every unread alert read; returns how many. Recorded in the audit trail."""
    marked = sorted(
        session.scalars(
            update(AlertRow).where(AlertRow.read.is_(False)).values(read=True).returning(AlertRow.id)
        )
    )
    if marked:
        _record_alerts(session, AuditAction.ALERTS_ALL_READ, marked)
    return len(marked)


def _record_alerts(session: Session, action: AuditAction, ids: list[int]) -> None:
    name = f"{len(ids)} alert" + ("s" if len(ids) != 1 else "")
    record(session, action, Subject(SubjectKind.ALERTS, None, name), [FieldChange("alerts", None, ids)])


def unread_count(session: Session) -> int:
    return int(
        session.scalar(select(func.count()).select_from(AlertRow).where(AlertRow.read.is_(False))) or 0
    )
