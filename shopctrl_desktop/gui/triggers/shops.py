"""Known shops (learned from events, renamable) for the shop column and the scope picker."""

from __future__ import annotations

from sqlalchemy import select

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.store.models import Shop


def load_shop_names(ctx: AppContext) -> dict[int, str]:
    with ctx.db.session() as session:
        return {shop.id: shop.name for shop in session.scalars(select(Shop).order_by(Shop.id))}
