""".NET-style numeric format patterns (see formats.py): custom patterns analysed once per pattern, the
standard ``N F D P C E G X`` formats, rounding half away from zero on the shortest decimal repr."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

_STD_NUMBER_RE = re.compile(r"^([NnFfDdPpCcEeGgXx])(\d{0,2})$")
_NUMBER_STRING_RE = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")


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
