"""Unknown merge-field paths in a payload template (domain/mergefield_check.py): a warning with a suggestion."""

from __future__ import annotations

from shopctrl_desktop.domain.mergefield_check import known_paths, unknown_fields


def test_a_mistyped_shopctrl_path_is_named_with_the_closest_catalogue_path():
    body = '{"order": "$$Order.OrderCod$$"}'
    (found,) = unknown_fields(body, "OrderChanged")
    assert found.path == "Order.OrderCod" and found.suggestion == "Order.OrderCode"
    assert body[found.start : found.end] == "Order.OrderCod"
    assert found.message() == "Unknown merge field Order.OrderCod — did you mean Order.OrderCode?"


def test_a_mistyped_jinja_path_is_found_too_also_before_a_filter():
    body = '{"a": "{{ Order.OrderCod }}", "b": {{ Order.TotalDu | json }}, "c": "{{ Triger }}"}'
    found = unknown_fields(body, "OrderChanged")
    assert [(f.path, f.suggestion) for f in found] == [
        ("Order.OrderCod", "Order.OrderCode"),
        ("Order.TotalDu", "Order.TotalDue"),
        ("Triger", "Trigger"),
    ]


def test_known_paths_formats_loops_and_metadata_are_not_flagged():
    body = """{
  "code": "$$order.ordercode$$", "date": "$$Order.Date#yyyy-MM-dd$$",
  "email": "$$Order.Customer.Email$$", "city": "{{ Order.OrderShipTo.City }}",
  "rows": [<!-- RangeStart:OrderRow -->"$$OrderRow.ProductCode$$",<!-- RangeEnd:OrderRow -->],
  "more": [{% for row in Order.OrderRow %}"{{ row.Anything }}"{% endfor %}],
  {% set total = Order.TotalDue %}"t": {{ total | json }}, "n": {{ loop_free | default(1) }},
  "trigger": "{{ Trigger }}", "event": {{ EventId }}
}"""
    assert unknown_fields(body, "OrderChanged") == []


def test_a_field_the_sample_event_has_is_known_though_the_catalogue_lacks_it():
    body = "$$Order.CustomField7$$"
    assert [f.path for f in unknown_fields(body, "OrderChanged")] == ["Order.CustomField7"]
    assert unknown_fields(body, "OrderChanged", {"Order": {"CustomField7": "x"}}) == []


def test_a_path_of_another_event_is_unknown_and_far_off_paths_get_no_suggestion():
    (found,) = unknown_fields("$$Xyzzy.Plugh$$", "OrderChanged")
    assert found.suggestion is None and "did you mean" not in found.message()
    assert "order.ordercode" in known_paths("OrderChanged")
    assert "order.ordercode" not in known_paths("ProductChanged")
