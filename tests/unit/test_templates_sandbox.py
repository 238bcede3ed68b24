"""Sandbox escapes fail safely with a clear message; render time and output size are bounded and a failing
render leaves the caller (and other threads) unaffected; validation for the editor; the compile cache."""

from __future__ import annotations

import json
import math
import threading
import time

import pytest

from shopctrl_desktop.domain.model import MimeType
from shopctrl_desktop.domain.templates import RenderError
from shopctrl_desktop.domain.templates import env as template_env
from shopctrl_desktop.domain.templates import render as templates
from shopctrl_desktop.domain.templates.render import render_template, validate_template

DATA = {"Order": {"OrderCode": "ORD-1", "OrderRow": [{"ProductCode": "A"}] * 3}}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("{{ ''.__class__.__mro__ }}", "'__class__' of a str"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "'__class__' of a str"),
        ("{{ cycler.__init__.__globals__ }}", "'__init__'"),
        ("{{ joiner.__init__.__globals__.os }}", "'__init__'"),
        ("{{ namespace.__init__ }}", "'__init__'"),
        ("{{ self.__dict__ }}", "'__dict__' of a TemplateReference"),
        ("{{ Order.__class__ }}", "'__class__' of a dict"),
        ("{{ '{0.__class__}'.format('') }}", "__class__"),
        ("{% set _ = Order.update({'x': 1}) %}", "update"),
        ("{% set _ = Order.OrderRow.append(1) %}", "append"),
        ("{{ Order.OrderRow.pop() }}", "pop"),
    ],
)
def test_sandbox_escapes_fail_with_a_clear_message(body, fragment):
    with pytest.raises(RenderError) as info:
        render_template(body, MimeType.TEXT, DATA)
    message = str(info.value)
    assert fragment in message
    assert "line 1" in message
    assert DATA["Order"].keys() == {"OrderCode", "OrderRow"} and len(DATA["Order"]["OrderRow"]) == 3


@pytest.mark.parametrize(
    "body", ["{{ Order.OrderCode.upper.__globals__ }}", "{{ range.__self__ }}", "{{ lipsum.__globals__ }}"]
)
def test_internals_that_do_not_exist_render_nothing(body):
    assert render_template(body, MimeType.TEXT, DATA) == ""


@pytest.mark.parametrize(
    "body", ["{% include '/etc/passwd' %}", "{% import 'os' as os %}", "{% extends 'base.xml' %}"]
)
def test_no_file_access(body):
    with pytest.raises(RenderError, match="the template failed on line 1"):
        render_template(body, MimeType.TEXT, DATA)


def test_lipsum_is_not_available():
    assert render_template("[{{ lipsum }}]", MimeType.TEXT, {}) == "[]"


def test_unknown_names_render_empty():
    assert render_template("[{{ config }}{{ request.args }}{{ os.system }}]", MimeType.TEXT, {}) == "[]"


@pytest.fixture
def short_time_limit(monkeypatch):
    monkeypatch.setattr(template_env, "MAX_RENDER_SECONDS", 0.3)


@pytest.mark.parametrize(
    "body",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{% for c in 'x' * 1000000 %}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
        "{% for a in Order.OrderRow %}{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{% endfor %}",
    ],
)
def test_runaway_template_stops_in_time(short_time_limit, body):
    start = time.monotonic()
    with pytest.raises(RenderError, match=r"took longer than 0.3 s to render \(a runaway loop\?\)"):
        render_template(body, MimeType.TEXT, DATA)
    assert time.monotonic() - start < 3
    assert template_env._deadline() == math.inf  # nothing left behind for the next render
    assert render_template("$$Order.OrderCode$$", MimeType.TEXT, DATA) == "ORD-1"


@pytest.mark.parametrize(
    "body",
    [
        "{{ 'x' * 100000000 }}",
        "{{ 100000000 * 'x' }}",
        "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
        "{% for i in range(100000) %}" + "x" * 1000 + "{% endfor %}",
        "{{ ('x' * 10000000) | replace('x', 'yyyyyyyyyy') }}",
        "{{ ('x' * 10000000).replace('x', 'yyyyyyyyyy') }}",
    ],
)
def test_huge_output_fails_with_a_clear_message(body):
    with pytest.raises(RenderError, match="the rendered payload is larger than 10 MB"):
        render_template(body, MimeType.TEXT, {})
    assert render_template("ok", MimeType.TEXT, {}) == "ok"


@pytest.mark.parametrize(
    "body",
    [
        "{{ 'x'.ljust(1000000000) }}",
        "{{ 'x' | center(1000000000) }}",
        "{{ 'x' | indent(1000000000) }}",
        "{{ '%1000000000d' % 1 }}",
        "{{ '%1000000000d' | format(1) }}",
        "{{ '{:>1000000000}'.format(1) }}",
        "{{ 9 ** 99999999 }}",
        "{{ range(10) | slice(1000000000) | list }}",
    ],
)
def test_memory_bombs_are_refused(body):
    with pytest.raises(RenderError, match="too large"):
        render_template(body, MimeType.TEXT, {})


def test_a_runaway_in_one_thread_does_not_affect_another(short_time_limit):
    results: dict[str, object] = {}

    def runaway() -> None:
        try:
            render_template(
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                MimeType.TEXT,
                {},
            )
        except RenderError as exc:
            results["runaway"] = str(exc)

    def normal() -> None:
        outs = [
            render_template(
                "{% for r in Order.OrderRow %}{{ r.ProductCode }}{% endfor %}", MimeType.TEXT, DATA
            )
            for _ in range(200)
        ]
        results["normal"] = set(outs)

    threads = [threading.Thread(target=runaway), threading.Thread(target=normal)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert "took longer" in str(results["runaway"])
    assert results["normal"] == {"AAA"}


def test_missing_value_in_arithmetic_names_the_line():
    with pytest.raises(RenderError) as info:
        render_template("ok\n{{ Order.Missing + 1 }}", MimeType.TEXT, DATA)
    assert info.value.lineno == 2
    assert "line 2" in str(info.value)


# --------------------------------------------------------------------------- validation and cache


def test_validate_template_syntax_without_data():
    validate_template('{"code": "$$Order.OrderCode$$"}', MimeType.JSON)
    validate_template("{% for r in Order.OrderRow %}{{ r.X }}{% endfor %}", MimeType.JSON)  # no data needed
    with pytest.raises(RenderError) as info:
        validate_template('{\n  "a": "{{ Order.OrderCode }",\n}', MimeType.JSON)
    assert info.value.lineno == 2
    with pytest.raises(RenderError) as info:
        validate_template("<a>\n<!-- RangeStart:OrderRow -->\n</a>", MimeType.XML)
    assert info.value.lineno == 2 and "never closed" in str(info.value)


def test_validate_template_with_sample_data_checks_the_output():
    validate_template('{"code": "$$Order.OrderCode$$"}', MimeType.JSON, DATA)
    with pytest.raises(RenderError) as info:
        validate_template('{"code": "$$Order.OrderCode$$" "x"}', MimeType.JSON, DATA)
    assert info.value.where == "output" and "not valid JSON" in str(info.value)
    with pytest.raises(RenderError, match="not well-formed XML"):
        validate_template("<a><b></a>", MimeType.XML, DATA)


def test_compiled_templates_are_cached_per_body_and_mime():
    templates.clear_cache()
    body = '{"c": "$$Order.OrderCode$$"}'
    first = templates.compile_template(body, MimeType.JSON)
    assert templates.compile_template(body, MimeType.JSON) is first
    assert templates.compile_template(body, MimeType.XML) is not first
    assert templates.cache_info().hits >= 1
    assert json.loads(render_template(body, MimeType.JSON, DATA)) == {"c": "ORD-1"}


def test_data_key_and_extra_precedence():
    out = render_template(
        "{{ Trigger }} {{ data.Order.OrderCode }} {{ _sc_root.Order.OrderCode }}",
        MimeType.TEXT,
        {"Trigger": "x", **DATA},
        extra={"Trigger": "OrderChanged"},
    )
    assert out == "OrderChanged ORD-1 ORD-1"


def test_validate_template_flags_a_non_utf8_xml_declaration():
    validate_template('<?xml version="1.0" encoding="utf-8"?><a/>', MimeType.XML)
    with pytest.raises(RenderError, match='declare encoding="utf-8"'):
        validate_template('<?xml version="1.0" encoding="ISO-8859-1"?>\n<a/>', MimeType.XML)
