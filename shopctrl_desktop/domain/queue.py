"""The queue's status rules, and the plain values that report a queue item's or the queue's state.

Which statuses wait to be sent, which "Retry now" and "Cancel" apply to, which stay few enough to count at
any table size: the store (its SQL included), the engine, the GUI and the CLI all take them from here.

:class:`ItemChange` and :class:`QueueCounts` cross from the engine's thread to the GUI's, so they are
immutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from shopctrl_desktop.domain.model import ItemStatus

#: Waiting to be sent: claimed for delivery when due, counted by the uniqueness rule (SQL order kept).
WAITING_STATUSES: tuple[ItemStatus, ...] = (ItemStatus.QUEUED, ItemStatus.RETRYING)
#: "Retry now" puts an item in one of these back in the queue, due at once.
RETRYABLE_STATUSES: tuple[ItemStatus, ...] = (ItemStatus.FAILED, ItemStatus.RETRYING, ItemStatus.CANCELLED)
#: "Cancel" applies to items that still wait to be sent (not while one is being sent).
CANCELLABLE_STATUSES: tuple[ItemStatus, ...] = WAITING_STATUSES
#: Statuses whose items stay few (the status index makes counting them cheap at any table size); the
#: finished ones (delivered, cancelled) may run into millions.
LIVE_STATUSES: tuple[ItemStatus, ...] = (
    ItemStatus.QUEUED,
    ItemStatus.SENDING,
    ItemStatus.RETRYING,
    ItemStatus.FAILED,
)
#: Still moving (waiting or being sent): another workstation's engine changes these items; a watcher of the
#: queue diffs them (store/changes.py). Failed items move only when someone retries them.
MOVING_STATUSES: tuple[ItemStatus, ...] = (*WAITING_STATUSES, ItemStatus.SENDING)
#: An item in one of these is done: it has a ``finished_at`` and is never sent again unless retried.
FINAL_STATUSES: tuple[ItemStatus, ...] = (ItemStatus.DELIVERED, ItemStatus.FAILED, ItemStatus.CANCELLED)


def status_values(statuses: tuple[ItemStatus, ...]) -> tuple[str, ...]:
    """The plain strings of ``statuses``, as bound parameters of SQL (any driver binds a plain ``str``)."""
    return tuple(status.value for status in statuses)


@dataclass(frozen=True)
class QueueCounts:
    """Items per status."""

    queued: int = 0
    sending: int = 0
    retrying: int = 0
    failed: int = 0
    delivered: int = 0
    cancelled: int = 0


class ItemChange(NamedTuple):
    """One queue item's new state (immutable: it crosses from the engine's thread to the GUI's)."""

    item_id: int
    status: ItemStatus
    attempts: int
    response_status: int | None = None
    message: str | None = None
