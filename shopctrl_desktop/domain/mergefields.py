"""Merge fields (SPEC §4): the generic field tree of an event's entities and the dynamic tree of a snapshot.

The catalogue itself is data in :mod:`shopctrl_desktop.domain.mergefield_catalogue`; this module turns it
into :class:`MergeField` trees, infers a tree with values from an entity snapshot, filters trees and makes
the text that the editor inserts (``$$Order.OrderCode$$`` or ``{{ Order.OrderCode }}``).

Paths: a field of a top-level entity is ``Order.OrderCode``; of a nested entity ``Order.Customer.Email``;
a collection node is ``Order.OrderRow`` and the fields of its rows are addressed by the row entity name, as
they are inside a loop: ``OrderRow.ProductCode``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from shopctrl_desktop.domain.events import EventType, find_event
from shopctrl_desktop.domain.mergefield_catalogue import ENTITY_FIELDS, EVENT_METADATA, RELATED_ROOTS

__all__ = [
    "ENTITY_FIELDS",
    "condition_fields",
    "FIELD_TYPES",
    "MergeField",
    "dynamic_tree",
    "entity_types",
    "fields_for_entity",
    "fields_for_event",
    "find_field",
    "insertion_text",
    "iter_fields",
    "jinja_token",
    "search",
    "shopctrl_token",
]

#: ``group`` is the non-insertable "Event" node that holds the event metadata.
FIELD_TYPES = ("text", "number", "date", "boolean", "entity", "collection", "group")
EVENT_GROUP = "Event"


@dataclass(frozen=True)
class MergeField:
    path: str  # "Order.OrderCode"; rows of a collection: "OrderRow.ProductCode"
    name: str  # "OrderCode"
    type: str  # one of FIELD_TYPES
    description: str = ""
    children: tuple[MergeField, ...] = ()
    is_collection: bool = False
    value: Any = None  # dynamic trees: the value (a collection: its row count)
    entity_type: str | None = None  # entity and collection nodes: the (row) entity type

    @property
    def is_leaf(self) -> bool:
        return self.type not in ("entity", "collection", "group")


def entity_types() -> list[str]:
    return sorted(ENTITY_FIELDS)


def _split_type(kind: str) -> tuple[str, str | None]:
    if ":" in kind:
        base, target = kind.split(":", 1)
        return base, target
    return kind, None


def _lookup_entity(entity_type: str) -> str | None:
    if entity_type in ENTITY_FIELDS:
        return entity_type
    folded = entity_type.casefold()
    return next((name for name in ENTITY_FIELDS if name.casefold() == folded), None)


def _entity_children(
    entity_type: str, prefix: str, depth: int, ancestors: tuple[str, ...]
) -> tuple[MergeField, ...]:
    nodes: list[MergeField] = []
    for name, kind, description in ENTITY_FIELDS.get(entity_type, ()):
        base, target = _split_type(kind)
        if target is None:
            nodes.append(MergeField(f"{prefix}.{name}", name, base, description))
            continue
        is_collection = base == "collection"
        path = f"{prefix}.{name}"
        # Rows of a collection are addressed by the row entity name (the loop variable).
        child_prefix = name if is_collection else path
        children: tuple[MergeField, ...] = ()
        if depth > 0 and target not in ancestors:
            children = _entity_children(target, child_prefix, depth - 1, (*ancestors, target))
        nodes.append(MergeField(path, name, base, description, children, is_collection, entity_type=target))
    return tuple(nodes)


def fields_for_entity(entity_type: str, depth: int = 2) -> list[MergeField]:
    """The fields of one entity type; related entities and collections expanded ``depth`` levels deep
    (an entity already on the path is not expanded again). Unknown types give an empty list."""
    known = _lookup_entity(entity_type)
    if known is None:
        return []
    return list(_entity_children(known, known, depth, (known,)))


def _entity_root(entity_type: str, depth: int, description: str) -> MergeField:
    return MergeField(
        entity_type,
        entity_type,
        "entity",
        description,
        tuple(fields_for_entity(entity_type, depth)),
        entity_type=entity_type,
    )


def _event_group(event_type: EventType | None) -> MergeField:
    children = [MergeField(name, name, kind, description) for name, kind, description in EVENT_METADATA]
    if event_type is not None:
        entity_data = tuple(
            MergeField(f"entityData.{name}", name, _guess_type_from_name(name), "Default payload field")
            for name in event_type.fields
        )
        children.append(
            MergeField(
                "entityData", "entityData", "entity", "The default payload fields of the event", entity_data
            )
        )
    return MergeField(EVENT_GROUP, EVENT_GROUP, "group", "About the event and the trigger", tuple(children))


def _guess_type_from_name(name: str) -> str:
    return "number" if name.endswith("Id") or name in ("CustomerRating",) else "text"


def fields_for_event(event_type: EventType | str, depth: int = 2) -> list[MergeField]:
    """The generic merge-field tree for a trigger's event: its primary entity, the entities usually sent
    with it, Shop, and the event metadata group. Accepts an EventType or an event name."""
    event = find_event(event_type) if isinstance(event_type, str) else event_type
    if event is None:
        return [_event_group(None)]
    roots: list[str] = []
    for name in (event.entity_type, *RELATED_ROOTS.get(event.entity_type, ())):
        if name not in roots and name in ENTITY_FIELDS:
            roots.append(name)
    # Entities named by the event's entityData fields (OrderId -> Order, InvoiceId -> Invoice ...).
    for field in event.fields:
        if field.endswith("Id") and field[:-2] in ENTITY_FIELDS and field[:-2] not in roots:
            roots.append(field[:-2])
    if "Shop" not in roots:
        roots.append("Shop")
    nodes = [_entity_root(roots[0], depth, f"The {roots[0]} the event is about")]
    nodes += [_entity_root(name, depth, f"The related {name}") for name in roots[1:]]
    return [*nodes, _event_group(event)]


def condition_fields(event_type: EventType | str, depth: int = 2) -> dict[str, str]:
    """{data path: type} of every value field of the event's entities, for the condition editor.

    Unlike merge-field paths, these are paths from the top of ``data`` also through collections
    (``Order.OrderRow.ProductCode``: any row), which is how conditions resolve them. The "Event" group
    is left out: conditions look at ``data`` only."""
    result: dict[str, str] = {}

    def walk(fields: Iterable[MergeField], prefix: str) -> None:
        for field in fields:
            path = f"{prefix}.{field.name}" if prefix else field.name
            if field.is_leaf:
                result[path] = field.type
            else:
                walk(field.children, path)

    walk((f for f in fields_for_event(event_type, depth) if f.type != "group"), "")
    return result


# --- dynamic tree from a snapshot ---------------------------------------------------------------------------
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def _catalogue_row(entity_type: str | None, name: str) -> tuple[str, str] | None:
    """(type, description) of ``name`` in the catalogue entry of ``entity_type`` (case-insensitive)."""
    if entity_type is None:
        return None
    folded = name.casefold()
    for field_name, kind, description in ENTITY_FIELDS.get(entity_type, ()):
        if field_name.casefold() == folded:
            return kind, description
    return None


def infer_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (date, datetime)):
        return "date"
    if isinstance(value, Mapping):
        return "entity"
    if isinstance(value, list):
        return "collection"
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return "text"
        return "date"
    return "text"


def _dynamic_node(
    name: str, value: Any, path: str, entity_type: str | None, depth: int, max_depth: int
) -> MergeField:
    known = _catalogue_row(entity_type, name)
    description = known[1] if known else ""
    target = _split_type(known[0])[1] if known else None
    kind = infer_type(value)
    if kind == "entity":
        sub_type = target or _lookup_entity(name)
        if not description and sub_type and entity_type is None:
            description = f"The {sub_type} in the event"
        children = _dynamic_children(value, path, sub_type, depth + 1, max_depth) if depth < max_depth else ()
        return MergeField(path, name, "entity", description, children, entity_type=sub_type or name)
    if kind == "collection":
        row_type = target or _lookup_entity(name)
        first = next((row for row in value if isinstance(row, Mapping)), None)
        children = ()
        if first is not None and depth < max_depth:
            children = _dynamic_children(first, name, row_type, depth + 1, max_depth)
        count_text = f"{len(value)} row" + ("" if len(value) == 1 else "s")
        description = f"{description} ({count_text})" if description else count_text.capitalize()
        return MergeField(path, name, "collection", description, children, True, len(value), row_type or name)
    if value is None and known and _split_type(known[0])[1] is None:
        kind = known[0]  # a null value keeps the catalogue's type
    return MergeField(path, name, kind, description, value=value)


def _dynamic_children(
    data: Mapping[str, Any], prefix: str, entity_type: str | None, depth: int, max_depth: int
) -> tuple[MergeField, ...]:
    nodes = []
    for key, value in data.items():
        name = str(key)
        path = f"{prefix}.{name}" if prefix else name
        nodes.append(_dynamic_node(name, value, path, entity_type, depth, max_depth))
    return tuple(nodes)


def dynamic_tree(data: Mapping[str, Any] | None, max_depth: int = 6) -> list[MergeField]:
    """The fields an entity snapshot actually has, with their values. Types are inferred from the values
    (null values keep the catalogue's type where known); a collection shows its first row's fields and its
    row count (as ``value`` and in the description)."""
    if not isinstance(data, Mapping):
        return []
    return list(_dynamic_children(data, "", None, 0, max_depth))


# --- browsing helpers ---------------------------------------------------------------------------------------
def iter_fields(fields: Iterable[MergeField]) -> Iterable[MergeField]:
    """Every node of the trees, depth first."""
    for field in fields:
        yield field
        yield from iter_fields(field.children)


def find_field(fields: Iterable[MergeField], path: str) -> MergeField | None:
    folded = path.casefold()
    return next((f for f in iter_fields(fields) if f.path.casefold() == folded), None)


def _matches(field: MergeField, needle: str) -> bool:
    haystack = (field.name, field.path, field.description, "" if field.value is None else str(field.value))
    return any(needle in text.casefold() for text in haystack)


def search(fields: Iterable[MergeField], text: str) -> list[MergeField]:
    """The trees filtered by ``text`` (case-insensitive; name, path, description or value). A node that
    matches keeps its whole subtree; a node that does not is kept, with only the matching part below it,
    when something below it matches. Empty text returns the trees unchanged."""
    needle = text.strip().casefold()
    fields = list(fields)
    if not needle:
        return fields
    result = []
    for field in fields:
        if _matches(field, needle):
            result.append(field)
            continue
        children = search(field.children, text)
        if children:
            result.append(replace(field, children=tuple(children)))
    return result


# --- insertion text -----------------------------------------------------------------------------------------
def shopctrl_token(path: str, fmt: str | None = None) -> str:
    """``$$Order.OrderCode$$`` (``$$Order.Date#yyyy-MM-dd$$`` with a format)."""
    return f"$${path}#{fmt}$$" if fmt else f"$${path}$$"


def jinja_token(path: str) -> str:
    return "{{ " + path + " }}"


def insertion_text(field: MergeField, syntax: str = "shopctrl") -> str:
    """What double-clicking a field inserts: a token for a value, a loop for a collection (ShopCtrl
    ``<!-- RangeStart:OrderRow -->`` or Jinja2 ``{% for OrderRow in Order.OrderRow %}``), the token of the
    node otherwise. ``syntax`` is ``"shopctrl"`` or ``"jinja"``."""
    if syntax not in ("shopctrl", "jinja"):
        raise ValueError(f"syntax must be 'shopctrl' or 'jinja' (got {syntax!r})")
    if field.is_collection:
        if syntax == "jinja":
            return f"{{% for {field.name} in {field.path} %}}\n\n{{% endfor %}}"
        return f"<!-- RangeStart:{field.name} -->\n\n<!-- RangeEnd:{field.name} -->"
    return jinja_token(field.path) if syntax == "jinja" else shopctrl_token(field.path)
