"""Trigger conditions (SPEC §3.2): typed rules over an event's ``data``, combined with AND / OR.

Format (import/export file and database)::

    {"match": "all" | "any",
     "rules": [{"field": "Order.TotalDue", "operator": "greaterThan", "value": 100},
               {"match": "any", "rules": [...]}]}          # a rule may itself be a nested group

Semantics, chosen to behave like ShopCtrl's condition editor and never to raise on data:

- ``condition`` ``None`` (or an empty ``rules`` list) always matches.
- ``field`` is a dotted path into ``data`` (``Order.Customer.Email``), looked up case-insensitively.
  A numeric segment indexes a list (``Order.OrderRow.0.ProductCode``). A path that runs through a list
  without an index reads every element: positive operators hold when *any* element matches, negative
  ones (``notEqual``, ``notContains``, ``notInList``, ``isNotEmpty``, ``isNotNull``) when *all* do.
- A missing path: ``isNull`` true, ``isNotNull`` false, every other operator false.
- A present ``null``: ``isNull``/``isEmpty`` true; ``notEqual``/``notContains``/``notInList`` against a
  non-null value true; ordering, ``contains``/``startsWith``/``endsWith``, ``between``, dates and
  booleans false.
- Text comparisons are case-insensitive (``casefold``), as ShopCtrl's are. Numbers and numeric strings
  compare as numbers (``"100.0" equals 100``). Booleans compare as booleans (``"true"``/``"1"``/``"yes"``).
- Dates are ISO-8601 strings (``2026-11-28``, ``2026-11-28T10:00:00Z``, with or without an offset; a
  naive time is taken as UTC). A value may be ``"today"``, ``"today+7"``, ``"today-3"``. When either side
  has no time of day, the comparison is by calendar date (the field's date in its own offset).
- ``between`` is inclusive on both ends and takes ``[from, to]`` (numbers or dates).
- ``isEmpty``: null, empty/whitespace-only text, an empty list or object. ``isNotEmpty`` is its negation
  (false on a missing path).

``validate_condition`` checks the shape (operator names, value shapes) and raises ``ValueError`` naming
the rule (1-based, ``rule 2.1`` for a nested rule) and its field. ``condition_matches`` validates too, so
an invalid condition raises ``ValueError`` (callers turn that into an alert) rather than silently not firing.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from shopctrl_desktop.domain.condition_values import (
    _as_bool,
    _as_number,
    _as_text,
    _date_cmp,
    _equal,
    _is_empty,
    _ordered_cmp,
    _parse_date,
)

__all__ = [
    "OPERATORS",
    "NO_VALUE_OPERATORS",
    "TEXT_OPERATORS",
    "NUMBER_OPERATORS",
    "DATE_OPERATORS",
    "BOOLEAN_OPERATORS",
    "condition_matches",
    "validate_condition",
    "normalize_condition",
    "resolve_path",
    "MISSING",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

TEXT_OPERATORS = tuple(
    "equals notEqual contains notContains startsWith endsWith inList notInList isEmpty isNotEmpty isNull isNotNull".split()
)
NUMBER_OPERATORS = tuple(
    "equals notEqual greaterThan greaterOrEqual lessThan lessOrEqual between isNull isNotNull".split()
)
DATE_OPERATORS = ("before", "after", "onOrBefore", "onOrAfter", "between", "isNull", "isNotNull")
BOOLEAN_OPERATORS = ("isTrue", "isFalse", "isNull", "isNotNull")

OPERATORS: tuple[str, ...] = tuple(
    dict.fromkeys(TEXT_OPERATORS + NUMBER_OPERATORS + DATE_OPERATORS + BOOLEAN_OPERATORS)
)
NO_VALUE_OPERATORS = frozenset({"isEmpty", "isNotEmpty", "isNull", "isNotNull", "isTrue", "isFalse"})
_NEGATIVE = frozenset({"notEqual", "notContains", "notInList", "isNotEmpty", "isNotNull"})

# other spellings accepted on input (compared after case-folding and removing spaces and underscores)
_ALIASES = {
    alias: op
    for op, aliases in {
        "equals": "= == eq equal",
        "notEqual": "!= <> ≠ ne notequals",
        "notContains": "doesnotcontain",
        "greaterThan": "> gt",
        "greaterOrEqual": ">= ≥ gte greaterthanorequal",
        "lessThan": "< lt",
        "lessOrEqual": "<= ≤ lte lessthanorequal",
        "inList": "in",
        "notInList": "notin",
    }.items()
    for alias in aliases.split()
}
_BY_FOLDED = {op.casefold(): op for op in OPERATORS} | _ALIASES

#: how the condition editor shows an operator; messages use these words, not the stored names
OPERATOR_WORDS = {
    "notEqual": "is not equal to",
    "notContains": "doesn't contain",
    "startsWith": "starts with",
    "endsWith": "ends with",
    "inList": "is in list",
    "notInList": "is not in list",
    "greaterThan": ">",
    "greaterOrEqual": "≥",
    "lessThan": "<",
    "lessOrEqual": "≤",
    "onOrBefore": "on or before",
    "onOrAfter": "on or after",
}


def operator_word(op: str) -> str:
    """The operator as the condition editor shows it, quoted: ``'>'``, ``'is in list'``, ``'between'``."""
    return f"'{OPERATOR_WORDS.get(op, op)}'"


_MATCH_ALIASES = {"all": "all", "and": "all", "any": "any", "or": "any"}

# --------------------------------------------------------------------------- field lookup


def _get_key(mapping: dict[str, Any], key: str) -> Any:
    if key in mapping:
        return mapping[key]
    folded = key.casefold()
    for k, v in mapping.items():
        if isinstance(k, str) and k.casefold() == folded:
            return v
    return MISSING


def resolve_path(data: Any, path: str) -> tuple[list[Any], bool]:
    """Values at ``path`` in ``data`` and whether the path ran through a list (multi-valued).

    An empty list of values means the path is missing.
    """
    current: list[Any] = [data]
    multi = False
    for segment in path.split("."):
        nxt: list[Any] = []
        for item in current:
            if isinstance(item, dict):
                value = _get_key(item, segment)
                if value is not MISSING:
                    nxt.append(value)
            elif isinstance(item, list):
                if segment.isdigit():
                    idx = int(segment)
                    if idx < len(item):
                        nxt.append(item[idx])
                    continue
                multi = True
                for element in item:
                    if isinstance(element, dict):
                        value = _get_key(element, segment)
                        if value is not MISSING:
                            nxt.append(value)
        current = nxt
        if not current:
            return [], multi
    return current, multi


def _text_op(fn: Callable[[str, str], bool]) -> Callable[[Any, Any, date], bool]:
    def op(field_value: Any, value: Any, today: date) -> bool:
        ta, tb = _as_text(field_value), _as_text(value)
        if ta is None or tb is None:
            return False
        return fn(ta.casefold(), tb.casefold())

    return op


def _cmp_op(pred: Callable[[int], bool]) -> Callable[[Any, Any, date], bool]:
    def op(field_value: Any, value: Any, today: date) -> bool:
        if field_value is None:
            return False
        c = _ordered_cmp(field_value, value, today)
        return c is not None and pred(c)

    return op


def _date_op(pred: Callable[[int], bool]) -> Callable[[Any, Any, date], bool]:
    def op(field_value: Any, value: Any, today: date) -> bool:
        da, db = _parse_date(field_value, today), _parse_date(value, today)
        return da is not None and db is not None and pred(_date_cmp(da, db))

    return op


def _between(field_value: Any, value: Any, today: date) -> bool:
    if field_value is None:
        return False
    low, high = value
    c1 = _ordered_cmp(field_value, low, today)
    c2 = _ordered_cmp(field_value, high, today)
    return c1 is not None and c2 is not None and c1 >= 0 and c2 <= 0


def _in_list(field_value: Any, value: Any, today: date) -> bool:
    return any(_equal(field_value, v, today) for v in value)


def _contains(field_value: Any, value: Any, today: date) -> bool:
    if isinstance(field_value, list):
        return any(_equal(v, value, today) for v in field_value)
    return _text_op(lambda a, b: b in a)(field_value, value, today)


_OPS: dict[str, Callable[[Any, Any, date], bool]] = {
    "equals": _equal,
    "notEqual": lambda f, v, t: not _equal(f, v, t),
    "contains": _contains,
    "notContains": lambda f, v, t: not _contains(f, v, t),
    "startsWith": _text_op(lambda a, b: a.startswith(b)),
    "endsWith": _text_op(lambda a, b: a.endswith(b)),
    "inList": _in_list,
    "notInList": lambda f, v, t: not _in_list(f, v, t),
    "isEmpty": lambda f, v, t: _is_empty(f),
    "isNotEmpty": lambda f, v, t: not _is_empty(f),
    "isNull": lambda f, v, t: f is None,
    "isNotNull": lambda f, v, t: f is not None,
    "greaterThan": _cmp_op(lambda c: c > 0),
    "greaterOrEqual": _cmp_op(lambda c: c >= 0),
    "lessThan": _cmp_op(lambda c: c < 0),
    "lessOrEqual": _cmp_op(lambda c: c <= 0),
    "between": _between,
    "before": _date_op(lambda c: c < 0),
    "after": _date_op(lambda c: c > 0),
    "onOrBefore": _date_op(lambda c: c <= 0),
    "onOrAfter": _date_op(lambda c: c >= 0),
    "isTrue": lambda f, v, t: _as_bool(f) is True,
    "isFalse": lambda f, v, t: _as_bool(f) is False,
}
assert set(_OPS) == set(OPERATORS)


# --------------------------------------------------------------------------- validation


def _canonical_operator(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    return _BY_FOLDED.get(name.strip().casefold().replace(" ", "").replace("_", ""))


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_date_value(value: Any) -> bool:
    return _parse_date(value, date.today()) is not None


def _is_ordered_value(value: Any) -> bool:
    return _as_number(value) is not None or _is_date_value(value)


def _fail(where: str, field: Any, message: str) -> ValueError:
    label = (
        "condition"
        + (f" {where}" if where else "")
        + (f" ({field})" if isinstance(field, str) and field else "")
    )
    return ValueError(f"{label}: {message}")


def _validate_rule(rule: Any, where: str) -> None:
    if not isinstance(rule, dict):
        raise _fail(
            where, None, f"must be an object with field, operator and value (got {type(rule).__name__})"
        )
    if "rules" in rule or "match" in rule:
        _validate_group(rule, where)
        return
    field = rule.get("field")
    if not isinstance(field, str) or not field.strip():
        raise _fail(where, None, "needs a field such as 'Order.TotalDue'")
    if any(not part.strip() for part in field.split(".")):
        raise _fail(where, field, "the field path has an empty part (check the dots)")
    raw_op = rule.get("operator")
    op = _canonical_operator(raw_op)
    if op is None:
        close = difflib.get_close_matches(str(raw_op), OPERATORS, n=3, cutoff=0.5)
        hint = (
            f"; did you mean {', '.join(close)}?" if close else f"; known operators: {', '.join(OPERATORS)}"
        )
        raise _fail(where, field, f"unknown operator {raw_op!r}{hint}")
    value = rule.get("value")
    if op in NO_VALUE_OPERATORS:
        return
    if op == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise _fail(where, field, f"'between' needs [from, to] (got {value!r})")
        low, high = value
        if not (_is_ordered_value(low) and _is_ordered_value(high)):
            raise _fail(where, field, f"'between' needs two numbers or two dates (got {value!r})")
        if (_as_number(low) is None) != (_as_number(high) is None):
            raise _fail(
                where, field, f"'between' bounds must both be numbers or both be dates (got {value!r})"
            )
        return
    if op in ("inList", "notInList"):
        if not isinstance(value, list | tuple):
            raise _fail(
                where, field, f'{operator_word(op)} needs a list of values, e.g. ["a", "b"] (got {value!r})'
            )
        if not all(_is_scalar(v) for v in value):
            raise _fail(where, field, f"{operator_word(op)} list items must be text, numbers or booleans")
        return
    if op in ("greaterThan", "greaterOrEqual", "lessThan", "lessOrEqual"):
        if not _is_ordered_value(value):
            raise _fail(where, field, f"{operator_word(op)} needs a number or a date (got {value!r})")
        return
    if op in ("before", "after", "onOrBefore", "onOrAfter"):
        if not _is_date_value(value):
            raise _fail(
                where,
                field,
                f"{operator_word(op)} needs a date like 2026-11-28, 'today', 'today+7' or 'today-3' (got {value!r})",
            )
        return
    if op in ("contains", "notContains", "startsWith", "endsWith"):
        if value is None or not _is_scalar(value) or isinstance(value, bool):
            raise _fail(where, field, f"{operator_word(op)} needs a text value (got {value!r})")
        return
    # equals / notEqual
    if not _is_scalar(value):
        raise _fail(
            where,
            field,
            f"{operator_word(op)} needs a single text, number, boolean or null value (got {value!r})",
        )


def _validate_group(group: Any, where: str) -> None:
    if not isinstance(group, dict):
        raise _fail(where, None, 'a condition must be an object {"match": "all"|"any", "rules": [...]}')
    match = group.get("match", "all")
    if not isinstance(match, str) or match.strip().casefold() not in _MATCH_ALIASES:
        raise _fail(where, None, f'\'match\' must be "all" or "any" (got {match!r})')
    rules = group.get("rules", [])
    if not isinstance(rules, list):
        raise _fail(where, None, f"'rules' must be a list (got {type(rules).__name__})")
    prefix = "rule " if where == "" else f"{where}."
    for i, rule in enumerate(rules, start=1):
        _validate_rule(rule, f"{prefix}{i}")


def validate_condition(condition: dict | None) -> None:
    """Raise ``ValueError`` naming the rule (``rule 2``, ``rule 3.1`` for nested) and field if invalid."""
    if condition is None:
        return
    if not isinstance(condition, dict):
        raise ValueError('condition: must be an object {"match": "all"|"any", "rules": [...]} or null')
    _validate_group(condition, "")


def normalize_condition(condition: dict | None) -> dict | None:
    """Validated copy with canonical operator and match names (``'>'`` -> ``greaterThan``)."""
    validate_condition(condition)
    if condition is None:
        return None

    def norm(node: dict) -> dict:
        if "rules" in node or "match" in node:
            return {
                "match": _MATCH_ALIASES[str(node.get("match", "all")).strip().casefold()],
                "rules": [norm(r) for r in node.get("rules", [])],
            }
        op = _canonical_operator(node["operator"])
        out: dict[str, Any] = {"field": node["field"].strip(), "operator": op}
        if op not in NO_VALUE_OPERATORS:
            value = node.get("value")
            out["value"] = list(value) if isinstance(value, tuple) else value
        return out

    return norm(condition)


# --------------------------------------------------------------------------- evaluation


def _rule_matches(rule: dict, data: Any, today: date) -> bool:
    if "rules" in rule or "match" in rule:
        return _group_matches(rule, data, today)
    op = _canonical_operator(rule["operator"])
    assert op is not None
    values, multi = resolve_path(data, rule["field"].strip())
    if not values:
        return op == "isNull"
    fn = _OPS[op]
    value = rule.get("value")
    if op == "between" or op in ("inList", "notInList"):
        value = tuple(value or ())
    try:
        results: Iterable[bool] = (fn(v, value, today) for v in values)
        if multi and op in _NEGATIVE:
            return all(results)
        return any(results)
    except (TypeError, ValueError, ArithmeticError, OverflowError):
        return False


def _group_matches(group: dict, data: Any, today: date) -> bool:
    rules = group.get("rules") or []
    if not rules:
        return True
    if _MATCH_ALIASES[str(group.get("match", "all")).strip().casefold()] == "all":
        return all(_rule_matches(r, data, today) for r in rules)
    return any(_rule_matches(r, data, today) for r in rules)


def condition_matches(condition: dict | None, data: dict, *, today: date | None = None) -> bool:
    """Whether ``condition`` holds for the event ``data``. ``None`` matches everything.

    Never raises because of the data; raises ``ValueError`` (as :func:`validate_condition`) when the
    condition itself is malformed.
    """
    if condition is None:
        return True
    key = id(condition)
    if _VALIDATED.get(key) is not condition:  # the intake evaluates the same stored dicts again and again
        validate_condition(condition)
        if len(_VALIDATED) >= 512:
            _VALIDATED.clear()
        _VALIDATED[key] = condition  # holding the object keeps its id from being reused
    try:
        return _group_matches(condition, data if data is not None else {}, today or date.today())
    except (KeyError, TypeError, AttributeError, AssertionError):  # changed in place since it was validated
        _VALIDATED.pop(key, None)
        validate_condition(condition)
        return _group_matches(condition, data if data is not None else {}, today or date.today())


_VALIDATED: dict[int, dict] = {}
