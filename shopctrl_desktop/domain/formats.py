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
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

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
_STD_NUMBER_RE = re.compile(r"^([NnFfDdPpCcEeGgXx])(\d{0,2})$")
_NUMBER_STRING_RE = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
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


# --------------------------------------------------------------------------- numbers


def _to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else Decimal(repr(value))
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and _NUMBER_STRING_RE.match(value):
        try:
            return Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover
            return None
    return None


def _group(digits: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return ",".join(parts)


def _fixed(d: Decimal, places: int) -> tuple[str, str]:
    """(integer digits, fraction digits) of |d| rounded half away from zero to ``places``."""
    q = abs(d).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = format(q, "f")
    ip, _, fp = text.partition(".")
    return ip.lstrip("0"), fp


def _format_standard(d: Decimal, spec: str, prec_text: str) -> str | None:
    kind = spec.upper()
    prec = int(prec_text) if prec_text else None
    neg = d < 0
    if kind in ("N", "F", "P", "C"):
        if kind == "P":
            d = d * 100
        places = 2 if prec is None else prec
        ip, fp = _fixed(d, places)
        ip = ip or "0"
        if kind in ("N", "P", "C"):
            ip = _group(ip)
        body = ip + ("." + fp if places else "")
        neg = neg and any(ch not in "0.," for ch in body)
        if kind == "P":
            body += " %"
        if kind == "C":
            body = "¤" + body
        return ("-" if neg else "") + body
    if kind == "D":
        if d != d.to_integral_value():
            return None
        digits = str(abs(int(d)))
        return ("-" if neg else "") + digits.zfill(prec or 0)
    if kind == "X":
        if d != d.to_integral_value() or d < 0:
            return None
        text = format(int(d), "x" if spec == "x" else "X")
        return text.zfill(prec or 0)
    if kind == "E":
        places = 6 if prec is None else prec
        text = format(d, f".{places}e")
        mant, _, exp = text.partition("e")
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").zfill(3)
        return f"{mant}{'e' if spec == 'e' else 'E'}{sign}{digits}"
    if kind == "G":
        if d == d.to_integral_value() and prec is None:
            return str(int(d))
        return format(d.normalize(), "f") if prec is None else format(d, f".{prec}g")
    return None  # pragma: no cover


@lru_cache(maxsize=256)
def _split_sections(pattern: str) -> tuple[str, ...]:
    sections: list[str] = []
    cur: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch == "\\" and i + 1 < len(pattern):
            cur.append(pattern[i : i + 2])
            i += 1
        elif ch == ";":
            sections.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    sections.append("".join(cur))
    return tuple(sections)


_TOKEN_RE = re.compile(r"'[^']*'?|\"[^\"]*\"?|\\.|[0#.,%‰]|[^0#.,%‰'\"\\]+")


def _literal(tok: str) -> str:
    if tok[0] in "'\"":
        return tok[1:-1] if len(tok) > 1 and tok[-1] == tok[0] else tok[1:]
    if tok[0] == "\\":
        return tok[1:]
    return tok


@dataclass(frozen=True)
class _Section:
    """A custom numeric pattern section, analysed once (see :func:`_plan`)."""

    literal_only: str | None  # no digit placeholder at all: the section's literal text
    int_tokens: tuple[str, ...]
    frac_tokens: tuple[str, ...]
    n_int_ph: int
    min_int: int
    max_frac: int
    min_frac: int
    grouping: bool
    factor: Decimal
    # contiguous placeholders: literal text around the integer digits and after the fraction digits
    contiguous: bool
    int_prefix: str
    int_suffix: str
    frac_suffix: str


def _lit(t: str) -> str:
    return t if t in "%‰" else _literal(t)


@lru_cache(maxsize=256)
def _plan(section: str) -> _Section:
    tokens = _TOKEN_RE.findall(section)
    placeholder_idx = [i for i, t in enumerate(tokens) if t in ("0", "#")]
    if not placeholder_idx:
        return _Section(
            "".join(_lit(t) for t in tokens), (), (), 0, 0, 0, 0, False, Decimal(1), False, "", "", ""
        )
    point = next((i for i, t in enumerate(tokens) if t == "."), None)
    int_end = point if point is not None else len(tokens)
    last_int_ph = max((i for i in placeholder_idx if i < int_end), default=None)
    first_int_ph = min((i for i in placeholder_idx if i < int_end), default=None)
    grouping = False
    scale = 0
    for i, t in enumerate(tokens[:int_end]):
        if t != ",":
            continue
        if first_int_ph is not None and last_int_ph is not None and first_int_ph < i < last_int_ph:
            grouping = True
        elif last_int_ph is not None and i > last_int_ph:
            scale += 1
    factor = Decimal(100) ** tokens.count("%") * Decimal(1000) ** tokens.count("‰") / Decimal(1000) ** scale
    frac_tokens = tuple(t for t in (tokens[int_end + 1 :] if point is not None else []) if t not in ".,")
    frac_ph = [t for t in frac_tokens if t in ("0", "#")]
    int_tokens = tuple(t for t in tokens[:int_end] if t != ",")
    int_ph = [t for t in int_tokens if t in ("0", "#")]
    min_int = len(int_ph) - next((i for i, t in enumerate(int_ph) if t == "0"), len(int_ph))
    min_frac = max((i + 1 for i, t in enumerate(frac_ph) if t == "0"), default=0)

    def contiguous(toks: tuple[str, ...]) -> tuple[bool, int, int]:
        idx = [i for i, t in enumerate(toks) if t in ("0", "#")]
        if not idx:
            return True, len(toks), len(toks)
        return idx == list(range(idx[0], idx[-1] + 1)), idx[0], idx[-1] + 1

    ci, ia, ib = contiguous(int_tokens)
    cf, fa, fb = contiguous(frac_tokens)
    ok = ci and cf and fa == 0
    return _Section(
        None,
        int_tokens,
        frac_tokens,
        len(int_ph),
        min_int,
        len(frac_ph),
        min_frac,
        grouping,
        factor,
        ok,
        "".join(_lit(t) for t in int_tokens[:ia]) if ok else "",
        "".join(_lit(t) for t in int_tokens[ib:]) if ok else "",
        "".join(_lit(t) for t in frac_tokens[fb:]) if ok else "",
    )


def _format_custom(d: Decimal, section: str, add_minus: bool) -> str:
    plan = _plan(section)
    if plan.literal_only is not None:
        return ("-" if add_minus else "") + plan.literal_only
    if plan.factor != 1:
        d = d * plan.factor
    ip, fp = _fixed(d, plan.max_frac)
    return _assemble(plan, ip, fp, add_minus)


def _fast_custom(value: int | float, pattern: str) -> str | None:
    """The common case without Decimal: one section, no scaling. Rounds half away from zero on the
    shortest decimal repr (the same digits ``Decimal(repr(value))`` holds). ``None`` = the general path."""
    plan = _plan(pattern)
    if plan.literal_only is not None or plan.factor != 1 or ";" in pattern:
        return None
    text = repr(value) if type(value) is float else str(value)
    if "e" in text or "n" in text:  # exponent, nan, inf
        return None
    neg = text[0] == "-"
    ip, _, fp = (text[1:] if neg else text).partition(".")
    if fp == "0":
        fp = ""
    keep = plan.max_frac
    if len(fp) > keep:
        up = fp[keep] >= "5"
        fp = fp[:keep]
        if up:
            digits = str(int(ip + fp) + 1).zfill(len(ip) + keep)
            ip, fp = digits[: len(digits) - keep], digits[len(digits) - keep :]
    return _assemble(plan, ip.lstrip("0"), fp, neg)


def _assemble(plan: _Section, ip: str, fp: str, add_minus: bool) -> str:
    """Pattern output from the integer digits (no leading zeros) and the fraction digits (rounded)."""
    fp = fp.rstrip("0").ljust(plan.min_frac, "0") if plan.max_frac else ""
    digits = ip.zfill(plan.min_int) if len(ip) < plan.min_int else ip
    if plan.grouping and digits:
        digits = _group(digits)
    if plan.contiguous:
        int_text = plan.int_prefix + (digits if plan.n_int_ph else "") + plan.int_suffix
        frac_text = fp + plan.frac_suffix
    else:
        # fill integer placeholders right to left; the leftmost one takes all remaining digits
        out_int: list[str] = []
        remaining = digits
        ph_seen = 0
        for t in reversed(plan.int_tokens):
            if t in ("0", "#"):
                ph_seen += 1
                if ph_seen == plan.n_int_ph:
                    out_int.append(remaining)
                    remaining = ""
                elif plan.grouping:
                    continue  # with grouping, the digits go out in one piece at the leftmost placeholder
                else:
                    out_int.append(remaining[-1:])
                    remaining = remaining[:-1]
            else:
                out_int.append(_lit(t))
        int_text = "".join(reversed(out_int))
        out_frac: list[str] = []
        fi = 0
        for t in plan.frac_tokens:
            if t in ("0", "#"):
                if fi < len(fp):
                    out_frac.append(fp[fi])
                fi += 1
            else:
                out_frac.append(_lit(t))
        frac_text = "".join(out_frac)
    minus = add_minus and (ip.strip("0") != "" or fp.strip("0") != "")
    return ("-" if minus else "") + int_text + ("." if fp else "") + frac_text


@lru_cache(maxsize=256)
def _standard_number(pattern: str) -> tuple[str, str] | None:
    m = _STD_NUMBER_RE.match(pattern)
    return (m.group(1), m.group(2)) if m else None


@lru_cache(maxsize=256)
def _date_tokens(pattern: str) -> tuple[str, ...]:
    return tuple(_DATE_TOKEN_RE.findall(pattern))


def format_number(value: Any, pattern: str) -> str | None:
    """``value`` formatted with a .NET numeric pattern, or ``None`` if it is not a number."""
    if type(value) is float or type(value) is int:
        fast = _fast_custom(value, pattern) if not _standard_number(pattern) else None
        if fast is not None:
            return fast
    d = _to_decimal(value)
    if d is None:
        return None
    std = _standard_number(pattern)
    if std:
        return _format_standard(d, std[0], std[1])
    sections = _split_sections(pattern)
    if len(sections) == 1:
        return _format_custom(d, sections[0], d < 0)
    if d < 0 and len(sections) > 1 and sections[1]:
        return _format_custom(-d, sections[1], False)
    if d == 0 and len(sections) > 2 and sections[2]:
        return _format_custom(d, sections[2], False)
    return _format_custom(d, sections[0], d < 0)


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
