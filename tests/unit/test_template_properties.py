"""Property-based tests (issue 13 item 6) with Hypothesis, for any merge values and any event body:

- a JSON template renders valid JSON whose values read back exactly as they were merged: any text JSON input
  can carry (quotes, backslashes, ``]]>``, control characters, every plane), whole numbers of any size,
  floats with large exponents;
- an XML template renders well-formed XML whose values read back exactly — every character XML 1.0 can hold;
  the ones it cannot (NUL and the other C0 controls but tab, line feed and carriage return, U+FFFE, U+FFFF)
  become U+FFFD, as docs/templates say;
- a valid condition never raises, whatever type of value the event holds where it looks;
- decoding and checking an event body never raises anything but the input errors the listener answers with
  400 (malformed JSON, invalid UTF-8, nesting too deep); every decoded body gets an answer, never an exception.

The example-based twins are tests/unit/test_templates_escaping.py and tests/unit/test_strict_json.py.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopctrl_desktop.domain import strict_json
from shopctrl_desktop.domain.conditions import OPERATORS, condition_matches, validate_condition
from shopctrl_desktop.domain.events import CATALOGUE
from shopctrl_desktop.domain.model import MimeType
from shopctrl_desktop.domain.templates.formats import to_text
from shopctrl_desktop.domain.templates.render import render_template
from shopctrl_desktop.engine.event_input import parse_body
from tests.unit.test_templates_escaping import JSON_TEMPLATE, XML_TEMPLATE, xml_representable

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Text JSON input can carry (no lone surrogates: ``text()`` leaves category Cs out), with the characters
#: that break naive escaping drawn often.
hostile_text = st.lists(
    st.text(st.characters(codec="utf-8"), max_size=6)
    | st.sampled_from(
        ['"', "'", "\\", "<", ">", "&", "]]>", "\x00", "\x1f", "\r", "\n", "\t", "\u2028", "😀"]
    ),
    max_size=8,
).map("".join)
huge_ints = st.integers() | st.integers(min_value=-(10**300), max_value=10**300)
floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [1e308, -1.7976931348623157e308, 5e-324, 1e-300, 1e16, 123456789012345678.0, -0.0]
)
json_values = st.recursive(
    st.none() | st.booleans() | huge_ints | floats | hostile_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(hostile_text, children, max_size=3),
    max_leaves=12,
)
#: Smaller structures where a value is one of several fields (keeps the whole file within seconds).
small_json = st.recursive(
    st.none() | st.booleans() | huge_ints | floats | hostile_text,
    lambda children: st.lists(children, max_size=2) | st.dictionaries(hostile_text, children, max_size=2),
    max_leaves=4,
)


def _data(value: object) -> dict:
    return {"Order": {"Value": value, "OrderRow": [{"Value": value}, {"Value": value}]}}


# --------------------------------------------------------------------------- JSON payloads


@FAST
@given(hostile_text)
def test_json_template_round_trips_any_text(value: str) -> None:
    out = render_template(JSON_TEMPLATE, MimeType.JSON, _data(value))
    parsed = json.loads(out)  # valid JSON, or this raises
    assert parsed["shopctrl"] == value
    assert parsed["jinja"] == value
    assert parsed["literal"] == value
    assert parsed["rows"] == [value, value, None]
    out.encode("utf-8")  # sendable as it is


@FAST
@given(huge_ints | floats)
def test_json_template_round_trips_any_number(value: float) -> None:
    template = '{"bare": $$Order.Value$$, "jinja": {{ Order.Value }}, "literal": {{ Order.Value | json }}}'
    parsed = json.loads(render_template(template, MimeType.JSON, _data(value)))
    for key in ("bare", "jinja", "literal"):
        assert parsed[key] == value, key
        assert math.copysign(1, parsed[key]) == math.copysign(1, value) or parsed[key] == 0


@FAST
@given(json_values)
def test_json_filter_round_trips_any_structure(value: object) -> None:
    out = render_template('{"v": {{ Order.Value | json }}}', MimeType.JSON, _data(value))
    assert json.loads(out)["v"] == value


# --------------------------------------------------------------------------- XML payloads


@FAST
@given(hostile_text)
def test_xml_template_is_well_formed_and_round_trips_any_text(value: str) -> None:
    out = render_template(XML_TEMPLATE, MimeType.XML, _data(value))
    expected = xml_representable(value)
    root = ET.fromstring(out.encode("utf-8"))  # well formed, or this raises
    assert root.get("attr") == expected
    assert root.get("single") == expected
    assert root.findtext("text") == expected
    assert root.findtext("jinja") == expected
    assert [r.text or "" for r in root.findall("row")] == [expected, expected]
    # CDATA cannot hold a character reference: its carriage returns are line ends to every parser
    assert (root.findtext("cdata") or "") == expected.replace("\r\n", "\n").replace("\r", "\n")


@FAST
@given(huge_ints | floats | st.booleans() | st.none())
def test_xml_template_round_trips_any_scalar(value: object) -> None:
    out = render_template("<v a='$$Order.Value$$'>{{ Order.Value }}</v>", MimeType.XML, _data(value))
    root = ET.fromstring(out.encode("utf-8"))
    assert (root.text or "") == to_text(value) == root.get("a")
    if isinstance(value, int | float) and not isinstance(value, bool):
        assert (int if isinstance(value, int) else float)(root.text or "") == value


# --------------------------------------------------------------------------- conditions

dates = st.sampled_from(["2026-12-03", "2026-12-03T10:00:00Z", "2026-02-30", "today", "", "  "]) | st.dates(
    min_value=date(1, 1, 1)
).map(date.isoformat)
rule_values = small_json | dates | st.lists(small_json | dates, min_size=2, max_size=2)
field_values = small_json | dates | st.just(float("nan")) | st.just(float("inf"))


@st.composite
def conditions(draw: st.DrawFn) -> dict:
    rules = []
    for _ in range(draw(st.integers(1, 3))):
        operator = draw(st.sampled_from(OPERATORS))
        rule: dict = {
            "field": draw(st.sampled_from(["Order.Value", "Order.Missing", "Order"])),
            "operator": operator,
        }
        if draw(st.booleans()):
            rule["value"] = draw(rule_values)
        rules.append(rule)
    return {"match": draw(st.sampled_from(["all", "any"])), "rules": rules}


@FAST
@given(conditions(), field_values)
def test_a_valid_condition_never_raises_on_any_value(condition: dict, value: object) -> None:
    try:
        validate_condition(condition)
    except ValueError:
        return  # refused when it is saved, in words: never evaluated
    assert condition_matches(condition, {"Order": {"Value": value}}, today=date(2026, 12, 3)) in (True, False)


# --------------------------------------------------------------------------- event bodies

#: What the listener answers 400 for (engine/listener.py); anything else would be a 500.
INPUT_ERRORS = (json.JSONDecodeError, UnicodeDecodeError, RecursionError)
ANSWERS = {202, 400, 413, 422}


@FAST
@given(st.binary(max_size=200) | hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_decode_or_raise_only_an_input_error(raw: bytes) -> None:
    try:
        decoded = strict_json.loads(raw)
    except INPUT_ERRORS:
        return
    assert parse_body(decoded.value, suspicious=decoded.suspicious).status in ANSWERS


event_names = (
    st.sampled_from([e.system_name for e in CATALOGUE] + ["Order Changed", "ordercreated"]) | hostile_text
)
events = st.fixed_dictionaries(
    {},
    optional={
        "event": event_names | small_json,
        "id": small_json,
        "shopId": small_json,
        "occurredAt": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat) | small_json,
        "data": st.dictionaries(st.sampled_from(["Order", "Customer", "Id", "Email"]), small_json, max_size=3)
        | small_json,
        "entityData": small_json,
    },
)


@FAST
@given(events | st.lists(events, max_size=3) | small_json)
def test_any_decoded_body_gets_an_answer(body: object) -> None:
    text = json.dumps(body, ensure_ascii=False)
    decoded = strict_json.loads(text.encode("utf-8"))
    outcome = parse_body(decoded.value, suspicious=decoded.suspicious, now=datetime(2026, 12, 3, tzinfo=UTC))
    assert outcome.status in ANSWERS
    assert all(p.message for p in outcome.problems)
    if outcome.status == 202:
        json.dumps([e.data for e in outcome.events], allow_nan=False)  # storable as strict JSON
