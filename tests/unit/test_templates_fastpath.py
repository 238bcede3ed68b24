"""The closure-tree renderer (template_fast) gives exactly what the Jinja template gives, takes the common
template shapes, leaves the rest to Jinja, and enforces the same bounds."""

from __future__ import annotations

import itertools

import pytest

from shopctrl_desktop.domain.model import MimeType
from shopctrl_desktop.domain.templates import RenderError
from shopctrl_desktop.domain.templates import env as template_env
from shopctrl_desktop.domain.templates import render as templates
from tests.unit.test_templates_escaping import ADVERSARIAL
from tests.unit.test_templates_shopctrl import order_event

FAST_BODIES = [
    "$$Order.OrderCode$$ $$order.ORDERCODE$$ $$Order.Missing$$ $$Nope.Nope$$",
    "$$Order.Date#yyyy-MM-dd$$|$$Order.OrderTotalExVat#€#,###.00$$|$$Order.Id#D8$$|$$Order.Comment#0.00$$",
    "<!-- RangeStart:OrderRow -->$$OrderRow.ProductCode$$ $$Order.OrderCode$$;<!-- RangeEnd:OrderRow -->",
    "<!-- RangeStart:OrderShipment -->[<!-- RangeStart:Parcel -->$$Parcel.TrackingCode$$,<!-- RangeEnd:Parcel -->]<!-- RangeEnd:OrderShipment -->",
    "<!-- RangeStart:Order.OrderRow -->$$OrderRow.Id$$<!-- RangeEnd:Order.OrderRow -->",
    "<!-- RangeStart:$$Order.CustomerReference$$ -->ref<!-- RangeEnd:$$Order.CustomerReference$$ -->",
    "<!-- RangeStart:$$Order.MainStatus$$='processing' -->p<!-- RangeEnd:$$Order.MainStatus$$ -->",
    "<!-- RangeStart:$$Order.Comment$$='null' -->null<!-- RangeEnd:$$Order.Comment$$ -->",
    "<!-- RangeStart:$$Order.Comment$$!='' -->set<!-- RangeEnd:$$Order.Comment$$ -->",
    "{{ Order.OrderCode }} {{ Order | json }} {{ Order.OrderRow | tojson }} {{ Order.Missing | json }}",
    "{{ Order['OrderCode'] }} {{ _sc_root.Order.Id }} {{ data.Order.Id }} {{ Trigger }} {{ trigger }}",
    "{% for r in Order.OrderRow %}{{ r.ProductCode | lower }}{% if r.ItemQuantity %}x{% elif r.Id %}y{% else %}z{% endif %}{% endfor %}",
    "{% if not Order.Comment %}no comment{% endif %}{% for x in Order.Nope %}never{% endfor %}",
    "{{ Order.OrderCode | replace('-', '/') }} {{ Order.OrderRow | length }} {{ Order.Customer.Email | upper }}",
    "{{ Order.Customer }}{{ Order.OrderRow }}{{ Order.IsPaid }}{{ Order.TotalDue }}{{ Order.ShippingCost }}",
    "{{ Order.items }}{{ Order.OrderCode.upper }}",
]
JINJA_ONLY = [
    "{% for r in Order.OrderRow %}{{ loop.index }}{% endfor %}",
    "{% set x = Order.OrderCode %}{{ x }}",
    "{{ Order.Id + 1 }}",
    "{{ range(3) | list }}",
    "{% macro m() %}x{% endmacro %}{{ m() }}",
    "{{ Order.OrderCode.upper() }}",
    "{{ self.__dict__ }}",
    "{% for a, b in Order.items() %}{{ a }}{% endfor %}",
    "{{ Order.OrderCode if Order.Id else 'x' }}",
]


def _datasets() -> list[dict]:
    base = order_event()
    sets = [
        base,
        {},
        {"Order": None},
        {"Order": {"OrderRow": None, "OrderShipment": {"Parcel": {"TrackingCode": "X"}}}},
    ]
    for value in ADVERSARIAL[:8]:
        d = order_event()
        d["Order"]["OrderCode"] = value
        d["Order"]["OrderRow"][0]["ProductCode"] = value
        d["Order"]["CustomerReference"] = value
        sets.append(d)
    odd = order_event()
    odd["Order"].update(
        {"Id": "1001", "OrderTotalExVat": "1234.5", "Date": "not a date", "MainStatus": 0, "Comment": ""}
    )
    sets.append(odd)
    sets.append({"order": {"ordercode": "lower-case keys"}, "ORDERROW": [{"productcode": "p"}]})
    return sets


EXTRA = {"Trigger": "OrderChanged", "TriggerActionId": 4, "entityData": {"OrderId": 1001}}


@pytest.mark.parametrize(("body", "mime"), list(itertools.product(FAST_BODIES, list(MimeType))))
def test_fast_renderer_matches_jinja(body, mime):
    template = templates.compile_template(body, mime)
    fast = template._sc_fast
    assert fast is not None, "this shape should take the fast path"
    for data in _datasets():
        variables = templates._context_vars(data, EXTRA)
        try:
            expected = templates._render(template, variables, 2.0, 10**7)
        except RenderError:
            expected = None  # the fast renderer gives up and Jinja reports the error
        assert templates._render_fast(fast, variables, 2.0, 10**7) == expected, data


@pytest.mark.parametrize("body", JINJA_ONLY)
def test_other_shapes_are_left_to_jinja(body):
    assert templates.compile_template(body, MimeType.TEXT)._sc_fast is None


@pytest.mark.parametrize(
    "body",
    [
        "{{ Order.__class__ }}",
        "{{ Order.OrderCode.__class__ }}",
        "{% for r in Order.OrderRow %}{{ r.__class__ }}{% endfor %}",
        "{{ Order.Id | _sc_cdata | int }}x{{ Order.Nope.Deeper.__class__ }}",
    ],
)
def test_errors_are_reported_like_jinja(monkeypatch, body):
    data = order_event()
    messages = []
    for fast in (True, False):
        monkeypatch.setattr(templates, "FAST_PATH", fast)
        templates.clear_cache()
        with pytest.raises(RenderError) as info:
            templates.render_template(body, MimeType.TEXT, data)
        messages.append((str(info.value), info.value.lineno))
    templates.clear_cache()
    assert messages[0] == messages[1]
    assert "sandbox" in messages[0][0]


def test_fast_path_runaway_loop_stops(monkeypatch):
    monkeypatch.setattr(template_env, "MAX_RENDER_SECONDS", 0.3)
    rows = [{"Id": i} for i in range(3000)]
    body = "{% for a in Rows %}{% for b in Rows %}{% for c in Rows %}{% endfor %}{% endfor %}{% endfor %}"
    assert templates.compile_template(body, MimeType.TEXT)._sc_fast is not None
    with pytest.raises(RenderError, match=r"took longer than 0.3 s .* on line 1"):
        templates.render_template(body, MimeType.TEXT, {"Rows": rows})


def test_fast_path_output_size_is_bounded(monkeypatch):
    monkeypatch.setattr(template_env, "MAX_OUTPUT_CHARS", 100_000)
    body = "<!-- RangeStart:Rows -->$$Rows.Text$$<!-- RangeEnd:Rows -->"
    assert templates.compile_template(body, MimeType.TEXT)._sc_fast is not None
    rows = [{"Text": "x" * 100}] * 5000
    with pytest.raises(RenderError, match="larger than"):
        templates.render_template(body, MimeType.TEXT, {"Rows": rows})
    assert len(templates.render_template(body, MimeType.TEXT, {"Rows": rows[:900]})) == 90_000


FRAGMENTS = [
    "$$Order.OrderCode$$",
    "$$Order.Total#0.00$$",
    "$$Order.Date#yyyy-MM-dd$$",
    "$$OrderRow.Sku$$",
    "$$x$$",
    "$$$$",
    "<!-- RangeStart:OrderRow -->",
    "<!-- RangeEnd:OrderRow -->",
    "<!-- RangeStart:$$Order.Ref$$ -->",
    "<!-- RangeEnd:$$Order.Ref$$ -->",
    "<!-- RangeStart:$$Order.Ref$$='a' -->",
    "{{ Order.OrderCode }}",
    "{{ Order | json }}",
    "{{",
    "}}",
    "{% for r in Order.OrderRow %}",
    "{% endfor %}",
    "{% if Order.Ref %}",
    "{% endif %}",
    '{"a": ',
    '"',
    "}",
    ",",
    "<a>",
    "</a>",
    "<![CDATA[",
    "]]>",
    "&",
    "\n",
    "x",
    "{{ Order.Total * 2 }}",
    "{{ Order.Nope.x.y | json }}",
    "{{ r.Sku | upper }}",
    "{# c #}",
    "{{ loop.index }}",
    "\x00",
    "😀",
]


@pytest.mark.parametrize("seed", range(3))
def test_random_templates_never_escape_render_error_and_both_renderers_agree(seed):
    import json
    import random

    rng = random.Random(seed)
    for _ in range(400):
        body = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 12)))
        data = {
            "Order": {
                "OrderCode": rng.choice(['A"<&>\n', None, 5, ""]),
                "Total": rng.choice([1.5, "x", None]),
                "Date": rng.choice(["2026-01-01", "no", None]),
                "Ref": rng.choice(["a", "", None, 0]),
                "OrderRow": rng.choice([[{"Sku": "s1"}, {"Sku": None}], None, {}, [], "str"]),
            }
        }
        for mime in MimeType:
            try:
                out = templates.render_template(body, mime, data)
            except RenderError:
                continue
            if mime is MimeType.JSON:
                json.loads(out)
            template = templates.compile_template(body, mime)
            if template._sc_fast is not None:
                variables = templates._context_vars(data, None)
                assert templates._render_fast(template._sc_fast, variables, 2.0, 10**7) == templates._render(
                    template, variables, 2.0, 10**7
                ), body
