"""Strict JSON in and out: values no UTF-8 database or strict receiver can carry are found and named, and
everything else decodes exactly as ``json.loads`` does."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopctrl_desktop.domain import strict_json
from shopctrl_desktop.domain.strict_json import Unstorable, unstorable_values

finite_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=strict_json.MIN_INTEGER, max_value=strict_json.MAX_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(finite_json)
def test_strict_json_reads_what_json_writes_and_flags_nothing(value) -> None:
    text = json.dumps(value, ensure_ascii=False)
    decoded = strict_json.loads(text.encode("utf-8"))
    assert decoded.value == json.loads(text)
    assert list(unstorable_values(decoded.value)) == []


@given(finite_json)
def test_escaped_text_is_read_back_with_no_false_alarm(value) -> None:
    # ensure_ascii writes astral characters as surrogate-pair escapes: they are valid and stay so
    decoded = strict_json.loads(json.dumps(value, ensure_ascii=True).encode())
    assert decoded.value == value
    assert list(unstorable_values(decoded.value)) == []


@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        ('{"a": NaN}', "a", "NaN"),
        ('{"a": [1, Infinity]}', "a[1]", "Infinity"),
        ('{"a": -Infinity}', "a", "-Infinity"),
        ('{"a": 1e400}', "a", "1e400"),
        ('{"a": -2.5E+999}', "a", "too large"),
        ('{"a": {"b": ' + "9" * 5000 + "}}", "a.b", "5,000 digits"),
        ('{"a": 18446744073709551616}', "a", "beyond 64 bits"),
        ('{"a": -9223372036854775809}', "a", "beyond 64 bits"),
        ('{"a": "x\\ud800y"}', "a", "lone surrogate"),
        ('{"a": ["ok", "\\uDFFF"]}', "a[1]", "lone surrogate"),
        ('{"k\\ud83d": 1}', "k\\ud83d", "key"),
    ],
)
def test_each_value_strict_json_cannot_carry_is_named_with_its_path(text, path, words) -> None:
    decoded = strict_json.loads(text.encode("utf-8"))
    assert decoded.suspicious
    [(found, reason)] = list(unstorable_values(decoded.value))
    assert found == path and words in reason


def test_numbers_at_the_64_bit_edges_and_ordinary_floats_are_kept() -> None:
    text = '{"max": 18446744073709551615, "min": -9223372036854775808, "f": 1.5e300, "e": 1e-300}'
    decoded = strict_json.loads(text.encode())
    assert decoded.value == {"max": 2**64 - 1, "min": -(2**63), "f": 1.5e300, "e": 1e-300}
    assert list(unstorable_values(decoded.value)) == []


def test_markers_are_values_not_numbers() -> None:
    decoded = strict_json.loads(b"[NaN]")
    assert isinstance(decoded.value[0], Unstorable)
    assert not isinstance(decoded.value[0], float)


def test_dumps_refuses_nan_and_infinity_and_keeps_unicode() -> None:
    assert strict_json.dumps({"a": "é", "n": 1.5}) == '{"a": "é", "n": 1.5}'
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            strict_json.dumps({"a": bad})


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": 123456789012345678}',  # 18 digits
        b'{"a": 1234567890123456789}',  # 19
        b'{"a": "id 00000000000000000000"}',
        b'{"a": 1e308, "b": 1E-30}',
        b'{"a": 1e+400}',
        b'{"a": 2E-0400}',
        b'{"a": "e+00 e-0 E0000"}',
        b'{"a": 1.5e12}',
        '{"a": "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"}'.encode(),
        b"",
    ],
)
def test_the_big_number_check_without_a_regex_answers_as_the_regex(text: bytes) -> None:
    from shopctrl_desktop.domain.strict_json import _BIG_NUMBER_TEXT, _has_big_number_text

    assert _has_big_number_text(text) == (_BIG_NUMBER_TEXT.search(text) is not None)


@given(st.binary(max_size=80) | st.text(alphabet="0123456789eE+-.a\\ud", max_size=80).map(str.encode))
def test_the_text_checks_without_a_regex_answer_as_the_regexes(text: bytes) -> None:
    from shopctrl_desktop.domain.strict_json import (
        _BIG_NUMBER_TEXT,
        _SURROGATE_ESCAPE,
        _has_big_number_text,
        _has_surrogate_escape,
    )

    assert _has_big_number_text(text) == (_BIG_NUMBER_TEXT.search(text) is not None)
    assert _has_surrogate_escape(text) == (_SURROGATE_ESCAPE.search(text) is not None)
