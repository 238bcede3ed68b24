"""Whatever the shop's data contains, a JSON payload parses and an XML payload is well formed, and the values
round-trip (XML: everything XML 1.0 can represent; the rest becomes U+FFFD)."""

from __future__ import annotations

import json
import xml.dom.minidom
import xml.etree.ElementTree as ET

import pytest

from shopctrl_desktop.domain.model import MimeType
from shopctrl_desktop.domain.templates import RenderError
from shopctrl_desktop.domain.templates.render import render_template

ADVERSARIAL = [
    'say "hello"',
    "it's",
    "back\\slash \\n \\u0041",
    "line1\nline2\n",
    "tab\there",
    "crlf\r\nand lone cr\r",
    "<tag attr='x'>",
    "a & b &amp; &#x41;",
    "]]>",
    "x]]>y]]]]>z",
    "nul\x00byte",
    "controls \x01\x02\x07\x08\x0b\x0c\x0e\x1b\x1f\x7f\x80\x9f",
    "emoji 😀 and 𝄞 (non-BMP), ÿ € ß 中文 עברית",
    "line separators \u2028 \u2029",
    "bom \ufeff and nonchars \ufffe \uffff",
    "lone surrogate \ud800 and \udfff",
    "{{ 7 * 7 }} {% if true %}x{% endif %} $$Order.OrderCode$$ <!-- RangeStart:OrderRow -->",
    "",
    " leading and trailing spaces ",
    "</o><o>",
    "--> <!-- comment",
]

JSON_TEMPLATE = (
    '{"shopctrl": "$$Order.Value$$", "jinja": "{{ Order.Value }}", "literal": {{ Order.Value | json }},\n'
    ' "rows": [<!-- RangeStart:OrderRow -->"$$OrderRow.Value$$",<!-- RangeEnd:OrderRow -->null]}'
)
XML_TEMPLATE = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    "<order attr=\"$$Order.Value$$\" single='{{ Order.Value }}'>"
    "<text>$$Order.Value$$</text><jinja>{{ Order.Value }}</jinja>"
    "<cdata><![CDATA[$$Order.Value$$]]></cdata>"
    "<!-- RangeStart:OrderRow --><row>$$OrderRow.Value$$</row><!-- RangeEnd:OrderRow --></order>"
)


def _data(value: str) -> dict:
    return {"Order": {"Value": value, "OrderRow": [{"Value": value}, {"Value": value}]}}


def xml_representable(text: str) -> str:
    """What XML 1.0 can carry of ``text``: characters outside its Char production become U+FFFD."""

    def ok(ch: str) -> bool:
        c = ord(ch)
        return (
            c in (0x9, 0xA, 0xD) or 0x20 <= c <= 0xD7FF or 0xE000 <= c <= 0xFFFD or 0x10000 <= c <= 0x10FFFF
        )

    return "".join(ch if ok(ch) else "\ufffd" for ch in text)


@pytest.mark.parametrize("value", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_json_round_trips_every_value(value):
    out = render_template(JSON_TEMPLATE, MimeType.JSON, _data(value))
    parsed = json.loads(out)
    assert parsed["shopctrl"] == value
    assert parsed["jinja"] == value
    assert parsed["literal"] == value
    assert parsed["rows"] == [value, value, None]
    out.encode("utf-8")  # always sendable, even with a lone surrogate in the data


@pytest.mark.parametrize("value", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_xml_is_well_formed_and_round_trips(value):
    out = render_template(XML_TEMPLATE, MimeType.XML, _data(value))
    expected = xml_representable(value)
    root = ET.fromstring(out.encode("utf-8"))
    assert root.get("attr") == expected  # tabs/newlines survive attribute-value normalisation
    assert root.get("single") == expected
    assert root.findtext("text") == expected
    assert root.findtext("jinja") == expected
    assert [r.text or "" for r in root.findall("row")] == [expected, expected]
    # CDATA: carriage returns are line-end normalised by every parser, so compare after that
    assert (root.findtext("cdata") or "") == expected.replace("\r\n", "\n").replace("\r", "\n")
    dom = xml.dom.minidom.parseString(out.encode("utf-8"))  # a second parser agrees
    assert dom.documentElement.getAttribute("attr") == expected


def test_xml_replaces_nul_and_controls_with_replacement_character():
    out = render_template("<v>$$Order.Value$$</v>", MimeType.XML, _data("a\x00b\x01c\x1fd"))
    assert ET.fromstring(out).text == "a\ufffdb\ufffdc\ufffdd"


def test_json_keeps_nul_and_controls():
    out = render_template('{"v": "$$Order.Value$$"}', MimeType.JSON, _data("a\x00b\x01c"))
    assert json.loads(out)["v"] == "a\x00b\x01c"
    assert "\\u0000" in out


def test_text_plain_inserts_as_is():
    value = 'a "b" <c> & \\ \n\t\x00 😀'
    out = render_template("v=$$Order.Value$$|{{ Order.Value }}", MimeType.TEXT, _data(value))
    assert out == f"v={value}|{value}"


def test_text_plain_replaces_lone_surrogates_so_it_can_be_sent():
    out = render_template("$$Order.Value$$", MimeType.TEXT, _data("x\ud800y"))
    assert out == "x\ufffdy"
    out.encode("utf-8")


@pytest.mark.parametrize("mime", [MimeType.JSON, MimeType.XML])
def test_one_megabyte_strings(mime):
    value = ('"<&>]]>\\\n\t\x00😀' * 40_000)[:1_000_000]
    template = JSON_TEMPLATE if mime is MimeType.JSON else XML_TEMPLATE
    out = render_template(template, mime, _data(value))
    if mime is MimeType.JSON:
        assert json.loads(out)["literal"] == value
    else:
        assert ET.fromstring(out.encode("utf-8")).findtext("text") == xml_representable(value)


def test_json_filter_emits_full_literals():
    data = {
        "Order": {
            "Total": 12.5,
            "Count": 3,
            "Paid": True,
            "Note": None,
            "Name": 'x"y',
            "Rows": [1, {"a": None}],
        }
    }
    out = render_template(
        '{"t": {{ Order.Total | json }}, "c": {{ Order.Count|json }}, "p": {{ Order.Paid | json }},'
        ' "n": {{ Order.Note | json }}, "m": {{ Order.Missing | json }}, "s": {{ Order.Name | json }},'
        ' "r": {{ Order.Rows | json }}, "o": {{ Order | tojson }}}',
        MimeType.JSON,
        data,
    )
    assert out.startswith('{"t": 12.5, "c": 3, "p": true, "n": null, "m": null, "s": "x\\"y"')
    parsed = json.loads(out)
    assert parsed["r"] == [1, {"a": None}]
    assert parsed["o"] == data["Order"]


def test_json_filter_in_xml_is_escaped_for_xml():
    out = render_template("<v>{{ Order.Name | json }}</v>", MimeType.XML, {"Order": {"Name": "<b>"}})
    assert ET.fromstring(out).text == '"<b>"'


def test_values_that_would_break_structure_are_caught_with_position():
    with pytest.raises(RenderError) as info:
        render_template('{"a": $$Order.Name$$}', MimeType.JSON, {"Order": {"Name": "x"}})
    err = info.value
    assert "not valid JSON" in str(err) and "line 1, column 7" in str(err)
    assert (err.lineno, err.column, err.where) == (1, 7, "output")


def test_broken_xml_template_reports_line_and_column():
    with pytest.raises(RenderError) as info:
        render_template("<a>\n  <b>$$Order.Name$$</c>\n</a>", MimeType.XML, {"Order": {"Name": "x"}})
    assert "not well-formed XML" in str(info.value)
    assert "mismatched tag" in str(info.value)
    assert info.value.lineno == 2


def test_safe_filter_bypasses_escaping_and_is_still_checked():
    out = render_template("<a>{{ Order.Xml | safe }}</a>", MimeType.XML, {"Order": {"Xml": "<b>1</b>"}})
    assert ET.fromstring(out).find("b").text == "1"
    with pytest.raises(RenderError, match="not well-formed"):
        render_template("<a>{{ Order.Xml | safe }}</a>", MimeType.XML, {"Order": {"Xml": "<b>"}})


def test_numbers_and_booleans_in_json_positions():
    data = {"Order": {"Total": 12.5, "Qty": 3, "Paid": False, "Big": 1e20, "Small": 1e-7}}
    out = render_template(
        '{"t": $$Order.Total$$, "q": $$Order.Qty$$, "p": $$Order.Paid$$, "b": {{ Order.Big }}, "s": {{ Order.Small }}}',
        MimeType.JSON,
        data,
    )
    assert json.loads(out) == {"t": 12.5, "q": 3, "p": False, "b": 1e20, "s": 1e-7}


def test_every_code_point_round_trips():
    """All of Unicode, lone surrogates included: JSON keeps every one; XML keeps every one XML 1.0 allows.
    (A high surrogate directly followed by a low one would be read back as one pair, as JSON defines
    ``\\ud83d\\ude00``; data parsed from JSON never holds such a sequence, so they are kept apart here.)"""
    value = "".join(chr(c) + ("." if 0xD800 <= c < 0xE000 else "") for c in range(0x110000))
    out = render_template(
        '{"v": "$$Order.Value$$", "j": {{ Order.Value | json }}}', MimeType.JSON, _data(value)
    )
    parsed = json.loads(out)
    assert parsed["v"] == value
    assert parsed["j"] == value
    out = render_template('<o a="$$Order.Value$$">{{ Order.Value }}</o>', MimeType.XML, _data(value))
    root = ET.fromstring(out.encode("utf-8"))
    expected = xml_representable(value)
    assert root.text == expected
    assert root.get("a") == expected
    assert (
        expected.count("\ufffd") == 29 + 2048 + 2 + 1
    )  # C0 controls but tab/LF/CR, surrogates, U+FFFE/F, U+FFFD itself
