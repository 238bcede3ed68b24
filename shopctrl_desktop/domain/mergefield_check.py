"""Which merge-field paths in a payload template are unknown, and what was probably meant (issue 14 point 1).

A mistyped path (``$$Order.OrderCod$$``, ``{{ Order.OrderCod }}``) renders as empty text, so the template
is still "valid" — this check names such paths as a warning, never a blocker: a path is known when the
merge-field catalogue for the trigger's event has it (the generic tree, :func:`fields_for_event`), or the
sample event's data has it (:func:`dynamic_tree`), compared case-insensitively as the renderer looks keys
up. Names a template binds itself (``{% for row in … %}``, ``{% set x = … %}``) and their sub-paths are not
checked. The suggestion is the closest catalogue path (difflib).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shopctrl_desktop.domain.mergefields import dynamic_tree, fields_for_event, iter_fields

__all__ = ["UnknownField", "known_paths", "unknown_fields"]

#: the generic tree is built this deep for the check (deeper paths than the browser shows are still known)
CHECK_DEPTH = 4

_SHOPCTRL_RE = re.compile(r"\$\$(?P<path>[^\n$#]+?)(?:#[^\n$]*)?\$\$")
_RANGE_RE = re.compile(r"<!--\s*RangeStart\s*:\s*(?P<name>[A-Za-z_][\w.]*)\s*-->", re.IGNORECASE)
_JINJA_EXPR_RE = re.compile(r"\{\{-?\s*(?P<path>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*(?:\||-?\}\})")
_JINJA_FOR_RE = re.compile(
    r"\{%-?\s*for\s+(?P<vars>[\w\s,]+?)\s+in\s+(?P<path>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)"
)
_JINJA_SET_RE = re.compile(r"\{%-?\s*set\s+(?P<var>[A-Za-z_]\w*)")
_JINJA_NAMES = frozenset({"loop", "true", "false", "none", "range", "self"})


@dataclass(frozen=True)
class UnknownField:
    """A path the catalogue does not have: where it is in the template (``start``/``end``: character
    offsets of the path itself), and the closest known path (or None)."""

    path: str
    start: int
    end: int
    suggestion: str | None

    def message(self) -> str:
        hint = f" — did you mean {self.suggestion}?" if self.suggestion else ""
        return f"Unknown merge field {self.path}{hint}"


def known_paths(event: str, sample: Mapping[str, Any] | None = None) -> dict[str, str]:
    """{casefolded path: path as the catalogue spells it} for the event's merge fields and the sample's
    data. Event-metadata fields (``Trigger``, ``EventId`` …) are addressed without the "Event" group."""
    known: dict[str, str] = {}
    for field in iter_fields(fields_for_event(event, CHECK_DEPTH)):
        if field.path == "Event":
            continue
        known.setdefault(field.path.casefold(), field.path)
        if field.is_collection and field.entity_type:  # rows are addressed by their entity name in loops
            known.setdefault(field.entity_type.casefold(), field.entity_type)
    for field in iter_fields(dynamic_tree(sample)):
        known.setdefault(field.path.casefold(), field.path)
    return known


def _bound_names(body: str) -> set[str]:
    names = {m.group("var").casefold() for m in _JINJA_SET_RE.finditer(body)}
    for match in _JINJA_FOR_RE.finditer(body):
        names.update(v.strip().casefold() for v in match.group("vars").split(",") if v.strip())
    return names


def _references(body: str) -> list[tuple[str, int]]:
    """(path, offset) of every merge-field path the template reads, in order."""
    found = [(m.group("path").strip(), m.start("path")) for m in _SHOPCTRL_RE.finditer(body)]
    found += [(m.group("name"), m.start("name")) for m in _RANGE_RE.finditer(body)]
    found += [(m.group("path"), m.start("path")) for m in _JINJA_EXPR_RE.finditer(body)]
    found += [(m.group("path"), m.start("path")) for m in _JINJA_FOR_RE.finditer(body)]
    return sorted(found, key=lambda item: item[1])


def unknown_fields(body: str, event: str, sample: Mapping[str, Any] | None = None) -> list[UnknownField]:
    """The merge-field paths in ``body`` that neither the catalogue of ``event`` nor ``sample`` has."""
    known = known_paths(event, sample)
    bound = _bound_names(body)
    spelled = list(known.values())
    result = []
    for path, start in _references(body):
        folded = path.casefold()
        head = folded.split(".", 1)[0]
        if folded in known or head in bound or head in _JINJA_NAMES:
            continue
        if "." not in path and not difflib.get_close_matches(path, spelled, n=1, cutoff=0.8):
            continue  # a bare name no field resembles: a Jinja variable or filter argument, not a typo
        # the closest path with the same depth first (Order.OrderCod -> Order.OrderCode), then any
        depth = path.count(".")
        same_depth = [p for p in spelled if p.count(".") == depth]
        close = difflib.get_close_matches(path, same_depth, n=1, cutoff=0.6) or difflib.get_close_matches(
            path, spelled, n=1, cutoff=0.6
        )
        result.append(UnknownField(path, start, start + len(path), close[0] if close else None))
    return result
