"""How long finished queue items are kept (issue 13: customer data is not kept forever).

Delivered and cancelled items go after ``keep_delivered_days`` (default 30), failed ones after
``keep_failed_days`` (default 90: they may still be retried), counted from when they finished; with them go
their attempts, and then every event snapshot that no item refers to and that is older than the shorter
period. Items still waiting (queued, sending, retrying) are never removed. 0 days keeps that kind forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shopctrl_desktop.domain.model import ItemStatus

#: Rows per transaction: small enough that intake and delivery never wait long on the purge's write.
BATCH = 500


@dataclass(frozen=True)
class Cutoffs:
    """Finished before this moment (per status) means it goes; None keeps that status."""

    by_status: dict[ItemStatus, datetime]
    events_before: datetime | None

    @property
    def any(self) -> bool:
        return bool(self.by_status)


def cutoffs(now: datetime, keep_delivered_days: int, keep_failed_days: int) -> Cutoffs:
    by_status: dict[ItemStatus, datetime] = {}
    if keep_delivered_days > 0:
        moment = now - timedelta(days=keep_delivered_days)
        by_status[ItemStatus.DELIVERED] = moment
        by_status[ItemStatus.CANCELLED] = moment
    if keep_failed_days > 0:
        by_status[ItemStatus.FAILED] = now - timedelta(days=keep_failed_days)
    events_before = max(by_status.values()) if by_status else None  # the shorter period
    return Cutoffs(by_status, events_before)
