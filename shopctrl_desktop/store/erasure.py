"""Carrying out an erasure request (domain/erasure.py) in one transaction, with its audit entry."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.audit import AuditAction, FieldChange, Subject, SubjectKind
from shopctrl_desktop.domain.erasure import (
    CANCELLED_STATUSES,
    ERASED_ALERT,
    ERASED_BODY,
    ERASED_NOTE,
    ErasureRequest,
)
from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.store.audit import record
from shopctrl_desktop.store.models import AlertRow, DeliveryAttemptRow, EventRow, QueueItemRow, utcnow


@dataclass(frozen=True)
class Erased:
    events: int
    items: int
    cancelled: int
    attempts: int
    alerts: int

    def describe(self, request: ErasureRequest, *, dry_run: bool) -> str:
        verb = "would erase" if dry_run else "erased"
        return (
            f"{verb} the data of {request.described}: {self.events:,} events, {self.items:,} queue item payloads "
            f"({self.cancelled:,} waiting item(s) {'to be ' if dry_run else ''}cancelled), "
            f"{self.attempts:,} response bodies, {self.alerts:,} alert texts"
        )


def _contains(column, text: str):  # type: ignore[no-untyped-def]
    return func.lower(column).contains(text.lower(), autoescape=True)


def erase(session: Session, request: ErasureRequest, *, dry_run: bool = False) -> Erased:
    if request.email is not None:
        address = request.email
        event_match = or_(
            _contains(EventRow.data_json, address), _contains(EventRow.entity_data_json, address)
        )
    else:
        event_match = (EventRow.entity_type == request.entity_type) & (
            EventRow.entity_id == request.entity_id
        )
    event_ids = list(session.scalars(select(EventRow.id).where(event_match)))
    item_match: ColumnElement[bool] = QueueItemRow.event_id.in_(event_ids)
    if request.email is not None:
        item_match = or_(item_match, _contains(QueueItemRow.body, request.email))
    item_ids = list(session.scalars(select(QueueItemRow.id).where(item_match)))
    waiting = [
        i
        for i in session.scalars(
            select(QueueItemRow.id).where(
                QueueItemRow.id.in_(item_ids), QueueItemRow.status.in_([s.value for s in CANCELLED_STATUSES])
            )
        )
    ]
    attempt_match: ColumnElement[bool] = DeliveryAttemptRow.item_id.in_(
        item_ids
    ) & DeliveryAttemptRow.response_body.is_not(None)
    if request.email is not None:
        attempt_match = or_(attempt_match, _contains(DeliveryAttemptRow.response_body, request.email))
    attempts = session.scalar(select(func.count()).select_from(DeliveryAttemptRow).where(attempt_match)) or 0
    alert_match = (
        or_(_contains(AlertRow.message, request.email), _contains(AlertRow.title, request.email))
        if request.email is not None
        else AlertRow.item_id.in_(item_ids)
    )
    alerts = session.scalar(select(func.count()).select_from(AlertRow).where(alert_match)) or 0
    result = Erased(len(event_ids), len(item_ids), len(waiting), attempts, alerts)
    if dry_run:
        return result
    if event_ids:
        session.execute(
            update(EventRow)
            .where(EventRow.id.in_(event_ids))
            .values(data_json="{}", entity_data_json="{}", entity_code=None)
        )
    if item_ids:
        session.execute(
            update(QueueItemRow)
            .where(QueueItemRow.id.in_(item_ids))
            .values(body=ERASED_BODY, entity_code=None)
        )
    if waiting:
        session.execute(
            update(QueueItemRow)
            .where(QueueItemRow.id.in_(waiting))
            .values(
                status=ItemStatus.CANCELLED.value,
                finished_at=utcnow(),
                next_attempt_at=None,
                response_message=ERASED_NOTE,
            )
        )
    session.execute(update(DeliveryAttemptRow).where(attempt_match).values(response_body=None))
    session.execute(update(AlertRow).where(alert_match).values(message=ERASED_ALERT))
    record(
        session,
        AuditAction.DATA_ERASED,
        Subject(SubjectKind.CUSTOMER, None, request.described),
        [
            FieldChange("events", None, result.events),
            FieldChange("items", None, result.items),
            FieldChange("cancelled", None, result.cancelled),
            FieldChange("responseBodies", None, result.attempts),
            FieldChange("alerts", None, result.alerts),
        ],
    )
    return result
