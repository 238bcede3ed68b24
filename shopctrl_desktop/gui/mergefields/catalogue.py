"""The one place where the GUI reads the merge-field catalogue (domain/mergefields.py)."""

from __future__ import annotations

from typing import Any

from shopctrl_desktop.domain import mergefields
from shopctrl_desktop.domain.events import EventType
from shopctrl_desktop.domain.mergefields import MergeField


def field_types_for_event(event_type: EventType | None) -> dict[str, str]:
    """{path: type} of every value field the event's data can carry (for the condition editor).

    The "Event" group (trigger name, entityData …) is left out: conditions look at the event's ``data``.
    """
    if event_type is None:
        return {}
    roots = [f for f in mergefields.fields_for_event(event_type) if f.type != "group"]
    return {f.path: f.type for f in mergefields.iter_fields(roots) if f.is_leaf}


def generic_fields(event_type: EventType | None) -> list[MergeField]:
    return list(mergefields.fields_for_event(event_type)) if event_type is not None else []


def dynamic_fields(data: dict[str, Any]) -> list[MergeField]:
    return list(mergefields.dynamic_tree(data))


def insertion_text(field: MergeField, *, jinja: bool = False) -> str:
    """``$$Order.OrderCode$$`` (ShopCtrl style) or ``{{ Order.OrderCode }}``; a loop for a collection."""
    return mergefields.insertion_text(field, "jinja" if jinja else "shopctrl")
