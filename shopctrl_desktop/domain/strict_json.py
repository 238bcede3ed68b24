"""Strict JSON (RFC 8259, and RFC 7493 I-JSON's interoperable numbers) for what comes in and what goes out.

Python's ``json`` is lenient where a receiver is not: it reads ``NaN``/``Infinity``, turns ``1e400`` into
``inf`` (then written back as ``Infinity``), keeps a lone surrogate such as ``"\\ud800"`` (which no UTF-8
database or receiver can hold) and refuses integers over 4,300 digits with a ValueError that looks like a
crash. An event holding any of these can never be stored or sent as valid JSON, so the listener answers 400
naming the field — never a 5xx that tells the sender to try the same event again.

Incoming: :func:`loads` decodes with hooks that turn each such value into an :class:`Unstorable` marker
(cheap: the number hooks run only when the text has a run of 19 or more digits or a three-digit exponent, the surrogate
walk only when the text has a ``\\uD8..``–``\\uDF..`` escape) and says whether the result needs
:func:`unstorable_values`, which names each marker's path. Outgoing: :func:`dumps` refuses non-finite
numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: Integers beyond 64 bits lose their value in most receivers' parsers (and in PostgreSQL's bigint).
MAX_INTEGER = 2**64 - 1
MIN_INTEGER = -(2**63)

_BIG_NUMBER_TEXT = re.compile(rb"\d{19}|[eE][+-]?\d{3}")
# The same question without the regex, which tried a match at every digit (~85k instructions for a small
# event): the text's shape (digits -> "0", e/E -> "e", +/- -> "+", all else " ") searched for "0" x 19,
# "e000" and "e+000" by bytes search.
_SHAPE = bytes(
    ord("0") if chr(b).isdigit() and b < 128 else ord("e") if b in b"eE" else ord("+") if b in b"+-" else 32
    for b in range(256)
)
_NINETEEN_DIGITS = b"0" * 19


def _has_big_number_text(data: bytes) -> bool:
    """Whether the text has a run of 19 digits or a three-digit exponent (``_BIG_NUMBER_TEXT``)."""
    shape = data.translate(_SHAPE)
    return _NINETEEN_DIGITS in shape or b"e000" in shape or b"e+000" in shape


def _has_constant_text(data: bytes) -> bool:
    return b"NaN" in data or b"Infinity" in data


def _has_surrogate_escape(data: bytes) -> bool:
    return b"\\u" in data and _SURROGATE_ESCAPE.search(data) is not None


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Unstorable:
    """A value decoded from the text that strict JSON cannot carry, and why (in words)."""

    reason: str


def _constant(name: str) -> Unstorable:
    return Unstorable(f"is {name}, which is not a JSON number (send a number or null)")


def _integer(text: str) -> int | Unstorable:
    digits = len(text.lstrip("-"))
    if digits > 100:  # never converted: int() of thousands of digits is slow, and Python refuses > 4,300
        return Unstorable(f"is a number with {digits:,} digits; send it as a text")
    value = int(text)
    if not MIN_INTEGER <= value <= MAX_INTEGER:
        return Unstorable("is a whole number beyond 64 bits; send it as a text")
    return value


def _float(text: str) -> float | Unstorable:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        return Unstorable(f"is the number {text[:40]}, too large for JSON receivers (beyond ±1.8e308)")
    return value


@dataclass(frozen=True)
class Decoded:
    value: Any
    #: True when the value may hold :class:`Unstorable` markers or lone surrogates: run
    #: :func:`unstorable_values` on it.
    suspicious: bool


def _marked_constant(name: str) -> Unstorable:
    return _constant(name)


# One decoder for the common text (no long digit run): building a JSONDecoder per call cost as much as
# decoding a small event. A NaN/Infinity it reads becomes a marker; the text check below flags those.
_PLAIN_DECODER = json.JSONDecoder(parse_constant=_marked_constant)


def loads(raw: bytes | str) -> Decoded:
    """Decode ``raw`` (UTF-8 bytes or text). Raises what ``json.loads`` raises for malformed text."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    big = _has_big_number_text(data)
    if not big:
        text = raw if isinstance(raw, str) else raw.decode(json.detect_encoding(raw), "surrogatepass")
        if text.startswith("\ufeff"):
            value = json.loads(text)  # the error json.loads gives for a byte order mark
        else:
            value = _PLAIN_DECODER.decode(text)
        suspicious = _has_constant_text(data) or _has_surrogate_escape(data)
        return Decoded(value, suspicious)
    flagged: list[bool] = []

    def constant(name: str) -> Unstorable:
        flagged.append(True)
        return _constant(name)

    def integer(text: str) -> int | Unstorable:
        value = _integer(text)
        if isinstance(value, Unstorable):
            flagged.append(True)
        return value

    def floating(text: str) -> float | Unstorable:
        value = _float(text)
        if isinstance(value, Unstorable):
            flagged.append(True)
        return value

    value = json.loads(raw, parse_constant=constant, parse_int=integer, parse_float=floating)
    suspicious = bool(flagged) or _has_surrogate_escape(data)
    return Decoded(value, suspicious)


def unstorable_values(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Each (path, reason) in ``value`` that strict JSON cannot carry: markers from :func:`loads` and texts
    (values or keys) with a lone surrogate. Paths read ``data.Order.Lines[2].Sku``."""
    if isinstance(value, Unstorable):
        yield path, value.reason
    elif isinstance(value, str):
        if _SURROGATE.search(value):
            yield path, "holds a lone surrogate (\\ud800–\\udfff), which is not valid Unicode text"
    elif isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                shown = key.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
                yield (
                    f"{path}.{shown}" if path else shown,
                    "is a key with a lone surrogate (\\ud800–\\udfff), which is not valid Unicode text",
                )
                continue
            yield from unstorable_values(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unstorable_values(item, f"{path}[{index}]")


_STRICT_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False
)  # kept: json.dumps builds one per call


def dumps(value: Any) -> str:
    """JSON text a strict parser reads: no NaN or Infinity (ValueError), non-ASCII kept as it is."""
    return _STRICT_ENCODER.encode(value)
