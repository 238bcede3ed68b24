"""RenderError carries where a template failed as real fields, through pickle and copy too."""

from __future__ import annotations

import copy
import pickle

import pytest

from shopctrl_desktop.domain import payload
from shopctrl_desktop.domain.model import MimeType
from shopctrl_desktop.domain.templates import RenderError
from shopctrl_desktop.domain.templates.render import render_template


def test_fields_are_constructor_arguments() -> None:
    err = RenderError("bad", lineno=3, column=7, where="output")
    assert (str(err), err.lineno, err.column, err.where) == ("bad", 3, 7, "output")
    plain = RenderError("bad")
    assert (plain.lineno, plain.column, plain.where) == (None, None, "template")
    assert isinstance(err, ValueError)


@pytest.mark.parametrize("clone", [copy.copy, copy.deepcopy, lambda e: pickle.loads(pickle.dumps(e))])
def test_fields_survive_copy_and_pickle(clone) -> None:
    err = clone(RenderError("bad", lineno=3, column=7, where="output"))
    assert (type(err), str(err), err.lineno, err.column, err.where) == (RenderError, "bad", 3, 7, "output")


def test_a_render_failure_fills_the_fields() -> None:
    with pytest.raises(RenderError) as info:
        render_template('{"total": {{ Order.Total }}}', MimeType.JSON, {"Order": {}})
    assert (info.value.where, info.value.lineno, info.value.column) == ("output", 1, 11)


def test_payload_raises_the_templates_error() -> None:
    """One RenderError: the one domain.payload raises is the one of domain.templates (no second class)."""
    assert payload.RenderError is RenderError


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_json_payload_with_nan_or_infinity_is_refused_not_sent(literal) -> None:
    """Strict receivers refuse NaN/Infinity (RFC 8259 has no such numbers): the rendered output is checked
    strictly, also after the trailing-comma repair."""
    for body in ('{"total": ' + literal + "}", '{"total": ' + literal + ",}"):
        with pytest.raises(RenderError) as info:
            render_template(body, MimeType.JSON, {})
        assert literal.lstrip("-") in str(info.value) and info.value.where == "output"
    assert render_template('{"total": {{ x|json }}}', MimeType.JSON, {"x": float("nan")}) == '{"total": null}'


def _ranges(depth: int) -> str:
    opens = "".join(f"<!-- RangeStart:Rows{n} -->\n" for n in range(depth))
    return "rows:\n" + opens + "x\n" + "".join(f"<!-- RangeEnd:Rows{n} -->\n" for n in reversed(range(depth)))


@pytest.mark.parametrize("depth", [21, 200])
def test_deep_rangestart_nesting_is_refused_in_the_templates_own_terms(depth) -> None:
    """Python compiles at most 20 nested loops; past that the message names the RangeStart and its line, not
    a line of generated code, and 200 levels are refused before any compiling (it took 30 s)."""
    with pytest.raises(RenderError) as info:
        render_template(_ranges(depth), MimeType.TEXT, {})
    message = str(info.value)
    assert "more than 20 nested RangeStart blocks" in message and "RangeStart:Rows20" in message
    assert info.value.lineno == 22  # "rows:" is line 1, Rows0 line 2, … Rows20 line 22
    assert "opens on line 2" in message


def test_twenty_nested_ranges_still_render() -> None:
    assert render_template(_ranges(20), MimeType.TEXT, {}).strip() == "rows:"


def test_deep_jinja_loops_are_refused_with_the_line() -> None:
    body = "\n".join("{% for a in x %}" for _ in range(25)) + "".join("{% endfor %}" for _ in range(25))
    with pytest.raises(RenderError) as info:
        render_template(body, MimeType.TEXT, {"x": [1]})
    assert "more than 20 nested loops" in str(info.value) and info.value.lineno == 21
