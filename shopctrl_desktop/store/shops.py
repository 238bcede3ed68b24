"""Shops: list them, rename one (validated by domain/shops.py, audited in the same transaction).

Shops are created by intake (store/ingest_sql.py ``ensure_shops``); nothing here creates or deletes one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.audit import AuditAction, FieldChange, Subject, SubjectKind
from shopctrl_desktop.domain.shops import KnownShop, UnknownShopError, validate_shop_name
from shopctrl_desktop.store.audit import record
from shopctrl_desktop.store.models import Shop


@dataclass(frozen=True)
class Renamed:
    shop_id: int
    old: str
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


def list_shops(session: Session) -> list[KnownShop]:
    return [
        KnownShop(row.id, row.name, row.created_at) for row in session.scalars(select(Shop).order_by(Shop.id))
    ]


def shop_names(session: Session) -> dict[int, str]:
    return {shop.id: shop.name for shop in list_shops(session)}


def rename_shop(session: Session, shop_id: int, name: str) -> Renamed:
    """Rename shop ``shop_id`` and record old -> new in the audit trail, in the caller's transaction.

    Raises UnknownShopError, or ShopNameError (domain/shops.py) for a name that breaks the rules. The same
    name again changes nothing and records nothing.
    """
    # Every shop row locked (a short list; id order, so two renames cannot deadlock): on PostgreSQL two
    # admins renaming two shops to one name at the same moment are serialized and the second one is refused.
    rows = {row.id: row for row in session.scalars(select(Shop).order_by(Shop.id).with_for_update())}
    row = rows.get(shop_id)
    if row is None:
        raise UnknownShopError(shop_id)
    new = validate_shop_name(shop_id, name, ((r.id, r.name) for r in rows.values()))
    result = Renamed(shop_id, row.name, new)
    if not result.changed:
        return result
    row.name = new
    session.flush()
    record(
        session,
        AuditAction.SHOP_RENAMED,
        Subject(SubjectKind.SHOP, shop_id, new),
        [FieldChange("name", result.old, new)],
    )
    return result
