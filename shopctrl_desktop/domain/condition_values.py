"""Value coercion for trigger conditions (see conditions.py): numbers, booleans, text and dates
(ISO-8601 or ``today±N``), equality and ordering across those types. Never raises on data."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

_TODAY_RE = re.compile(r"^\s*today\s*(?:([+-])\s*(\d{1,5}))?\s*(?:days?)?\s*$", re.IGNORECASE)
_NUMBER_RE = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
_DATE_ONLY_RE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")
_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and _NUMBER_RE.match(value):
        try:
            return Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the regex already filters
            return None
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value == 1:
            return True
        if value == 0:
            return False
        return None
    if isinstance(value, str):
        folded = value.strip().casefold()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
    return None


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# A parsed date: (moment, has_time). Date-only values become midnight UTC with has_time False.
_DateVal = tuple[datetime, bool]


def _parse_date(value: Any, today: date) -> _DateVal | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)), True
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC), False
    if not isinstance(value, str):
        return None
    m = _TODAY_RE.match(value)
    if m:
        offset = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
        d = today + timedelta(days=offset)
        return datetime(d.year, d.month, d.day, tzinfo=UTC), False
    text = value.strip()
    if not text or not text[:4].isdigit():
        return None
    try:
        if _DATE_ONLY_RE.match(text):
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, tzinfo=UTC), False
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), True


def _date_cmp(a: _DateVal, b: _DateVal) -> int:
    (da, ta), (db, tb) = a, b
    if ta and tb:
        left: Any = da
        right: Any = db
    else:
        left, right = da.date(), db.date()
    return (left > right) - (left < right)


def _ordered_cmp(field_value: Any, value: Any, today: date) -> int | None:
    """Compare as numbers if both are numeric, else as dates if both are dates; ``None`` if neither."""
    a, b = _as_number(field_value), _as_number(value)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    da, db = _parse_date(field_value, today), _parse_date(value, today)
    if da is not None and db is not None:
        return _date_cmp(da, db)
    return None


def _equal(field_value: Any, value: Any, today: date) -> bool:
    if field_value is None or value is None:
        return field_value is None and value is None
    if isinstance(field_value, bool) or isinstance(value, bool):
        fb, vb = _as_bool(field_value), _as_bool(value)
        return fb is not None and fb == vb
    a, b = _as_number(field_value), _as_number(value)
    if a is not None and b is not None:
        return a == b
    if isinstance(value, str) and (_TODAY_RE.match(value) or _DATE_ONLY_RE.match(value)):
        da, db = _parse_date(field_value, today), _parse_date(value, today)
        if da is not None and db is not None:
            return _date_cmp(da, db) == 0
    ta, tb = _as_text(field_value), _as_text(value)
    return ta is not None and tb is not None and ta.casefold() == tb.casefold()


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not value
    return False
