"""ShopCtrl's own payload syntax renders as ShopCtrl describes it: merge fields, formats, loops, nested loops,
conditions; plus Jinja2 in the same body, case-insensitive lookups and missing fields."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from shopctrl_desktop.domain.model import MimeType
from shopctrl_desktop.domain.templates import RenderError
from shopctrl_desktop.domain.templates.render import render_template
from shopctrl_desktop.domain.templates.shopctrl_syntax import translate


def order_event() -> dict:
    """A realistic ShopCtrl 'Order changed' data snapshot."""
    return {
        "Order": {
            "Id": 1001,
            "OrderCode": "ORD-1001",
            "Date": "2026-11-28T14:05:09+01:00",
            "PreferredDeliveryDate": "2026-12-03",
            "CustomerReference": "PO-4711",
            "OrderTotalExVat": 1234.5,
            "OrderTotalIncVat": 1493.745,
            "TotalDue": 1493.75,
            "ShippingCost": 0,
            "MainStatus": "Processing",
            "PaymentStatus": "Paid",
            "IsPaid": True,
            "Comment": None,
            "Customer": {"Id": 77, "Email": "anna@example.com", "FirstName": "Anna", "LastName": "de Vries"},
            "OrderShipTo": {
                "Street": "Kerkstraat",
                "HouseNumber": "12a",
                "City": "Utrecht",
                "CountryCode": "NL",
            },
            "OrderRow": [
                {
                    "Id": 1,
                    "ProductCode": "SKU-100",
                    "ProductName": "Coffee mug",
                    "ItemQuantity": 2,
                    "PriceIncVat": 9.95,
                    "OrderRowOption": [
                        {"Name": "Colour", "Value": "Blue"},
                        {"Name": "Print", "Value": "Logo"},
                    ],
                },
                {
                    "Id": 2,
                    "ProductCode": "SKU-200",
                    "ProductName": "Teapot",
                    "ItemQuantity": 1,
                    "PriceIncVat": 1214.6,
                    "OrderRowOption": [],
                },
            ],
            "OrderShipment": [
                {
                    "OrderShipmentCode": "SHP-1",
                    "Parcel": [{"TrackingCode": "3SABC1"}, {"TrackingCode": "3SABC2"}],
                },
                {"OrderShipmentCode": "SHP-2", "Parcel": [{"TrackingCode": "3SXYZ9"}]},
            ],
        }
    }


def render(body: str, mime: MimeType = MimeType.TEXT, data: dict | None = None, **extra) -> str:
    return render_template(body, mime, order_event() if data is None else data, extra=extra or None)


# --------------------------------------------------------------------------- merge fields and formats


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("$$Order.OrderCode$$", "ORD-1001"),
        ("$$Order.Id$$", "1001"),
        ("$$Order.Customer.Email$$", "anna@example.com"),
        ("$$order.customer.EMAIL$$", "anna@example.com"),  # case-insensitive, as ShopCtrl
        ("$$Order.Date#yyyy-MM-dd$$", "2026-11-28"),
        ("$$Order.Date#dd-MM-yy HH:mm$$", "28-11-26 14:05"),
        ("$$Order.Date#MMMM d$$", "November 28"),
        ("$$Order.Date#dd/MM/yyyy HH:mm:ss$$", "28/11/2026 14:05:09"),
        ("$$Order.Date#yyyy-MM-ddTHH:mm:sszzz$$", "2026-11-28T14:05:09+01:00"),
        ("$$Order.Date#ddd d MMM yyyy h:mm tt$$", "Sat 28 Nov 2026 2:05 PM"),
        ("$$Order.PreferredDeliveryDate#dddd d MMMM$$", "Thursday 3 December"),
        ("$$Order.OrderTotalExVat#0.00$$", "1234.50"),
        ("$$Order.OrderTotalExVat#0.0000$$", "1234.5000"),
        ("$$Order.OrderTotalExVat##,###.00$$", "1,234.50"),
        ("$$Order.OrderTotalExVat#€#,###.00$$", "€1,234.50"),
        ("$$Order.OrderTotalExVat#€ #,##0.00$$", "€ 1,234.50"),
        ("$$Order.OrderTotalIncVat#0.00$$", "1493.75"),  # half away from zero
        ("$$Order.ShippingCost#0.00$$", "0.00"),
        ("$$Order.OrderTotalExVat#0$$", "1235"),
        ("$$Order.OrderTotalExVat#N2$$", "1,234.50"),
        ("$$Order.Id#D8$$", "00001001"),
        ("$$Order.IsPaid$$", "true"),
        ("$$Order.Comment$$", ""),
        ("$$Order.Missing$$", ""),
        ("$$Order.Missing.Deeper#0.00$$", ""),
        ("$$Nothing.At.All$$", ""),
        ("$$Order.OrderCode#0.00$$", "ORD-1001"),  # a format that does not fit leaves the value as is
    ],
)
def test_merge_fields_and_formats(field, expected):
    assert render(field) == expected


def test_jinja_and_shopctrl_side_by_side():
    out = render(
        "{{ Order.OrderCode }}/$$Order.OrderCode$$/{{ order.ordercode | lower }}/{{ Order.Date | netformat('yyyy') }}"
    )
    assert out == "ORD-1001/ORD-1001/ord-1001/2026"


def test_extra_names_are_available():
    out = render(
        "$$Trigger$$ {{ TriggerActionId }} {{ entityData.OrderId }}",
        Trigger="OrderChanged",
        TriggerActionId=5,
        entityData={"OrderId": 1001},
    )
    assert out == "OrderChanged 5 1001"


# --------------------------------------------------------------------------- loops


def test_loop_over_order_rows():
    body = "<!-- RangeStart:OrderRow -->$$OrderRow.ProductCode$$ x$$OrderRow.ItemQuantity$$ @ $$OrderRow.PriceIncVat#0.00$$;<!-- RangeEnd:OrderRow -->"
    assert render(body) == "SKU-100 x2 @ 9.95;SKU-200 x1 @ 1214.60;"


def test_loop_reads_parent_fields_inside():
    body = "<!-- RangeStart:OrderRow -->$$Order.OrderCode$$-$$OrderRow.Id$$ <!-- RangeEnd:OrderRow -->"
    assert render(body) == "ORD-1001-1 ORD-1001-2 "


def test_nested_loops():
    body = (
        "<!-- RangeStart:OrderShipment -->[$$OrderShipment.OrderShipmentCode$$:"
        "<!-- RangeStart:Parcel -->$$Parcel.TrackingCode$$,<!-- RangeEnd:Parcel -->]"
        "<!-- RangeEnd:OrderShipment -->"
    )
    assert render(body) == "[SHP-1:3SABC1,3SABC2,][SHP-2:3SXYZ9,]"


def test_nested_loop_with_row_options_and_empty_collection():
    body = (
        "<!-- RangeStart:OrderRow -->$$OrderRow.ProductCode$$("
        "<!-- RangeStart:OrderRowOption -->$$OrderRowOption.Name$$=$$OrderRowOption.Value$$ <!-- RangeEnd:OrderRowOption -->"
        ")<!-- RangeEnd:OrderRow -->"
    )
    assert render(body) == "SKU-100(Colour=Blue Print=Logo )SKU-200()"


def test_collection_at_the_top_of_data():
    data = {"InvoiceRow": [{"Code": "A"}, {"Code": "B"}]}
    assert (
        render("<!-- RangeStart:InvoiceRow -->$$InvoiceRow.Code$$<!-- RangeEnd:InvoiceRow -->", data=data)
        == "AB"
    )


def test_loop_names_are_case_insensitive_and_dotted_paths_work():
    body = "<!-- rangestart:orderrow -->$$ORDERROW.productcode$$ <!-- RangeEnd:OrderRow -->"
    assert render(body) == "SKU-100 SKU-200 "
    body = "<!-- RangeStart:Order.OrderRow -->$$OrderRow.Id$$<!-- RangeEnd:Order.OrderRow -->"
    assert render(body) == "12"


def test_missing_or_null_collection_renders_nothing():
    assert render("[<!-- RangeStart:Nope -->x<!-- RangeEnd:Nope -->]") == "[]"
    data = {"Order": {"OrderRow": None}}
    assert render("[<!-- RangeStart:OrderRow -->x<!-- RangeEnd:OrderRow -->]", data=data) == "[]"
    assert render("[{% for r in Order.Nope %}x{% endfor %}]") == "[]"


def test_jinja_loops_over_the_same_collection():
    assert (
        render("{% for OrderRow in Order.OrderRow %}{{ OrderRow.ProductCode }};{% endfor %}")
        == "SKU-100;SKU-200;"
    )


def test_json_order_payload_like_shopctrl_documents():
    body = """{
  "orderCode": "$$Order.OrderCode$$",
  "date": "$$Order.Date#yyyy-MM-dd$$",
  "totalExVat": $$Order.OrderTotalExVat#0.00$$,
  <!-- RangeStart:$$Order.CustomerReference$$ -->"reference": "$$Order.CustomerReference$$",
  <!-- RangeEnd:$$Order.CustomerReference$$ -->"rows": [
    <!-- RangeStart:OrderRow -->{"sku": "$$OrderRow.ProductCode$$", "qty": $$OrderRow.ItemQuantity$$},
    <!-- RangeEnd:OrderRow -->{}
  ]
}"""
    parsed = json.loads(render(body, MimeType.JSON))
    assert parsed == {
        "orderCode": "ORD-1001",
        "date": "2026-11-28",
        "totalExVat": 1234.50,
        "reference": "PO-4711",
        "rows": [{"sku": "SKU-100", "qty": 2}, {"sku": "SKU-200", "qty": 1}, {}],
    }
    data = order_event()
    data["Order"]["CustomerReference"] = ""
    assert "reference" not in json.loads(render(body, MimeType.JSON, data=data))


def test_xml_order_payload():
    body = """<?xml version="1.0" encoding="utf-8"?>
<Order code="$$Order.OrderCode$$">
  <Date>$$Order.Date#yyyy-MM-dd$$</Date>
  <Rows><!-- RangeStart:OrderRow -->
    <Row sku="$$OrderRow.ProductCode$$"><Name>$$OrderRow.ProductName$$</Name><Price>$$OrderRow.PriceIncVat#0.00$$</Price></Row><!-- RangeEnd:OrderRow -->
  </Rows>
  <!-- an ordinary XML comment stays -->
</Order>"""
    root = ET.fromstring(render(body, MimeType.XML).encode())
    assert root.get("code") == "ORD-1001"
    assert [r.get("sku") for r in root.iter("Row")] == ["SKU-100", "SKU-200"]
    assert [r.findtext("Price") for r in root.iter("Row")] == ["9.95", "1214.60"]


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("PO-4711", True),
        ("", False),
        ("   ", False),
        (None, False),
        (0, False),
        (0.0, False),
        (3, True),
        (False, False),
        (True, True),
        ([], False),
        ([1], True),
        ("0", True),
    ],
)
def test_condition_has_a_value(value, shown):
    data = {"Order": {"CustomerReference": value}}
    body = "<!-- RangeStart:$$Order.CustomerReference$$ -->yes<!-- RangeEnd:$$Order.CustomerReference$$ -->"
    assert render(body, data=data) == ("yes" if shown else "")


def test_condition_on_missing_field_is_false():
    body = "a<!-- RangeStart:$$Order.Nope$$ -->b<!-- RangeEnd:$$Order.Nope$$ -->c"
    assert render(body) == "ac"


@pytest.mark.parametrize(
    ("value", "test", "shown"),
    [
        ("Processing", "='Processing'", True),
        ("Processing", "='processing'", True),
        ("Processing", "='Shipped'", False),
        ("Processing", "!='Shipped'", True),
        (None, "='null'", True),
        ("x", "='null'", False),
        ("", "=''", True),
        (None, "=''", True),
        ("x", "=''", False),
        (5, "='5'", True),
        (5.0, "='5'", True),
        (5, "='5.00'", True),
        (True, "='true'", True),
        ("Processing", '="Processing"', True),
    ],
)
def test_condition_equals_text(value, test, shown):
    data = {"Order": {"MainStatus": value}}
    body = f"<!-- RangeStart:$$Order.MainStatus$${test} -->yes<!-- RangeEnd:$$Order.MainStatus$$ -->"
    assert render(body, data=data) == ("yes" if shown else "")


def test_condition_null_form_on_missing_field():
    body = "<!-- RangeStart:$$Order.Nope$$='null' -->yes<!-- RangeEnd:$$Order.Nope$$='null' -->"
    assert render(body) == "yes"


def test_conditions_inside_loops_read_the_row():
    body = (
        "<!-- RangeStart:OrderRow --><!-- RangeStart:$$OrderRow.OrderRowOption$$ -->$$OrderRow.ProductCode$$ has options;"
        "<!-- RangeEnd:$$OrderRow.OrderRowOption$$ --><!-- RangeEnd:OrderRow -->"
    )
    assert render(body) == "SKU-100 has options;"


def test_range_comments_spanning_lines_keep_line_numbers():
    body = "<!--\n RangeStart:OrderRow\n -->$$OrderRow.Id$$<!-- RangeEnd:OrderRow -->\n{{ Order.x( }}"
    assert translate(body).count("\n") == body.count("\n")
    with pytest.raises(RenderError) as info:
        render(body)
    assert info.value.lineno == 4


# --------------------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("a\nb\n<!-- RangeEnd:OrderRow -->", 3, "has no matching RangeStart"),
        ("a\n<!-- RangeStart:OrderRow -->\nx", 2, "is never closed"),
        (
            "<!-- RangeStart:OrderRow -->\n<!-- RangeStart:Parcel -->\n<!-- RangeEnd:OrderRow -->",
            3,
            "does not close '<!-- RangeStart:Parcel -->' opened on line 2",
        ),
        ("ok\n{{ Order.OrderCode }\nmore", 2, "template syntax error on line 2"),
        ("{% for r in rows %}\n\nx", 1, "needs to be closed is 'for'"),
        ("line\n$$Order..Code$$", 2, "empty part"),
    ],
)
def test_syntax_errors_name_the_line(body, line, fragment):
    with pytest.raises(RenderError) as info:
        render(body)
    assert fragment in str(info.value)
    assert info.value.lineno == line
    assert info.value.where == "template"


def test_dollar_signs_in_plain_text_are_left_alone():
    assert render("price $$ 5 and $$ 6") == "price $$ 5 and $$ 6"


def test_trailing_comma_after_the_last_loop_row_is_dropped():
    body = '{"rows": [\n<!-- RangeStart:OrderRow -->  {"sku": "$$OrderRow.ProductCode$$", "name": "$$OrderRow.ProductName$$"},\n<!-- RangeEnd:OrderRow -->],\n}'
    data = order_event()
    data["Order"]["OrderRow"][1]["ProductName"] = 'Tea, "pot",]}'  # commas and brackets inside strings stay
    parsed = json.loads(render(body, MimeType.JSON, data=data))
    assert parsed == {
        "rows": [{"sku": "SKU-100", "name": "Coffee mug"}, {"sku": "SKU-200", "name": 'Tea, "pot",]}'}]
    }


def test_other_json_errors_still_report_the_original_position():
    with pytest.raises(RenderError) as info:
        render('{"rows": [1,],\n "x": }', MimeType.JSON)
    assert info.value.where == "output"
    assert "line 1, column 13" in str(info.value)  # the first problem in what the template produced
