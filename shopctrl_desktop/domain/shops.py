"""Shops (SPEC §3): learned from events — the first event of shop 3 creates "Shop 3" — and renamable.

The rules for a shop's name live here; store/shops.py applies them in the rename's transaction.

A name is trimmed, non-empty, one line (no control characters), at most :data:`MAX_NAME_LENGTH` characters,
and unique among shops ignoring case: the trigger table's shop column and the editor's scope picker show the
name instead of the id, so two shops called "Main" would make "which shop does this trigger serve?"
unanswerable. For the same reason the default name of another shop ("Shop 7" for shop 7) is reserved for it:
shop 7 may not have sent an event yet, and when it does it is learned as "Shop 7".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Long enough for "Main store (Amsterdam, NL)" twice over; short enough for a table column and a picker.
MAX_NAME_LENGTH = 80

_DEFAULT_NAME = re.compile(r"shop\s*(\d+)", re.IGNORECASE)


class ShopNameError(ValueError):
    """A name a person can fix; the message says how."""


class UnknownShopError(LookupError):
    def __init__(self, shop_id: int) -> None:
        super().__init__(
            f"there is no shop {shop_id}; shops are learned from events (the first event of a shop creates it)"
        )
        self.shop_id = shop_id


def default_shop_name(shop_id: int) -> str:
    """The name a shop is learned with."""
    return f"Shop {shop_id}"


@dataclass(frozen=True)
class KnownShop:
    id: int
    name: str
    first_seen: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """camelCase fields of ``shops list --json``."""
        seen = self.first_seen.isoformat().replace("+00:00", "Z") if self.first_seen else None
        return {"id": self.id, "name": self.name, "firstSeen": seen}


def validate_shop_name(shop_id: int, name: str, others: Iterable[tuple[int, str]] = ()) -> str:
    """The name as it is stored (trimmed), or :class:`ShopNameError` saying what is wrong.

    ``others``: (id, name) of the other shops; the shop's own entry is ignored.
    """
    cleaned = name.strip()
    if not cleaned:
        raise ShopNameError("a shop name cannot be empty")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in cleaned):
        raise ShopNameError("a shop name is one line of text (no tabs or line breaks)")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ShopNameError(
            f"a shop name has at most {MAX_NAME_LENGTH} characters (this one has {len(cleaned)})"
        )
    default = _DEFAULT_NAME.fullmatch(cleaned)
    if default is not None and int(default.group(1)) != shop_id:
        raise ShopNameError(
            f"“{cleaned}” is the name shop {int(default.group(1))} is learned with; choose another name"
        )
    folded = cleaned.casefold()
    for other_id, other_name in others:
        if other_id != shop_id and other_name.strip().casefold() == folded:
            raise ShopNameError(f"shop {other_id} is already called “{other_name}”; shop names are unique")
    return cleaned
