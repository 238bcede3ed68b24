"""Stale data never wins (SPEC §11, issue 12 item 6): which queue item supersedes which.

Items of an action with "unique queue items" carry a unique key (domain/planner.py ``unique_key``: action and
entity). The newest payload of a key is the one that matters; an older payload must never reach the receiver
after a newer one. So:

* a **queued** item (never tried) takes a newer event's payload in place (domain/planner.py
  ``group_by_unique_key``: the uniqueness rule) — it is in :data:`GROUPING_STATUSES`;
* a **retrying** item (tried, failed, waiting for its next try) is *superseded* when a newer event for its key
  arrives: it is cancelled with the message "superseded by #N", and the newer event gets its own queued item
  #N with a fresh retry schedule (the store, at intake);
* an item that was **being sent** when the newer item arrived and then fails is cancelled the same way instead
  of retrying, when an item newer than it (a higher id) exists for its key in :data:`SUPERSEDING_STATUSES`
  (the store, when it records the failure).

A failed newer item (its payload could not be rendered, or it gave up) does not supersede: the older item
keeps trying, as before. A cancelled one neither.
"""

from __future__ import annotations

from shopctrl_desktop.domain.model import ItemStatus

#: A waiting item in one of these takes a newer event's payload in place (it was never tried).
GROUPING_STATUSES: tuple[ItemStatus, ...] = (ItemStatus.QUEUED,)
#: A waiting item in one of these is superseded (cancelled) by a newer item of its key.
SUPERSEDABLE_STATUSES: tuple[ItemStatus, ...] = (ItemStatus.RETRYING,)
#: A newer item in one of these supersedes an older one: it carries newer data that goes, or went, out.
SUPERSEDING_STATUSES: tuple[ItemStatus, ...] = (
    ItemStatus.QUEUED,
    ItemStatus.SENDING,
    ItemStatus.RETRYING,
    ItemStatus.DELIVERED,
)
SUPERSEDED_PREFIX = "superseded by #"


def superseded_message(newer_id: int) -> str:
    """The response message a superseded item shows in the queue: "superseded by #N"."""
    return f"{SUPERSEDED_PREFIX}{newer_id}"


def superseding_item(item_id: int, newest_of_key: int | None) -> int | None:
    """The item that supersedes ``item_id``: the newest item of its key (``newest_of_key``, among
    :data:`SUPERSEDING_STATUSES`) when it is newer (a higher id, i.e. queued later); else None."""
    if newest_of_key is not None and newest_of_key > item_id:
        return newest_of_key
    return None
