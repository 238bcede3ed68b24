"""Trigger repository: domain Trigger/WebhookAction <-> ORM rows, secrets encrypted at rest."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shopctrl_desktop.domain.model import MimeType, Priority, SignatureScheme, Trigger, WebhookAction
from shopctrl_desktop.store.models import Shop, TriggerRow, WebhookActionRow
from shopctrl_desktop.store.secrets import SecretBox


def action_from_row(row: WebhookActionRow, box: SecretBox) -> WebhookAction:
    return WebhookAction(
        id=row.id,
        url=row.url,
        method=row.method,
        priority=Priority(row.priority),
        unique_queue_items=row.unique_queue_items,
        hmac_secret=box.decrypt(row.hmac_secret_enc),
        signature_scheme=SignatureScheme(row.signature_scheme),
        client_certificate=box.decrypt(row.client_certificate_enc),
        client_certificate_passphrase=box.decrypt(row.client_certificate_passphrase_enc),
        ca_certificate=row.ca_certificate,
        timeout_seconds=row.timeout_seconds,
        username=row.username,
        password=box.decrypt(row.password_enc),
        headers=json.loads(row.headers_json or "{}"),
        payload_mime_type=MimeType(row.payload_mime_type),
        payload_body=row.payload_body or "",
    )


def trigger_from_row(row: TriggerRow, box: SecretBox) -> Trigger:
    return Trigger(
        id=row.id,
        title=row.title,
        event=row.event,
        shop_id=row.shop_id,
        enabled=row.enabled,
        condition=json.loads(row.condition_json) if row.condition_json else None,
        actions=tuple(action_from_row(a, box) for a in row.actions),
    )


def _fill_action_row(row: WebhookActionRow, action: WebhookAction, position: int, box: SecretBox) -> None:
    row.position = position
    row.url = action.url
    row.method = action.method
    row.priority = int(action.priority)
    row.unique_queue_items = action.unique_queue_items
    row.hmac_secret_enc = box.encrypt(action.hmac_secret)
    row.signature_scheme = SignatureScheme(action.signature_scheme).value
    row.client_certificate_enc = box.encrypt(action.client_certificate)
    row.client_certificate_passphrase_enc = box.encrypt(action.client_certificate_passphrase)
    row.ca_certificate = action.ca_certificate or None
    row.timeout_seconds = float(action.timeout_seconds)
    row.username = action.username or None
    row.password_enc = box.encrypt(action.password)
    row.headers_json = json.dumps(dict(action.headers))
    row.payload_mime_type = MimeType(action.payload_mime_type).value
    row.payload_body = action.payload_body or ""


def list_triggers(session: Session, box: SecretBox) -> list[Trigger]:
    rows = session.scalars(
        select(TriggerRow).options(selectinload(TriggerRow.actions)).order_by(TriggerRow.title)
    )
    return [trigger_from_row(r, box) for r in rows]


def get_trigger(session: Session, box: SecretBox, trigger_id: int) -> Trigger | None:
    row = session.get(TriggerRow, trigger_id)
    return trigger_from_row(row, box) if row else None


def find_trigger_by_title(session: Session, box: SecretBox, title: str) -> Trigger | None:
    row = session.scalar(select(TriggerRow).where(TriggerRow.title == title))
    return trigger_from_row(row, box) if row else None


def save_trigger(session: Session, box: SecretBox, trigger: Trigger) -> int:
    """Insert (id None) or update a trigger with its actions; returns the trigger id.

    Actions are matched by id where given, so queue items keep pointing at the action they came from.
    """
    row = session.get(TriggerRow, trigger.id) if trigger.id is not None else None
    if row is None:
        row = TriggerRow()
        session.add(row)
    row.title = trigger.title
    row.event = trigger.event
    row.shop_id = trigger.shop_id
    row.enabled = trigger.enabled
    row.condition_json = json.dumps(trigger.condition) if trigger.condition else None
    existing = {a.id: a for a in row.actions}
    new_rows: list[WebhookActionRow] = []
    for position, action in enumerate(trigger.actions):
        action_row = existing.pop(action.id, None) if action.id is not None else None
        if action_row is None:
            action_row = WebhookActionRow()
        _fill_action_row(action_row, action, position, box)
        new_rows.append(action_row)
    row.actions = new_rows
    session.flush()
    return row.id


def delete_trigger(session: Session, trigger_id: int) -> None:
    row = session.get(TriggerRow, trigger_id)
    if row is not None:
        session.delete(row)


def set_enabled(session: Session, trigger_id: int, enabled: bool) -> None:
    row = session.get(TriggerRow, trigger_id)
    if row is not None:
        row.enabled = enabled


def enabled_triggers_for(
    session: Session, box: SecretBox, event: str, shop_id: int | None
) -> Sequence[Trigger]:
    """Enabled triggers of this event whose scope is all shops or this shop."""
    query = (
        select(TriggerRow)
        .options(selectinload(TriggerRow.actions))
        .where(TriggerRow.event == event, TriggerRow.enabled.is_(True))
    )
    rows = session.scalars(query.order_by(TriggerRow.id))
    return [trigger_from_row(r, box) for r in rows if r.shop_id is None or r.shop_id == shop_id]


def ensure_shop(session: Session, shop_id: int) -> None:
    if session.get(Shop, shop_id) is None:
        session.add(Shop(id=shop_id, name=f"Shop {shop_id}"))
