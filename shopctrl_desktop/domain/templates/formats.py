""".NET-style format patterns for ShopCtrl merge fields (``$$Order.Date#yyyy-MM-dd$$``, ``$$Order.Total#0.00$$``).

ShopCtrl runs on .NET and formats with the invariant culture, so these follow .NET's custom and standard
format strings:

- Dates: ``yyyy yy MMMM MMM MM M dddd ddd dd d HH H hh h mm m ss s f..fffffff F..FFFFFFF tt t zzz zz z K``,
  ``'quoted'``/``"quoted"`` literals, ``\\x`` escapes, ``/`` and ``:`` as themselves; the standard one-letter
  formats ``d D f F g G M m o O s t T u Y y``. A date value is a ``datetime``/``date`` or an ISO-8601
  string; it is shown in its own offset (no conversion).
- Numbers: ``0`` (digit), ``#`` (optional digit), ``.``, ``,`` (grouping; right before the point or the end
  it divides by 1,000), ``%`` and ``‰``, literals (``€#,###.00``), ``;`` sections (positive;negative;zero);
  the standard formats ``N F D P C E G X`` with an optional precision. Rounding is half away from zero
  (.NET's). Floats are formatted from their shortest repr so ``2.675#0.00`` gives ``2.68``.

A value that does not fit the pattern (text, a bad date) is returned unformatted; nothing here raises.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any

from shopctrl_desktop.domain.templates.number_formats import (  # noqa: F401 - re-exported for tests
    _fast_custom,
    _format_custom,
    _group,
    _plan,
    _standard_number,
    _to_decimal,
    format_number,
)

__all__ = [
    "format_value",
    "format_date",
    "format_number",
    "to_text",
    "parse_datetime",
    "looks_like_date_pattern",
]

_MONTHS = "January February March April May June July August September October November December".split()
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()

_STANDARD_DATE = {
    "d": "MM/dd/yyyy",
    "D": "dddd, dd MMMM yyyy",
    "f": "dddd, dd MMMM yyyy HH:mm",
    "F": "dddd, dd MMMM yyyy HH:mm:ss",
    "g": "MM/dd/yyyy HH:mm",
    "G": "MM/dd/yyyy HH:mm:ss",
    "M": "MMMM dd",
    "m": "MMMM dd",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "t": "HH:mm",
    "T": "HH:mm:ss",
    "Y": "yyyy MMMM",
    "y": "yyyy MMMM",
}
_DATE_TOKEN_RE = re.compile(
    r"yyyyy*|yy?|MMMM+|MMM|MM|M|dddd+|ddd|dd|d|HH?|hh?|mm?|ss?|f{1,7}|F{1,7}|tt?|zzz|zz?|K"
    r"|'[^']*'?|\"[^\"]*\"?|\\.|%|."
)
_DATE_STRING_RE = re.compile(
    r"^\s*\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)


# --------------------------------------------------------------------------- plain text


def to_text(value: Any) -> str:
    """The text a merge field shows without a format: ``None`` -> ``""``, booleans lower-case, numbers plain."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        import json

        try:
            return json.dumps(value, ensure_ascii=False, default=str)
        except ValueError:
            return ""
    return str(value)


# --------------------------------------------------------------------------- dates


def parse_datetime(value: Any) -> datetime | date | None:
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or not _DATE_STRING_RE.match(value):
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace(" ", "T", 1) if text[10] == " " else text)
    except ValueError:
        return None


@lru_cache(maxsize=256)
def looks_like_date_pattern(pattern: str) -> bool:
    if pattern in _STANDARD_DATE or pattern in ("o", "O", "u", "r", "R"):
        return True
    stripped = re.sub(r"'[^']*'|\"[^\"]*\"|\\.", "", pattern)
    return bool(re.search(r"[yMdHhmsfFtzK]", stripped)) and not re.search(r"[0#]", stripped)


def _offset(dt: datetime, colon: bool, minutes: bool) -> str:
    off = dt.utcoffset()
    if off is None:
        return ""
    total = int(off.total_seconds() // 60)
    sign = "-" if total < 0 else "+"
    h, m = divmod(abs(total), 60)
    if not minutes:
        return f"{sign}{h}"
    return f"{sign}{h:02d}{':' if colon else ''}{m:02d}"


def format_date(value: datetime | date, pattern: str) -> str:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if pattern in ("o", "O"):
        base = value.strftime("%Y-%m-%dT%H:%M:%S") + f".{value.microsecond:06d}0"
        return base + (_offset(value, True, True) if value.tzinfo else "")
    if pattern == "u":
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    if pattern in ("r", "R"):
        return value.strftime("%a, %d %b %Y %H:%M:%S GMT")
    pattern = _STANDARD_DATE.get(pattern, pattern)
    if len(pattern) == 2 and pattern[0] == "%":
        pattern = pattern[1]
    out: list[str] = []
    for tok in _date_tokens(pattern):
        c = tok[0]
        n = len(tok)
        if c == "y" and tok == "y" * n:
            out.append(
                str(value.year % 100)
                if n == 1
                else f"{value.year % 100:02d}"
                if n == 2
                else f"{value.year:0{n}d}"
            )
        elif c == "M" and tok == "M" * n:
            out.append(
                str(value.month)
                if n == 1
                else f"{value.month:02d}"
                if n == 2
                else _MONTHS[value.month - 1][:3]
                if n == 3
                else _MONTHS[value.month - 1]
            )
        elif c == "d" and tok == "d" * n:
            out.append(
                str(value.day)
                if n == 1
                else f"{value.day:02d}"
                if n == 2
                else _DAYS[value.weekday()][:3]
                if n == 3
                else _DAYS[value.weekday()]
            )
        elif c == "H" and tok == "H" * n:
            out.append(f"{value.hour:0{n}d}")
        elif c == "h" and tok == "h" * n:
            out.append(f"{(value.hour % 12) or 12:0{n}d}")
        elif c == "m" and tok == "m" * n:
            out.append(f"{value.minute:0{n}d}")
        elif c == "s" and tok == "s" * n:
            out.append(f"{value.second:0{n}d}")
        elif c == "f" and tok == "f" * n:
            out.append(f"{value.microsecond:06d}0"[:n])
        elif c == "F" and tok == "F" * n:
            out.append(f"{value.microsecond:06d}0"[:n].rstrip("0"))
        elif c == "t" and tok == "t" * n:
            out.append(("AM" if value.hour < 12 else "PM")[:n])
        elif c == "z" and tok == "z" * n:
            out.append(_offset(value, n == 3, n >= 2))
        elif tok == "K":
            off = value.utcoffset()
            out.append("" if off is None else "Z" if not off else _offset(value, True, True))
        elif c in "'\"":
            out.append(tok[1:-1] if n > 1 and tok[-1] == c else tok[1:])
        elif c == "\\":
            out.append(tok[1:])
        elif tok == "%":
            continue
        else:
            out.append(tok)
    return "".join(out)


@lru_cache(maxsize=256)
def _date_tokens(pattern: str) -> tuple[str, ...]:
    return tuple(_DATE_TOKEN_RE.findall(pattern))


# --------------------------------------------------------------------------- entry point


@lru_cache(maxsize=256)
def _is_custom_number_pattern(pattern: str) -> bool:
    return not looks_like_date_pattern(pattern) and _standard_number(pattern) is None and ";" not in pattern


def _general(pattern: str) -> Callable[[Any], str]:
    return lambda value: format_value(value, pattern)


@lru_cache(maxsize=256)
def formatter(pattern: str) -> Callable[[Any], str]:
    """A function formatting values with ``pattern`` (same results as :func:`format_value`), specialised
    for the common numeric patterns (``0.00``, ``#,##0.00``, ``€#,###.00`` …) of plain ints and floats."""
    if not pattern or not _is_custom_number_pattern(pattern):
        return _general(pattern)
    plan = _plan(pattern)
    if plan.literal_only is not None or plan.factor != 1 or not plan.contiguous or not plan.n_int_ph:
        return _general(pattern)
    keep, min_frac, min_int, grouping = plan.max_frac, plan.min_frac, plan.min_int, plan.grouping
    prefix, int_suffix, frac_suffix = plan.int_prefix, plan.int_suffix, plan.frac_suffix
    general = _general(pattern)

    def fmt(value: Any) -> str:
        kind = type(value)
        if kind is float:
            text = repr(value)
            if "e" in text or "n" in text:
                return general(value)
        elif kind is int:
            text = str(value)
        else:
            return general(value)
        neg = text[0] == "-"
        ip, _, fp = (text[1:] if neg else text).partition(".")
        if len(fp) > keep:
            up = fp[keep] >= "5"
            fp = fp[:keep]
            if up:
                digits = str(int(ip + fp) + 1).zfill(len(ip) + keep)
                ip, fp = digits[: len(digits) - keep], digits[len(digits) - keep :]
        fp = fp.rstrip("0")
        if len(fp) < min_frac:
            fp = fp.ljust(min_frac, "0")
        ip = ip.lstrip("0")
        minus = neg and (ip or fp.strip("0"))
        if len(ip) < min_int:
            ip = ip.zfill(min_int)
        if grouping and ip:
            ip = _group(ip)
        out = prefix + ip + int_suffix + ("." + fp if fp else "") + frac_suffix
        return "-" + out if minus else out

    return fmt


def format_value(value: Any, pattern: str | None) -> str:
    """Text of ``value`` with an optional .NET format pattern; never raises."""
    if value is None:
        return ""
    if not pattern:
        return to_text(value)
    kind = type(value)
    if (kind is float or kind is int) and _is_custom_number_pattern(pattern):
        fast = _fast_custom(value, pattern)
        if fast is not None:
            return fast
    try:
        if looks_like_date_pattern(pattern):
            dt = parse_datetime(value)
            if dt is not None:
                return format_date(dt, pattern)
            number = format_number(value, pattern)
            return number if number is not None else to_text(value)
        number = format_number(value, pattern)
        if number is not None:
            return number
        dt = parse_datetime(value)
        if dt is not None:
            return format_date(dt, pattern)
    except (ValueError, ArithmeticError, OverflowError, IndexError):
        pass
    return to_text(value)
