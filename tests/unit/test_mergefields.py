"""Merge-field catalogue (SPEC §4): generic trees per entity and event, dynamic trees with values, search,
insertion tokens."""

from __future__ import annotations

import pytest

from shopctrl_desktop.domain.events import CATALOGUE, find_event
from shopctrl_desktop.domain.mergefield_catalogue import EVENT_METADATA
from shopctrl_desktop.domain.mergefields import (
    ENTITY_FIELDS,
    FIELD_TYPES,
    MergeField,
    dynamic_tree,
    fields_for_entity,
    fields_for_event,
    find_field,
    insertion_text,
    iter_fields,
    jinja_token,
    search,
    shopctrl_token,
)

SPEC_ENTITIES = (
    "Order OrderRow Customer OrderBillTo OrderShipTo Invoice InvoiceRow OrderShipment Parcel PurchaseOrder "
    "PurchaseOrderRow Product OrderReturn OrderReturnRow Ticket Shop Supplier Warehouse ProductPackage "
    "ProductGroup ServiceContract RentalContract"
).split()


def _names(fields):
    return [f.name for f in fields]


@pytest.mark.parametrize("entity", SPEC_ENTITIES)
def test_every_spec_entity_has_typed_described_fields(entity):
    fields = fields_for_entity(entity)
    assert fields, entity
    assert "Id" in _names(fields)
    for field in iter_fields(fields):
        assert field.type in FIELD_TYPES
        assert field.description, field.path
        assert field.is_collection == (field.type == "collection")


def test_catalogue_is_consistent():
    for entity, rows in ENTITY_FIELDS.items():
        names = [row[0] for row in rows]
        assert len(set(names)) == len(names), entity
        for name, kind, _description in rows:
            base, _, target = kind.partition(":")
            assert base in FIELD_TYPES, (entity, name)
            if base in ("entity", "collection"):
                assert target in ENTITY_FIELDS, (entity, name, target)
            if base == "collection":
                # SPEC §4: a collection is keyed by its (row) entity name.
                assert name == target, (entity, name)


def test_every_event_entity_is_in_the_catalogue():
    for event in CATALOGUE:
        assert event.entity_type in ENTITY_FIELDS, event.system_name


def test_order_fields():
    fields = fields_for_entity("Order")
    names = _names(fields)
    for expected in (
        "Id OrderCode Date OrderTotalExVat OrderTotalIncVat TotalDue CustomerReference MainStatus "
        "PaymentStatus ShipmentStatus Currency Email Customer OrderBillTo OrderShipTo OrderRow"
    ).split():
        assert expected in names
    by_name = {f.name: f for f in fields}
    assert by_name["OrderCode"].path == "Order.OrderCode"
    assert by_name["OrderCode"].type == "text"
    assert by_name["Date"].type == "date"
    assert by_name["TotalDue"].type == "number"
    assert by_name["Customer"].type == "entity"
    assert not by_name["Customer"].is_collection
    assert find_field(fields, "Order.Customer.Email").type == "text"
    rows = by_name["OrderRow"]
    assert rows.is_collection and rows.type == "collection" and rows.path == "Order.OrderRow"
    assert rows.entity_type == "OrderRow"
    # Inside a loop, rows are addressed by the row entity name.
    assert find_field(rows.children, "OrderRow.ProductCode") is not None
    assert find_field(fields, "OrderRow.Product.ProductCode") is not None


def test_depth_is_bounded_and_cycles_are_not_expanded():
    shallow = {f.name: f for f in fields_for_entity("Order", depth=0)}
    assert shallow["Customer"].children == ()
    assert shallow["OrderRow"].children == ()
    one = {f.name: f for f in fields_for_entity("Order", depth=1)}
    assert one["OrderRow"].children
    assert next(f for f in one["OrderRow"].children if f.name == "Product").children == ()
    deep = fields_for_entity("Order", depth=10)
    paths = [f.path for f in iter_fields(deep)]
    assert len(paths) == len(set(paths))
    assert max(p.count(".") for p in paths) <= 10
    assert fields_for_entity("NoSuchEntity") == []
    assert fields_for_entity("order")[0].path == "Order.Id"


def test_fields_for_event_order_changed():
    roots = fields_for_event("OrderChanged")
    assert _names(roots) == ["Order", "Shop", "Event"]
    event_group = roots[-1]
    assert event_group.type == "group"
    assert [f.name for f in event_group.children][: len(EVENT_METADATA)] == [row[0] for row in EVENT_METADATA]
    entity_data = find_field(roots, "entityData")
    assert _names(entity_data.children) == ["OrderId", "OrderCode"]
    assert find_field(roots, "entityData.OrderId").type == "number"


def test_fields_for_event_shipment_and_invoice():
    assert _names(fields_for_event(find_event("ShipmentShipped")))[:3] == ["OrderShipment", "Order", "Parcel"]
    assert _names(fields_for_event("Invoice payments done"))[:2] == ["Invoice", "Order"]
    assert _names(fields_for_event("Order comment changed"))[:3] == ["OrderComment", "Order", "Ticket"]
    assert _names(fields_for_event("PurchaseOrderReceived"))[:4] == [
        "PurchaseOrder",
        "Order",
        "Supplier",
        "Warehouse",
    ]
    assert _names(fields_for_event("Unknown event")) == ["Event"]


@pytest.mark.parametrize("event", CATALOGUE, ids=lambda e: e.system_name)
def test_every_event_has_a_tree(event):
    roots = fields_for_event(event)
    assert roots[0].name == event.entity_type
    assert roots[0].children
    assert "Shop" in _names(roots) and roots[-1].name == "Event"


ORDER_DATA = {
    "Order": {
        "Id": 1001,
        "OrderCode": "ORD-1001",
        "Date": "2026-11-28T10:00:00Z",
        "OrderTotalIncVat": 121.0,
        "IsPaid": False,
        "CustomerReference": None,
        "Customer": {"Id": 15, "Email": "anna@example.nl"},
        "OrderRow": [
            {"ProductCode": "SKU-1", "ItemQuantity": 2, "Product": {"Name": "Mug"}},
            {"ProductCode": "SKU-2", "ItemQuantity": 1},
        ],
        "Tags": ["a", "b"],
        "Custom": {"Whatever": "x"},
    },
    "Shop": {"Id": 3, "Name": "Demo shop"},
}


def test_dynamic_tree_has_values_and_inferred_types():
    tree = dynamic_tree(ORDER_DATA)
    assert _names(tree) == ["Order", "Shop"]
    order = find_field(tree, "Order")
    assert order.type == "entity" and order.entity_type == "Order"
    assert find_field(tree, "Order.OrderCode").value == "ORD-1001"
    assert find_field(tree, "Order.OrderCode").type == "text"
    assert find_field(tree, "Order.OrderCode").description == "Order number shown to the customer"
    assert find_field(tree, "Order.Date").type == "date"
    assert find_field(tree, "Order.OrderTotalIncVat").type == "number"
    assert find_field(tree, "Order.IsPaid").type == "boolean"
    assert find_field(tree, "Order.IsPaid").value is False
    # A null keeps the catalogue's type; unknown fields are typed by value with no description.
    assert find_field(tree, "Order.CustomerReference").type == "text"
    assert find_field(tree, "Order.Customer.Email").value == "anna@example.nl"
    assert find_field(tree, "Order.Custom.Whatever").value == "x"
    assert find_field(tree, "Order.Custom").description == ""
    assert find_field(tree, "Shop.Name").value == "Demo shop"


def test_dynamic_tree_collections_show_first_row_and_count():
    tree = dynamic_tree(ORDER_DATA)
    rows = find_field(tree, "Order.OrderRow")
    assert rows.is_collection and rows.type == "collection"
    assert rows.value == 2
    assert "2 rows" in rows.description
    assert [f.path for f in rows.children] == [
        "OrderRow.ProductCode",
        "OrderRow.ItemQuantity",
        "OrderRow.Product",
    ]
    assert rows.children[0].value == "SKU-1"
    assert find_field(tree, "OrderRow.Product.Name").value == "Mug"
    tags = find_field(tree, "Order.Tags")
    assert tags.is_collection and tags.value == 2 and tags.children == ()


def test_dynamic_tree_edge_cases():
    assert dynamic_tree({}) == []
    assert dynamic_tree(None) == []
    assert find_field(dynamic_tree({"OrderRow": []}), "OrderRow").value == 0
    assert find_field(dynamic_tree({"X": {"Date": "2026-13-45"}}), "X.Date").type == "text"
    deep: dict = {"A": {}}
    node = deep["A"]
    for _ in range(20):
        node["A"] = {}
        node = node["A"]
    paths = [f.path for f in iter_fields(dynamic_tree(deep, max_depth=3))]
    assert max(p.count(".") for p in paths) == 3


def test_search_filters_and_keeps_ancestors():
    tree = fields_for_event("OrderChanged")
    found = search(tree, "tracking")
    paths = [f.path for f in iter_fields(found)]
    assert "Order" in paths and "Order.OrderShipment" in paths
    assert "OrderShipment.TrackingCode" in paths
    assert "Order.OrderCode" not in paths
    # A matching entity keeps its whole subtree.
    customer = find_field(search(tree, "customer"), "Order.Customer")
    assert len(customer.children) == len(find_field(tree, "Order.Customer").children)
    assert search(tree, "") == tree
    assert search(tree, "zzzz-nothing") == []
    # Values are searched in dynamic trees.
    assert [f.path for f in iter_fields(search(dynamic_tree(ORDER_DATA), "anna@"))][
        -1
    ] == "Order.Customer.Email"


def test_tokens():
    assert shopctrl_token("Order.OrderCode") == "$$Order.OrderCode$$"
    assert shopctrl_token("Order.Date", "yyyy-MM-dd") == "$$Order.Date#yyyy-MM-dd$$"
    assert jinja_token("Order.OrderCode") == "{{ Order.OrderCode }}"
    tree = fields_for_entity("Order")
    rows = find_field(tree, "Order.OrderRow")
    assert insertion_text(rows) == "<!-- RangeStart:OrderRow -->\n\n<!-- RangeEnd:OrderRow -->"
    assert insertion_text(rows, "jinja") == "{% for OrderRow in Order.OrderRow %}\n\n{% endfor %}"
    code = find_field(tree, "OrderRow.ProductCode")
    assert insertion_text(code) == "$$OrderRow.ProductCode$$"
    assert insertion_text(code, "jinja") == "{{ OrderRow.ProductCode }}"
    parcels = find_field(fields_for_entity("Order", depth=3), "OrderShipment.Parcel")
    assert insertion_text(parcels, "jinja").startswith("{% for Parcel in OrderShipment.Parcel %}")
    with pytest.raises(ValueError, match="syntax"):
        insertion_text(code, "mustache")


def test_merge_field_is_frozen():
    field = MergeField("Order.Id", "Id", "number")
    with pytest.raises(AttributeError):
        field.name = "x"  # type: ignore[misc]
    assert field.is_leaf


def test_catalogue_describes_every_field_of_the_sample_events():
    import json
    from pathlib import Path

    events_dir = Path(__file__).resolve().parents[2] / "resources" / "events"
    undocumented = set()
    for path in events_dir.glob("*.json"):
        for sample in json.loads(path.read_text(encoding="utf-8")):
            for node in iter_fields(dynamic_tree(sample["data"])):
                if not node.description:
                    undocumented.add(node.path)
    assert not undocumented


def test_condition_fields_are_data_paths_that_resolve():
    from shopctrl_desktop.domain.conditions import condition_matches
    from shopctrl_desktop.domain.mergefields import condition_fields

    fields = condition_fields("OrderChanged")
    assert fields["Order.OrderCode"] == "text"
    assert fields["Order.OrderRow.ProductCode"] == "text"
    assert fields["Order.Customer.Email"] == "text"
    assert fields["Order.Date"] == "date"
    assert "OrderRow.ProductCode" not in fields
    assert not any(path.startswith(("Event", "Trigger", "entityData")) for path in fields)
    rule = {"field": "Order.OrderRow.ProductCode", "operator": "equals", "value": "SKU-2"}
    assert condition_matches({"match": "all", "rules": [rule]}, ORDER_DATA)
