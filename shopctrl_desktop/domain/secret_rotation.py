"""Rotating an action's HMAC secret (issue 12 item 7): which secrets sign a request now, and what a rotation
keeps. Pure: every function takes ``now``.

- Standard Webhooks: the receiver's library accepts a request when *any* ``v1,…`` signature in
  ``webhook-signature`` matches, so after a rotation the previous secret keeps signing beside the new one for
  an overlap (24 h by default, setting ``secret_rotation_overlap_hours``); after that only the new one.
- ShopCtrl and GitHub schemes carry one signature: a rotation is a clear cut-over, the receiver must use the
  new secret at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shopctrl_desktop.domain.model import SignatureScheme, WebhookAction

DEFAULT_OVERLAP_HOURS = 24.0
#: A longer overlap would leave a leaked secret usable for too long.
MAX_OVERLAP_HOURS = 24.0 * 30


def keeps_previous(scheme: SignatureScheme | str) -> bool:
    """Whether a rotation under ``scheme`` keeps signing with the previous secret for an overlap."""
    return SignatureScheme(scheme) is SignatureScheme.STANDARD_WEBHOOKS


def validate_overlap_hours(hours: float) -> float:
    """``hours`` as a float; ValueError with a message for a person when it cannot be used."""
    try:
        value = float(hours)
    except (TypeError, ValueError):
        raise ValueError(f"the overlap must be a number of hours, not {hours!r}") from None
    if not 0 <= value <= MAX_OVERLAP_HOURS:
        raise ValueError(
            f"the overlap must be between 0 and {MAX_OVERLAP_HOURS:g} hours (30 days); {value:g} was given"
        )
    return value


@dataclass(frozen=True)
class RotationPlan:
    """What a rotation at ``rotated_at`` stores: keep the previous secret until ``previous_expires_at``
    (None: it is dropped now, a cut-over)."""

    rotated_at: datetime
    previous_expires_at: datetime | None

    @property
    def cut_over(self) -> bool:
        return self.previous_expires_at is None


def plan_rotation(
    scheme: SignatureScheme | str, now: datetime, overlap_hours: float, *, had_secret: bool = True
) -> RotationPlan:
    """The plan for rotating a secret of ``scheme`` at ``now``: an overlap only for Standard Webhooks, when
    there was a secret to keep and the overlap is longer than 0."""
    hours = validate_overlap_hours(overlap_hours)
    if not (had_secret and keeps_previous(scheme) and hours > 0):
        return RotationPlan(now, None)
    return RotationPlan(now, now + timedelta(hours=hours))


def overlap_active(action: WebhookAction, now: datetime) -> bool:
    """Whether the previous secret still signs at ``now`` (Standard Webhooks, before its expiry)."""
    expires = action.previous_secret_expires_at
    return bool(
        action.previous_hmac_secret
        and expires is not None
        and keeps_previous(action.signature_scheme)
        and now < expires
    )


def signing_secrets(action: WebhookAction, now: datetime) -> tuple[str, ...]:
    """The secrets that sign a request of ``action`` sent at ``now``, the current one first; () unsigned."""
    if not action.hmac_secret:
        return ()
    if overlap_active(action, now):
        assert action.previous_hmac_secret is not None
        return (action.hmac_secret, action.previous_hmac_secret)
    return (action.hmac_secret,)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def rotation_notice(
    scheme: SignatureScheme | str,
    rotated_at: datetime | None,
    previous_expires_at: datetime | None,
    now: datetime,
) -> str:
    """The line shown on the action: when the secret was rotated and what receivers must do. Times are
    written as given (convert them to local time first); "" when the secret was never rotated."""
    if rotated_at is None:
        return ""
    said = f"Secret rotated {_when(rotated_at)}"
    if previous_expires_at is not None and keeps_previous(scheme):
        if now < previous_expires_at:
            return f"{said}; the previous secret is also signed until {_when(previous_expires_at)}"
        return f"{said}; the previous secret was signed until {_when(previous_expires_at)} (no longer)"
    return f"{said} (receivers must use the new secret now)"
