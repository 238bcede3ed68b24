"""Rotating an action's HMAC secret in the database (issue 12 item 7; the rule: domain/secret_rotation.py).

The new secret is sealed like every secret (store/keys.py ``sealer``) and becomes current. For Standard
Webhooks the current sealed value moves, as it is, to ``previous_hmac_secret_enc`` and keeps signing until
``previous_secret_expires_at`` — moved, never decrypted, so any admin workstation may rotate; for the ShopCtrl
and GitHub schemes no previous secret is kept (a clear cut-over). ``secret_rotated_at`` records when. One
``secret.rotated`` audit entry in the same transaction names the action and the overlap, never a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from shopctrl_desktop.domain.audit import AuditAction, FieldChange, Subject, SubjectKind
from shopctrl_desktop.domain.model import SignatureScheme
from shopctrl_desktop.domain.secret_rotation import RotationPlan, plan_rotation, validate_overlap_hours
from shopctrl_desktop.domain.signing import validate_secret
from shopctrl_desktop.domain.stored_secret import is_stored_secret
from shopctrl_desktop.store.audit import record
from shopctrl_desktop.store.keys import sealer
from shopctrl_desktop.store.models import TriggerRow, WebhookActionRow, utcnow
from shopctrl_desktop.store.secrets import SecretBox


class RotationError(ValueError):
    """The secret cannot be rotated; the message says why, in words (never the secret)."""


@dataclass(frozen=True)
class Rotation:
    action_id: int
    trigger_id: int
    trigger_title: str
    scheme: SignatureScheme
    plan: RotationPlan


def apply_rotation(
    session: Session,
    row: WebhookActionRow,
    new_sealed: str,
    overlap_hours: float,
    now: datetime,
    *,
    previous_sealed: str | None,
    previous_scheme: str | None = None,
) -> Rotation:
    """Make ``new_sealed`` the current secret of ``row`` at ``now``; keep ``previous_sealed`` signing for the
    overlap when the scheme allows it (and did not change with the rotation). Audited as ``secret.rotated``."""
    scheme = SignatureScheme(row.signature_scheme)
    same_scheme = previous_scheme is None or previous_scheme == scheme.value
    plan = plan_rotation(scheme, now, overlap_hours, had_secret=bool(previous_sealed) and same_scheme)
    row.hmac_secret_enc = new_sealed
    row.previous_hmac_secret_enc = None if plan.cut_over else previous_sealed
    row.previous_secret_expires_at = plan.previous_expires_at
    row.secret_rotated_at = now
    session.flush()
    trigger = session.get(TriggerRow, row.trigger_id)
    title = trigger.title if trigger is not None else ""
    until = plan.previous_expires_at.isoformat() if plan.previous_expires_at else "no (cut-over)"
    record(
        session,
        AuditAction.SECRET_ROTATED,
        Subject(SubjectKind.TRIGGER, row.trigger_id, title),
        [
            FieldChange("action", None, f"#{row.id} {row.url}"),
            FieldChange("hmacSecret", secret=True),
            FieldChange("signatureScheme", None, scheme.value),
            FieldChange("previousSecretSignedUntil", None, until),
        ],
    )
    return Rotation(row.id, row.trigger_id, title, scheme, plan)


def rotate_secret(
    session: Session,
    box: SecretBox,
    action_id: int,
    new_secret: str,
    *,
    overlap_hours: float,
    now: datetime | None = None,
) -> Rotation:
    """Rotate the HMAC secret of action ``action_id`` to ``new_secret`` (in the caller's transaction).
    RotationError in words for an unknown action or a secret the scheme cannot use."""
    try:
        hours = validate_overlap_hours(overlap_hours)
    except ValueError as exc:
        raise RotationError(str(exc)) from None
    row = session.get(WebhookActionRow, action_id)
    if row is None:
        raise RotationError(f"there is no webhook action #{action_id}; `triggers list --json` shows the ids")
    if is_stored_secret(new_secret):
        raise RotationError("the new secret must be typed or generated, not a stored one")
    try:
        validate_secret(row.signature_scheme, new_secret)
    except ValueError as exc:
        raise RotationError(f"the new secret cannot be used: {exc}") from None
    if row.hmac_secret_enc:
        try:
            same = box.decrypt(row.hmac_secret_enc) == new_secret
        except Exception:  # noqa: BLE001 - sealed for a key this workstation lacks: cannot compare, fine
            same = False
        if same:
            raise RotationError("the new secret is the same as the current one; generate or enter another")
    sealed = sealer(session, box)(new_secret)
    assert sealed is not None
    return apply_rotation(session, row, sealed, hours, now or utcnow(), previous_sealed=row.hmac_secret_enc)
