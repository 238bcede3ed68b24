"""Stored events: the entity snapshots that merge-field previews and the dynamic merge-field list read."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.model import StoredEvent
from shopctrl_desktop.store.models import EventRow


def stored_event(row: EventRow) -> StoredEvent:
    return StoredEvent(
        id=row.id,
        event=row.event,
        shop_id=row.shop_id,
        occurred_at=row.occurred_at,
        data=json.loads(row.data_json or "{}"),
        entity_data=json.loads(row.entity_data_json or "{}"),
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        entity_code=row.entity_code,
    )


def get_event(session: Session, event_id: int) -> StoredEvent | None:
    row = session.get(EventRow, event_id)
    return stored_event(row) if row else None


def latest_snapshot(session: Session, entity_type: str, entity_id: str | int) -> StoredEvent | None:
    """The newest stored event whose primary entity is this one (e.g. ``("Order", "1001")``)."""
    row = session.scalar(
        select(EventRow)
        .where(EventRow.entity_type == entity_type, EventRow.entity_id == str(entity_id))
        .order_by(EventRow.id.desc())
        .limit(1)
    )
    return stored_event(row) if row else None


def recent_events(session: Session, event: str | None = None, limit: int = 50) -> list[StoredEvent]:
    """Newest first; ``event`` filters by system name."""
    query = select(EventRow)
    if event:
        query = query.where(EventRow.event == event)
    rows = session.scalars(query.order_by(EventRow.id.desc()).limit(limit))
    return [stored_event(r) for r in rows]
