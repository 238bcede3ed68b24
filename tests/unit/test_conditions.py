"""Trigger conditions (SPEC 3.2): every operator with typed values, nulls and missing paths."""

from __future__ import annotations

from datetime import date

import pytest

from shopctrl_desktop.domain.conditions import (
    OPERATORS,
    condition_matches,
    normalize_condition,
    validate_condition,
)

TODAY = date(2026, 11, 28)

DATA = {
    "Order": {
        "Id": 1001,
        "OrderCode": "ORD-1001",
        "TotalDue": 150.5,
        "TotalText": "150.50",  # a numeric string compares as a number
        "Discount": 0,
        "Comment": None,
        "Blank": "   ",
        "Tags": [],
        "Paid": True,
        "Shipped": False,
        "PaidText": "true",
        "Date": "2026-11-20T10:00:00Z",
        "DeliveryDate": "2026-12-05",
        "Offset": "2026-11-28T23:30:00-02:00",  # 28th in its own offset, 29th in UTC
        "Customer": {"Email": "Anna@Example.com", "Country": "NL"},
        "OrderRow": [
            {"ProductCode": "SKU-1", "ItemQuantity": 2},
            {"ProductCode": "SKU-2", "ItemQuantity": 5},
        ],
    }
}


def cond(field: str, operator: str, value=None, *, match: str = "all") -> dict:
    rule = {"field": field, "operator": operator}
    if value is not None:
        rule["value"] = value
    return {"match": match, "rules": [rule]}


def holds(field: str, operator: str, value=None) -> bool:
    return condition_matches(cond(field, operator, value), DATA, today=TODAY)


CASES = [
    # text
    ("Order.OrderCode", "equals", "ord-1001", True),
    ("Order.OrderCode", "equals", "ORD-1002", False),
    ("Order.OrderCode", "notEqual", "ORD-1002", True),
    ("Order.OrderCode", "notEqual", "ord-1001", False),
    ("Order.Customer.Email", "contains", "example", True),
    ("Order.Customer.Email", "contains", "EXAMPLE.COM", True),
    ("Order.Customer.Email", "contains", "shop", False),
    ("Order.Customer.Email", "notContains", "shop", True),
    ("Order.Customer.Email", "notContains", "anna", False),
    ("Order.OrderCode", "startsWith", "ord-", True),
    ("Order.OrderCode", "startsWith", "1001", False),
    ("Order.OrderCode", "endsWith", "1001", True),
    ("Order.OrderCode", "endsWith", "ORD", False),
    ("Order.Customer.Country", "inList", ["be", "nl", "de"], True),
    ("Order.Customer.Country", "inList", ["BE", "DE"], False),
    ("Order.Customer.Country", "notInList", ["BE", "DE"], True),
    ("Order.Customer.Country", "notInList", ["NL"], False),
    ("Order.Comment", "isEmpty", None, True),
    ("Order.Blank", "isEmpty", None, True),
    ("Order.Tags", "isEmpty", None, True),
    ("Order.OrderCode", "isEmpty", None, False),
    ("Order.OrderCode", "isNotEmpty", None, True),
    ("Order.Blank", "isNotEmpty", None, False),
    ("Order.Comment", "isNull", None, True),
    ("Order.OrderCode", "isNull", None, False),
    ("Order.Comment", "isNotNull", None, False),
    ("Order.OrderCode", "isNotNull", None, True),
    # numbers
    ("Order.TotalDue", "equals", 150.5, True),
    ("Order.TotalDue", "equals", "150.50", True),
    ("Order.TotalText", "equals", 150.5, True),
    ("Order.Id", "equals", "1001", True),
    ("Order.TotalDue", "notEqual", 150, True),
    ("Order.TotalDue", "greaterThan", 100, True),
    ("Order.TotalDue", "greaterThan", 150.5, False),
    ("Order.TotalText", "greaterThan", 20, True),  # as numbers, not as text ("150.50" < "20")
    ("Order.TotalDue", "greaterOrEqual", 150.5, True),
    ("Order.TotalDue", "greaterOrEqual", 151, False),
    ("Order.TotalDue", "lessThan", 200, True),
    ("Order.TotalDue", "lessThan", 150.5, False),
    ("Order.TotalDue", "lessOrEqual", 150.5, True),
    ("Order.TotalDue", "lessOrEqual", 150, False),
    ("Order.TotalDue", "between", [100, 200], True),
    ("Order.TotalDue", "between", [150.5, 150.5], True),  # inclusive
    ("Order.TotalDue", "between", [151, 200], False),
    ("Order.Discount", "equals", 0, True),
    ("Order.Discount", "isNull", None, False),
    ("Order.Comment", "greaterThan", 0, False),
    ("Order.Comment", "between", [0, 10], False),
    # dates
    ("Order.Date", "before", "2026-11-21", True),
    ("Order.Date", "before", "2026-11-20", False),  # same calendar day is not before
    ("Order.Date", "after", "2026-11-19", True),
    ("Order.Date", "after", "2026-11-20T10:00:00Z", False),
    ("Order.Date", "onOrBefore", "2026-11-20", True),
    ("Order.Date", "onOrAfter", "2026-11-20", True),
    ("Order.Date", "onOrAfter", "2026-11-21", False),
    ("Order.Date", "after", "today-10", True),
    ("Order.Date", "after", "today-7", False),
    ("Order.Date", "before", "today", True),
    ("Order.DeliveryDate", "after", "today+7", False),  # 2026-12-05 == today+7
    ("Order.DeliveryDate", "onOrAfter", "today+7", True),
    ("Order.DeliveryDate", "before", "today+8", True),
    ("Order.DeliveryDate", "between", ["today", "today+7"], True),
    ("Order.DeliveryDate", "between", ["today", "today+6"], False),
    ("Order.Date", "between", ["2026-11-01", "2026-11-30"], True),
    ("Order.Offset", "onOrBefore", "today", True),  # its own calendar date, not UTC's
    ("Order.Offset", "after", "2026-11-29T00:00:00Z", True),  # with times: compared as instants
    ("Order.OrderCode", "before", "today", False),  # not a date
    ("Order.Comment", "after", "today", False),
    # booleans
    ("Order.Paid", "isTrue", None, True),
    ("Order.Paid", "isFalse", None, False),
    ("Order.Shipped", "isFalse", None, True),
    ("Order.Shipped", "isTrue", None, False),
    ("Order.PaidText", "isTrue", None, True),
    ("Order.Comment", "isTrue", None, False),
    ("Order.Comment", "isFalse", None, False),  # null is neither
    ("Order.Paid", "equals", True, True),
    ("Order.Paid", "equals", "true", True),
    # case-insensitive paths
    ("order.customer.EMAIL", "contains", "anna", True),
    # a path through a list: any row for positive operators, every row for negative ones
    ("Order.OrderRow.ProductCode", "equals", "SKU-2", True),
    ("Order.OrderRow.ProductCode", "notEqual", "SKU-2", False),
    ("Order.OrderRow.ProductCode", "notEqual", "SKU-3", True),
    ("Order.OrderRow.ItemQuantity", "greaterThan", 4, True),
    ("Order.OrderRow.1.ProductCode", "equals", "SKU-2", True),
    ("Order.OrderRow.0.ProductCode", "equals", "SKU-2", False),
]


@pytest.mark.parametrize(("field", "operator", "value", "expected"), CASES)
def test_operator(field, operator, value, expected):
    assert holds(field, operator, value) is expected


def test_every_operator_is_covered_by_a_case():
    assert {c[1] for c in CASES} == set(OPERATORS)


@pytest.mark.parametrize("operator", OPERATORS)
def test_missing_path_is_null_and_nothing_else(operator):
    value = {
        "between": [1, 2],
        "inList": ["a"],
        "notInList": ["a"],
        "before": "today",
        "after": "today",
        "onOrBefore": "today",
        "onOrAfter": "today",
        "greaterThan": 1,
        "greaterOrEqual": 1,
        "lessThan": 1,
        "lessOrEqual": 1,
    }.get(operator, "x")
    for path in ("Order.Nope", "Nope.Deeper.Still", "Order.OrderCode.Sub", "Order.OrderRow.9.ProductCode"):
        assert holds(path, operator, value) is (operator == "isNull"), (path, operator)


def test_missing_path_never_raises_on_odd_data():
    for data in ({}, {"Order": None}, {"Order": "text"}, {"Order": [1, None, "x"]}, None):
        assert condition_matches(cond("Order.TotalDue", "greaterThan", 1), data) is False
        assert condition_matches(cond("Order.TotalDue", "isNull"), data) is True


def test_present_null_against_negative_text_operators():
    assert holds("Order.Comment", "notEqual", "x") is True
    assert holds("Order.Comment", "notContains", "x") is True
    assert holds("Order.Comment", "notInList", ["x"]) is True
    assert holds("Order.Comment", "contains", "x") is False
    assert holds("Order.Comment", "equals", "x") is False


def test_match_all_and_any_and_nested_groups():
    big = {"field": "Order.TotalDue", "operator": "greaterThan", "value": 100}
    nl = {"field": "Order.Customer.Country", "operator": "equals", "value": "NL"}
    be = {"field": "Order.Customer.Country", "operator": "equals", "value": "BE"}
    assert condition_matches({"match": "all", "rules": [big, nl]}, DATA)
    assert not condition_matches({"match": "all", "rules": [big, be]}, DATA)
    assert condition_matches({"match": "any", "rules": [be, nl]}, DATA)
    assert not condition_matches({"match": "any", "rules": [be]}, DATA)
    nested = {"match": "all", "rules": [big, {"match": "any", "rules": [be, nl]}]}
    assert condition_matches(nested, DATA)
    nested_fail = {"match": "all", "rules": [big, {"match": "any", "rules": [be]}]}
    assert not condition_matches(nested_fail, DATA)


def test_no_condition_and_empty_rules_match():
    assert condition_matches(None, DATA)
    assert condition_matches({"match": "all", "rules": []}, DATA)
    assert condition_matches({"match": "any", "rules": []}, DATA)


def test_today_defaults_to_the_real_date():
    today = date.today().isoformat()
    assert condition_matches(cond("D", "onOrAfter", "today"), {"D": today})
    assert condition_matches(cond("D", "equals", "today"), {"D": today})
    assert not condition_matches(cond("D", "after", "today"), {"D": today})


@pytest.mark.parametrize(
    ("condition", "fragment"),
    [
        (cond("Order.TotalDue", "greater", 1), "rule 1 (Order.TotalDue): unknown operator 'greater'"),
        (cond("Order.TotalDue", "between", [1]), "rule 1 (Order.TotalDue): 'between' needs [from, to]"),
        (cond("Order.TotalDue", "between", 5), "'between' needs [from, to]"),
        (cond("Order.TotalDue", "between", [1, "today"]), "both be numbers or both be dates"),
        (cond("Order.Country", "inList", "NL"), "rule 1 (Order.Country): 'is in list' needs a list"),
        (cond("Order.Country", "notInList", "NL"), "'is not in list' needs a list"),
        (cond("Order.TotalDue", "greaterThan", "lots"), "'>' needs a number or a date"),
        (cond("Order.Date", "before", "tomorrow"), "'before' needs a date"),
        (cond("Order.Code", "contains", None), "'contains' needs a text value"),
        (cond("Order.Code", "equals", {"a": 1}), "'equals' needs a single"),
        ({"match": "some", "rules": []}, '\'match\' must be "all" or "any"'),
        ({"match": "all", "rules": "x"}, "'rules' must be a list"),
        ({"match": "all", "rules": [{"operator": "equals", "value": 1}]}, "rule 1: needs a field"),
        ({"match": "all", "rules": [{"field": "A..B", "operator": "isNull"}]}, "empty part"),
        ({"match": "all", "rules": ["x"]}, "rule 1: must be an object"),
        (
            {"match": "all", "rules": [cond("A", "isNull")["rules"][0], cond("B", "isNull", match="any")]},
            None,
        ),
        (
            {
                "match": "all",
                "rules": [
                    {"field": "A", "operator": "isNull"},
                    {
                        "match": "any",
                        "rules": [{"field": "B", "operator": "isNull"}, cond("C", "inList", 3)["rules"][0]],
                    },
                ],
            },
            "rule 2.2 (C): 'is in list' needs a list",
        ),
    ],
)
def test_validate_condition_names_rule_and_field(condition, fragment):
    if fragment is None:
        validate_condition(condition)
        return
    with pytest.raises(ValueError) as info:
        validate_condition(condition)
    assert fragment in str(info.value)
    with pytest.raises(ValueError):
        condition_matches(condition, DATA)


def test_unknown_operator_suggests_close_names():
    with pytest.raises(ValueError, match="did you mean greaterThan"):
        validate_condition(cond("Order.TotalDue", "greatherThan", 1))


def test_validate_accepts_every_well_formed_operator():
    for op in OPERATORS:
        value = {
            "between": [1, 2],
            "inList": [1],
            "notInList": [1],
            "greaterThan": 1,
            "greaterOrEqual": 1,
        }.get(op)
        value = {"lessThan": 1, "lessOrEqual": 1, "before": "today+1", "after": "today-1"}.get(op, value)
        value = {"onOrBefore": "2026-11-28", "onOrAfter": "2026-11-28T10:00:00Z"}.get(op, value)
        value = {"equals": "x", "notEqual": 3, "contains": "x", "notContains": "x"}.get(op, value)
        value = {"startsWith": "x", "endsWith": "x"}.get(op, value)
        validate_condition(cond("Order.X", op, value))
    validate_condition(None)


def test_normalize_condition_canonical_names():
    raw = {
        "match": "OR",
        "rules": [
            {"field": " Order.TotalDue ", "operator": ">=", "value": 5},
            {"field": "A", "operator": "ISNULL", "value": 1},
        ],
    }
    assert normalize_condition(raw) == {
        "match": "any",
        "rules": [
            {"field": "Order.TotalDue", "operator": "greaterOrEqual", "value": 5},
            {"field": "A", "operator": "isNull"},
        ],
    }
    assert normalize_condition(None) is None


def test_a_condition_changed_in_place_after_use_is_validated_again():
    condition = cond("Order.TotalDue", "greaterThan", 100)
    assert condition_matches(condition, DATA)
    condition["rules"][0]["operator"] = "biggerThan"
    with pytest.raises(ValueError, match="unknown operator 'biggerThan'"):
        condition_matches(condition, DATA)
    condition["rules"][0].update(operator="between", value=5)
    with pytest.raises(ValueError, match="'between' needs"):
        condition_matches(condition, DATA)
    condition["rules"][0].update(value=[100, 200])
    assert condition_matches(condition, DATA)
