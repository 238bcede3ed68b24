"""A customer's erasure request (issue 13 item 2): which stored data holds the customer, and what becomes of it.

Who: an entity (``--entity Customer:42``: events about it, their queue items and attempts) or an e-mail
address (``--email ann@example.com``: every event, payload, response body and alert text that contains it,
compared without regard to case). What happens: event snapshots are blanked (``{}``), queue item payloads are
blanked, response bodies of their attempts are removed, alert texts that contain the address are replaced;
items still waiting for the entity are cancelled (their payload is gone, so they cannot be sent). Ids, times,
statuses and counts stay, so the queue's history still adds up. The erasure is recorded in the audit trail with
what kind of request it was and how many rows it touched — never the address or the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shopctrl_desktop.domain.model import ItemStatus

ERASED_BODY = ""
ERASED_NOTE = "cancelled: the customer's data was erased"
ERASED_ALERT = "(text removed: the customer's data was erased)"
#: Waiting items of an erased customer are cancelled: they have no payload left to send.
CANCELLED_STATUSES = frozenset({ItemStatus.QUEUED, ItemStatus.RETRYING})

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class ErasureError(ValueError):
    """A request that cannot be carried out, in words."""


@dataclass(frozen=True)
class ErasureRequest:
    entity_type: str | None = None
    entity_id: str | None = None
    email: str | None = None

    @property
    def described(self) -> str:
        """For the audit trail and messages: the kind of request, never the address."""
        if self.email is not None:
            return "an e-mail address"
        return f"a {self.entity_type}"


def parse_request(entity: str | None, email: str | None) -> ErasureRequest:
    if (entity is None) == (email is None):
        raise ErasureError("give exactly one of --entity TYPE:ID or --email ADDRESS")
    if email is not None:
        address = email.strip()
        if not _EMAIL.fullmatch(address):
            raise ErasureError(f"{email!r} is not an e-mail address")
        return ErasureRequest(email=address)
    assert entity is not None
    kind, sep, ident = entity.partition(":")
    if not sep or not kind.strip() or not ident.strip():
        raise ErasureError(f"--entity takes TYPE:ID, e.g. Customer:42 or Order:1001 (got {entity!r})")
    return ErasureRequest(entity_type=kind.strip(), entity_id=ident.strip())
