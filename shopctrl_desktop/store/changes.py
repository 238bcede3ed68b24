"""What changed in the queue and the alerts since the last look — for a window whose own engine is not the
one delivering (another workstation, ``serve``, the CLI).

A :class:`ChangeWatcher` keeps a snapshot of the *moving* items (queued, sending, retrying: few, read through
the status index) with their attempt counts, the newest queue item id and the newest alert id. ``poll()``
reads them again and reports the difference as the same plain values the engine relay reports
(:class:`ItemChange`, :class:`QueueCounts`, new alerts). Cost: nothing on the delivery path (no column, no
trigger, no index is written for it); each poll is three index reads plus, when something changed, the
statuses of the items that left the moving set and the live counts.

What it cannot see: an item that was retried (``failed`` → ``queued``) *and* finished again between two
polls, and an alert marked read elsewhere. Both are shown at the next full reload.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.domain.queue import MOVING_STATUSES, ItemChange, QueueCounts, status_values
from shopctrl_desktop.store.models import AlertRow, QueueItemRow
from shopctrl_desktop.store.queue import queue_counts

_MOVING = status_values(MOVING_STATUSES)
#: New items read per poll at most (a burst of intake); the rest come at the next poll.
NEW_ITEMS_PER_POLL = 5000
NEW_ALERTS_PER_POLL = 100


@dataclass(frozen=True)
class NewAlert:
    id: int
    severity: str
    title: str


@dataclass(frozen=True)
class Changes:
    items: list[ItemChange] = field(default_factory=list)
    alerts: list[NewAlert] = field(default_factory=list)
    counts: QueueCounts | None = None  # only when items changed

    def __bool__(self) -> bool:
        return bool(self.items or self.alerts)


def _change(row: tuple[int, str, int]) -> ItemChange:
    return ItemChange(int(row[0]), ItemStatus(row[1]), int(row[2]))


class ChangeWatcher:
    """Not thread-safe by itself: one thread polls; :meth:`absorb` (changes already shown, e.g. by the
    window's own engine relay) takes the same lock as the caller arranges."""

    def __init__(self) -> None:
        self._moving: dict[int, tuple[str, int]] | None = None  # None until the first poll (the baseline)
        self._max_item = 0
        self._max_alert = 0

    @property
    def started(self) -> bool:
        return self._moving is not None

    def absorb(self, changes: list[ItemChange]) -> None:
        """These changes were shown already: do not report them again."""
        if self._moving is None:
            return
        for c in changes:
            status = ItemStatus(c.status).value
            if status in _MOVING:
                self._moving[c.item_id] = (status, c.attempts)
            else:
                self._moving.pop(c.item_id, None)
            self._max_item = max(self._max_item, c.item_id)

    def absorb_alert(self, alert_id: int) -> None:
        self._max_alert = max(self._max_alert, alert_id)

    def poll(self, session: Session) -> Changes:
        moving = {
            int(i): (s, int(a))
            for i, s, a in session.execute(
                select(QueueItemRow.id, QueueItemRow.status, QueueItemRow.attempts).where(
                    QueueItemRow.status.in_(_MOVING)
                )
            )
        }
        if self._moving is None:  # the baseline: what the window loads now is current
            self._moving = moving
            self._max_item = int(session.scalar(select(func.max(QueueItemRow.id))) or 0)
            self._max_alert = int(session.scalar(select(func.max(AlertRow.id))) or 0)
            return Changes()
        changed: dict[int, ItemChange] = {}
        for item_id, (status, attempts) in moving.items():
            if self._moving.get(item_id) != (status, attempts):
                changed[item_id] = ItemChange(item_id, ItemStatus(status), attempts)
        left = [i for i in self._moving if i not in moving]
        for chunk in range(0, len(left), 500):
            rows = session.execute(
                select(QueueItemRow.id, QueueItemRow.status, QueueItemRow.attempts).where(
                    QueueItemRow.id.in_(left[chunk : chunk + 500])
                )
            )
            gone = set(left[chunk : chunk + 500])
            for row in rows:
                changed[int(row[0])] = _change(row)
                gone.discard(int(row[0]))
            for item_id in gone:  # deleted (retention): the model drops it on refetch
                changed[item_id] = ItemChange(item_id, ItemStatus.CANCELLED, 0)
        new_rows = session.execute(
            select(QueueItemRow.id, QueueItemRow.status, QueueItemRow.attempts)
            .where(QueueItemRow.id > self._max_item)
            .order_by(QueueItemRow.id)
            .limit(NEW_ITEMS_PER_POLL)
        ).all()
        for row in new_rows:
            changed[int(row[0])] = _change(row)
            self._max_item = max(self._max_item, int(row[0]))
        alerts = [
            NewAlert(int(i), str(sev), str(title))
            for i, sev, title in session.execute(
                select(AlertRow.id, AlertRow.severity, AlertRow.title)
                .where(AlertRow.id > self._max_alert)
                .order_by(AlertRow.id)
                .limit(NEW_ALERTS_PER_POLL)
            )
        ]
        if alerts:
            self._max_alert = alerts[-1].id
        self._moving = moving
        items = sorted(changed.values())
        counts = queue_counts(session, finished=False) if items else None
        return Changes(items=items, alerts=alerts, counts=counts)
