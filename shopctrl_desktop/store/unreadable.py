"""Webhook actions whose stored secrets this workstation's key cannot decrypt.

On a shared database every workstation that delivers needs the key the secrets were sealed with. Before,
one such action made every claim transaction raise ``SecretKeyError``: nothing on that workstation was
delivered and the engine retried forever. Now the action is set aside: its claimed items fail at once
(status ``failed``, an attempt row, a message in words naming the action and the fix), one Error alert is
raised per action (not per item, and not again while an unread one for that action exists), and every
other action keeps delivering. After ``key import`` the failed items are retried as any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.model import AlertSeverity, ItemStatus, WebhookAction
from shopctrl_desktop.domain.queue import ItemChange
from shopctrl_desktop.store.alerts import create_alert
from shopctrl_desktop.store.keys import recorded_fingerprint
from shopctrl_desktop.store.models import AlertRow, DeliveryAttemptRow, QueueItemRow, WebhookActionRow
from shopctrl_desktop.store.secrets import SecretBox, SecretKeyError
from shopctrl_desktop.store.triggers import action_from_row

if TYPE_CHECKING:
    from shopctrl_desktop.store.claim import ClaimedItem, RecordResult

#: pg_advisory_xact_lock(UNREADABLE_ALERT_LOCKS, action id): two engines with the wrong key that fail items of
#: one action at the same moment raise one alert between them (taken in ascending action order; the intake's
#: classes are 0x5C00-0x5C02, store/ingest_sql.py).
UNREADABLE_ALERT_LOCKS = 0x5C10
_ALERT_LOCK_SQL = text("SELECT pg_advisory_xact_lock(:lock_class, :action_id)")
_ITEMS = cast(Table, QueueItemRow.__table__)
_ATTEMPTS = cast(Table, DeliveryAttemptRow.__table__)


def load_actions_isolated(
    session: Session, box: SecretBox, ids: Iterable[int | None]
) -> tuple[dict[int, WebhookAction], set[int]]:
    """The actions with their secrets decrypted, and the ids of those whose secrets cannot be."""
    wanted = sorted({i for i in ids if i is not None})
    actions: dict[int, WebhookAction] = {}
    unreadable: set[int] = set()
    if not wanted:
        return actions, unreadable
    for row in session.scalars(select(WebhookActionRow).where(WebhookActionRow.id.in_(wanted))):
        try:
            actions[row.id] = action_from_row(row, box)
        except SecretKeyError:
            unreadable.add(row.id)
    return actions, unreadable


def alert_title(action_id: int, trigger_title: str) -> str:
    return f"Secrets cannot be decrypted: {trigger_title or 'deleted trigger'} (action #{action_id})"


def failure_message(action_id: int, item: ClaimedItem, box: SecretBox, needed: str | None = None) -> str:
    needs = f"this database's secrets need key {needed}; " if needed and needed != box.fingerprint else ""
    return (
        f'Webhook action #{action_id} of trigger "{item.trigger_title}" ({item.method} {item.url}) cannot be '
        "sent from this workstation: its stored secrets (HMAC secret, password or client certificate) were "
        f"encrypted with another key than this workstation's ({needs}this workstation has key "
        f"{box.fingerprint}, from {box.source}). "
        "Fix: export the key on a workstation that delivers this action (`shopctrl-desktop key export FILE`), "
        "import it here (`shopctrl-desktop key import FILE`), then retry the failed items; or enter the "
        "secrets again in the trigger editor."
    )


def fail_unreadable_items(
    session: Session,
    items: Sequence[ClaimedItem],
    unreadable: set[int],
    box: SecretBox,
    now: datetime,
    result: RecordResult,
) -> None:
    """Fail claimed ``items`` whose action is in ``unreadable`` (in the caller's transaction), adding their
    changes and the new alerts to ``result``; at most one unread alert per action."""
    first_item: dict[int, ClaimedItem] = {}
    needed = recorded_fingerprint(session)
    for item in items:
        action_id = cast(int, item.action_id)
        message = failure_message(action_id, item, box, needed)
        number = item.attempts + 1
        session.execute(
            insert(_ATTEMPTS).values(
                item_id=item.id, number=number, started_at=now, duration_ms=0.0, error=message
            )
        )
        session.execute(
            update(_ITEMS)
            .where(_ITEMS.c.id == item.id)
            .values(
                status=ItemStatus.FAILED.value,
                attempts=number,
                last_attempt_at=now,
                next_attempt_at=None,
                finished_at=now,
                response_status=None,
                response_message=message,
                duration_ms=0.0,
                lease_owner=None,
                lease_expires_at=None,
            )
        )
        result.changes.append(ItemChange(item.id, ItemStatus.FAILED, number, None, message))
        first_item.setdefault(action_id, item)
    postgresql = session.get_bind().dialect.name == "postgresql"
    for action_id, item in sorted(first_item.items()):
        if postgresql:
            session.execute(_ALERT_LOCK_SQL, {"lock_class": UNREADABLE_ALERT_LOCKS, "action_id": action_id})
        title = alert_title(action_id, item.trigger_title)
        unread = session.scalar(
            select(AlertRow.id).where(AlertRow.title == title[:300], AlertRow.read.is_(False)).limit(1)
        )
        if unread is not None:
            continue
        message = failure_message(action_id, item, box, needed) + " Items of this action fail until then."
        alert_id = create_alert(session, AlertSeverity.ERROR, title, message, item.id, item.trigger_id)
        result.alerts.append((alert_id, AlertSeverity.ERROR.value, title))
