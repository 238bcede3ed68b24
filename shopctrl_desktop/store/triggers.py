"""Trigger repository: domain Trigger/WebhookAction <-> ORM rows, secrets encrypted at rest."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, selectinload

from shopctrl_desktop.domain.audit import AuditAction, FieldChange, Subject, SubjectKind, diff_triggers
from shopctrl_desktop.domain.model import MimeType, Priority, SignatureScheme, Trigger, WebhookAction
from shopctrl_desktop.domain.stored_secret import is_stored_secret, sealed_value, stored_secret
from shopctrl_desktop.store.audit import record
from shopctrl_desktop.store.keys import sealer
from shopctrl_desktop.store.models import TriggerRow, WebhookActionRow, utcnow
from shopctrl_desktop.store.secret_rotation import apply_rotation
from shopctrl_desktop.store.secrets import SecretBox, SecretKeyError


def action_from_values(
    value: Callable[[str], Any], box: SecretBox | None = None, *, keep_unreadable: bool = False
) -> WebhookAction:
    """A WebhookAction from a stored action's columns (``value(column name)``).

    Without a ``box`` the secrets stay out (``None``): the intake renders payloads, which never need them;
    delivery decrypts them at send time. A secret ``box`` cannot open raises SecretKeyError, or with
    ``keep_unreadable`` becomes a stored-secret marker (domain/stored_secret.py): the editor on a
    workstation without the engine key shows it as set and can replace or clear it, never read it.
    """

    def secret(column: str) -> str | None:
        if box is None:
            return None
        token = value(column)
        try:
            return box.decrypt(token)
        except SecretKeyError:
            if keep_unreadable and token:
                return stored_secret(token)
            raise

    return WebhookAction(
        id=value("id"),
        url=value("url"),
        method=value("method"),
        priority=Priority(value("priority")),
        unique_queue_items=bool(value("unique_queue_items")),
        hmac_secret=secret("hmac_secret_enc"),
        signature_scheme=SignatureScheme(value("signature_scheme")),
        client_certificate=secret("client_certificate_enc"),
        client_certificate_passphrase=secret("client_certificate_passphrase_enc"),
        ca_certificate=value("ca_certificate"),
        timeout_seconds=value("timeout_seconds"),
        username=value("username"),
        password=secret("password_enc"),
        headers=json.loads(value("headers_json") or "{}"),
        payload_mime_type=MimeType(value("payload_mime_type")),
        payload_body=value("payload_body") or "",
        previous_hmac_secret=secret("previous_hmac_secret_enc"),
        previous_secret_expires_at=_moment(value("previous_secret_expires_at")),
        secret_rotated_at=_moment(value("secret_rotated_at")),
    )


def _moment(value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime (raw SQLite rows give text, the ORM naive-UTC-made-aware)."""
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def trigger_from_values(value: Callable[[str], Any], actions: tuple[WebhookAction, ...]) -> Trigger:
    """A Trigger from a stored trigger's columns (``value(column name)``) and its actions in order."""
    condition_json = value("condition_json")
    return Trigger(
        id=value("id"),
        title=value("title"),
        event=value("event"),
        shop_id=value("shop_id"),
        enabled=bool(value("enabled")),
        condition=json.loads(condition_json) if condition_json else None,
        actions=actions,
    )


def action_from_row(
    row: WebhookActionRow, box: SecretBox | None, *, keep_unreadable: bool = False
) -> WebhookAction:
    return action_from_values(functools.partial(getattr, row), box, keep_unreadable=keep_unreadable)


def trigger_from_row(row: TriggerRow, box: SecretBox | None, *, keep_unreadable: bool = False) -> Trigger:
    return trigger_from_values(
        functools.partial(getattr, row),
        tuple(action_from_row(a, box, keep_unreadable=keep_unreadable) for a in row.actions),
    )


def _fill_action_row(
    row: WebhookActionRow, action: WebhookAction, position: int, seal: Callable[[str | None], str | None]
) -> None:
    row.position = position
    row.url = action.url
    row.method = action.method
    row.priority = int(action.priority)
    row.unique_queue_items = action.unique_queue_items
    row.hmac_secret_enc = seal(action.hmac_secret)
    row.signature_scheme = SignatureScheme(action.signature_scheme).value
    row.client_certificate_enc = seal(action.client_certificate)
    row.client_certificate_passphrase_enc = seal(action.client_certificate_passphrase)
    row.ca_certificate = action.ca_certificate or None
    row.timeout_seconds = float(action.timeout_seconds)
    row.username = action.username or None
    row.password_enc = seal(action.password)
    row.headers_json = json.dumps(dict(action.headers))
    row.payload_mime_type = MimeType(action.payload_mime_type).value
    row.payload_body = action.payload_body or ""


def public_action_columns() -> tuple[str, ...]:
    """The columns of webhook_actions that hold no secret (all but the encrypted ``*_enc`` ones): what a
    login without access to secrets (support, SPEC §10) may read."""
    return tuple(c.name for c in WebhookActionRow.__table__.columns if not c.name.endswith("_enc"))


def _with_actions(box: SecretBox | None):  # type: ignore[no-untyped-def]
    """Load a trigger's actions: every column with a ``box``; without one only the public columns, so the
    query never names a secret column (a support login may not SELECT them on PostgreSQL)."""
    load = selectinload(TriggerRow.actions)
    if box is None:
        load = load.load_only(*(getattr(WebhookActionRow, c) for c in public_action_columns()))
    return load


def _triggers(
    session: Session, box: SecretBox | None, *where: Any, keep_unreadable: bool = False
) -> list[Trigger]:
    rows = session.scalars(
        select(TriggerRow).options(_with_actions(box)).where(*where).order_by(TriggerRow.title)
    )
    return [trigger_from_row(r, box, keep_unreadable=keep_unreadable) for r in rows]


def list_triggers(session: Session, box: SecretBox | None, *, keep_unreadable: bool = False) -> list[Trigger]:
    """Every trigger by title; without a ``box`` the secrets are neither read nor decrypted (``None``).
    ``keep_unreadable``: secrets this box cannot open come as stored-secret markers instead of raising."""
    return _triggers(session, box, keep_unreadable=keep_unreadable)


def list_public_triggers(session: Session) -> list[Trigger]:
    """Every trigger with its secrets left out (None): to show them where the key cannot decrypt them.
    Never save one of these back (the secrets would be cleared)."""
    return list_triggers(session, None)


#: The secret fields of an action, named as on WebhookAction and as the view of migration 0007 names them.
SECRET_FIELDS = ("hmac_secret", "client_certificate", "client_certificate_passphrase", "password")


def secrets_set(session: Session) -> dict[int, frozenset[str]]:
    """action id -> the names of its secret fields that hold a value (of :data:`SECRET_FIELDS`), read from
    the view ``webhook_action_secrets_set``: never the secrets, so a login that may not read the ``*_enc``
    columns (support) can still show "set" / "not set"."""
    rows = session.execute(
        text(f"SELECT action_id, {', '.join(SECRET_FIELDS)} FROM webhook_action_secrets_set")
    )
    return {
        int(row[0]): frozenset(name for name, value in zip(SECRET_FIELDS, row[1:], strict=True) if value)
        for row in rows
    }


def get_trigger(
    session: Session, box: SecretBox | None, trigger_id: int, *, keep_unreadable: bool = False
) -> Trigger | None:
    found = _triggers(session, box, TriggerRow.id == trigger_id, keep_unreadable=keep_unreadable)
    return found[0] if found else None


def find_trigger_by_title(
    session: Session, box: SecretBox | None, title: str, *, keep_unreadable: bool = False
) -> Trigger | None:
    found = _triggers(session, box, TriggerRow.title == title, keep_unreadable=keep_unreadable)
    return found[0] if found else None


def _stored_trigger(row: TriggerRow, box: SecretBox | None) -> Trigger:
    """The trigger as stored, for the audit trail's difference; a secret that cannot be decrypted is its
    stored-secret marker (kept: unchanged; replaced: changed)."""
    return trigger_from_row(row, box, keep_unreadable=True) if box is not None else _public_trigger(row)


def _public_trigger(row: TriggerRow) -> Trigger:
    actions = tuple(action_from_values(functools.partial(getattr, a)) for a in row.actions)
    return trigger_from_values(functools.partial(getattr, row), actions)


def _store_secret(seal: Callable[[str | None], str | None]) -> Callable[[str | None], str | None]:
    """``seal`` for new secrets; a stored-secret marker keeps the sealed value it carries."""

    def store(value: str | None) -> str | None:
        return sealed_value(value) if value is not None and is_stored_secret(value) else seal(value)

    return store


def _secret_replaced(old: WebhookAction | None, new: WebhookAction) -> bool:
    return old is not None and (
        old.hmac_secret != new.hmac_secret or old.signature_scheme != new.signature_scheme
    )


def _drop_previous_secret(row: WebhookActionRow) -> None:
    row.previous_hmac_secret_enc = None
    row.previous_secret_expires_at = None


def save_trigger(session: Session, box: SecretBox, trigger: Trigger) -> int:
    """Insert (id None) or update a trigger with its actions; returns the trigger id. The change is
    recorded in the audit trail (field by field) in the same transaction.

    New secrets are sealed for the database's engine public key when it has one (store/keys.py ``sealer``):
    no private key is needed to save. Actions are matched by id where given, so queue items keep pointing at
    the action they came from.
    """
    store = _store_secret(sealer(session, box))
    row = session.get(TriggerRow, trigger.id) if trigger.id is not None else None
    old = _stored_trigger(row, box) if row is not None else None
    if row is None:
        row = TriggerRow()
        session.add(row)
    row.title = trigger.title
    row.event = trigger.event
    row.shop_id = trigger.shop_id
    row.enabled = trigger.enabled
    row.condition_json = json.dumps(trigger.condition) if trigger.condition else None
    existing = {a.id: a for a in row.actions}
    old_actions = {a.id: a for a in old.actions} if old is not None else {}
    new_rows: list[WebhookActionRow] = []
    rotations: list[tuple[WebhookActionRow, float, str | None, str]] = []
    for position, action in enumerate(trigger.actions):
        action_row = existing.pop(action.id, None) if action.id is not None else None
        if action_row is None:
            action_row = WebhookActionRow()
        before_secret, before_scheme = action_row.hmac_secret_enc, action_row.signature_scheme
        _fill_action_row(action_row, action, position, store)
        replaced = _secret_replaced(old_actions.get(action.id), action)
        if replaced and action.rotate_overlap_hours is not None and action_row.hmac_secret_enc:
            rotations.append((action_row, action.rotate_overlap_hours, before_secret, before_scheme))
        elif replaced:
            _drop_previous_secret(action_row)  # typed over: the new secret alone, at once
        new_rows.append(action_row)
    row.actions = new_rows
    session.flush()
    for action_row, hours, before_secret, before_scheme in rotations:
        assert action_row.hmac_secret_enc is not None  # only actions with a secret are rotated
        apply_rotation(
            session,
            action_row,
            action_row.hmac_secret_enc,
            hours,
            utcnow(),
            previous_sealed=before_secret,
            previous_scheme=before_scheme,
        )
    changes = diff_triggers(old, trigger)
    if old is None or changes:
        verb = AuditAction.TRIGGER_CREATED if old is None else AuditAction.TRIGGER_CHANGED
        record(session, verb, Subject(SubjectKind.TRIGGER, row.id, row.title), changes)
    return row.id


def delete_trigger(session: Session, trigger_id: int) -> None:
    row = session.get(TriggerRow, trigger_id)
    if row is not None:
        changes = diff_triggers(_public_trigger(row), None)
        session.delete(row)
        record(
            session, AuditAction.TRIGGER_DELETED, Subject(SubjectKind.TRIGGER, trigger_id, row.title), changes
        )


def set_enabled(session: Session, trigger_id: int, enabled: bool) -> None:
    row = session.get(TriggerRow, trigger_id)
    if row is not None and row.enabled != enabled:
        row.enabled = enabled
        record(
            session,
            AuditAction.TRIGGER_CHANGED,
            Subject(SubjectKind.TRIGGER, trigger_id, row.title),
            [FieldChange("enabled", not enabled, enabled)],
        )


def move_url_credentials(session: Session, box: SecretBox) -> int:
    """Actions stored before ``user:password@`` in a URL was refused: the user name and password move to the
    action's basic authentication (the password sealed like every secret) unless it has its own, and leave
    the URL — of the action and of its waiting and finished queue items — so they are never shown or
    exported in plain text again. Audited per action (the secret only as "changed"). Returns how many
    actions changed."""
    from urllib.parse import unquote, urlsplit

    from shopctrl_desktop.domain.trigger_file import url_has_credentials, without_credentials
    from shopctrl_desktop.store.models import QueueItemRow

    rows = [
        r
        for r in session.scalars(select(WebhookActionRow).where(WebhookActionRow.url.contains("@")))
        if url_has_credentials(r.url)
    ]
    if not rows:
        return 0
    seal = sealer(session, box)
    for row in rows:
        parts = urlsplit(row.url.strip())
        old_url, clean = row.url, without_credentials(row.url)
        changes = [FieldChange("url", without_credentials(old_url) + " (with user:password@)", clean)]
        if not row.username and parts.username:
            row.username = unquote(parts.username)
            row.password_enc = seal(unquote(parts.password or "")) if parts.password else None
            changes += [
                FieldChange("username", None, row.username),
                FieldChange("password", None, None, secret=True),
            ]
        row.url = clean
        for item in session.scalars(
            select(QueueItemRow).where(QueueItemRow.action_id == row.id, QueueItemRow.url == old_url)
        ):
            item.url = clean
        trigger = session.get(TriggerRow, row.trigger_id)
        name = trigger.title if trigger is not None else ""
        record(
            session, AuditAction.TRIGGER_CHANGED, Subject(SubjectKind.TRIGGER, row.trigger_id, name), changes
        )
    return len(rows)


def uses_templates(session: Session) -> bool:
    """Whether any action has a payload template (its own body, not the default payload)."""
    return (
        session.scalar(select(WebhookActionRow.id).where(WebhookActionRow.payload_body != "").limit(1))
        is not None
    )
