"""The event catalogue (SPEC §2.1/§2.2): names, lookup, entityData derivation, primary entity."""

from __future__ import annotations

import re

import pytest

from shopctrl_desktop.domain import events
from shopctrl_desktop.domain.events import (
    AREAS,
    BY_SYSTEM_NAME,
    CATALOGUE,
    SEED_ALIASES,
    build_entity_data,
    closest_event_names,
    find_event,
    primary_entity,
)

# SPEC §2.1 verbatim: the areas and their events (display names).
SPEC_2_1 = """
- Orders: New order added; New order initialized; Not shippable order fully shipped; Order changed;
  Order comment changed; Order custom status changed; Order customer rating changed; Order down payment
  done; Order fulfillment status changed; Order fully delivered; Order fully shipped; Order has one or
  more order rows not in stock; Order invoices all paid; Order invoices created; Order invoices partial
  paid; Order invoices partly created; Order main status changed; Order needs refund; Order payment
  status changed; Order payment type changed; Order payments done; Order payments not done; Order
  payments partial done; Order preferred delivery date changed; Order purchase type changed; Order
  shipment status changed; Order stock status changed.
- Invoices: Invoice changed; Invoice payments done; Invoice payments not done; Invoice payments partial
  done; Invoice reminder 1; Invoice reminder 2; Invoice reminder 3; Non-draft credit invoice saved;
  Non-draft invoice saved.
- Shipments and parcels: New parcel added; Parcel pickup done; Parcel status change; Shipment created;
  Shipment delivered; Shipment handover; Shipment packed; Shipment picked; Shipment shipped.
- Returns: Return changed; Return created; Return main status changed.
- Products: Product available stock changed; Product brand changed; Product brand deleted; Product
  changed; Product created; Product deleted; Product dimensions changed; Product group changed; Product
  group deleted; Product locked; Product unlocked; Product package changed; Product package created;
  Product package deleted; Product property definition changed; Product property definition deleted;
  Product selection product changed; Product selection product deleted.
- Purchase orders: Purchase order created; Purchase order custom status changed; Purchase order
  delivery provisioned; Purchase order delivery received; Purchase order handed over; Purchase order
  main status changed; Purchase order payment status changed; Purchase order provision status changed;
  Purchase order provisioned; Purchase order received; Purchase order submit status changed.
- Stock: Stock count created. Customers: Customer company contact email address changed; Customer
  email changed; New customer added.
- Tickets: Ticket created; Ticket handling employee changed; Ticket handling employee group changed;
  Ticket incoming message; Ticket main status changed; Ticket outgoing message; Ticket satisfaction
  score changed.
- Service contracts: New service contract added; Service contract active status changed; Service
  contract active status changed to active; Service contract company contact email address changed.
  Rental contracts: the same four, plus Rental contract order created.
- Shops: Init new shop; New shop saved. Miscellaneous: Voip call changed.
"""


def _spec_events() -> dict[str, list[str]]:
    """Parse the SPEC text into {area: [display names]}; "the same four" expands the service contracts."""
    text = " ".join(SPEC_2_1.split())
    area_names = "|".join(re.escape(a) for a in AREAS)
    parts = re.split(rf"(?:^|[-.] )\s*({area_names}):", text)
    result: dict[str, list[str]] = {}
    for area, body in zip(parts[1::2], parts[2::2], strict=True):
        body = body.strip().rstrip(".").rstrip(" -").rstrip(".")
        names = [n.strip() for n in body.split(";") if n.strip()]
        if area == "Rental contracts":
            assert names == ["the same four, plus Rental contract order created"]
            names = [
                n.replace("service contract", "rental contract").replace(
                    "Service contract", "Rental contract"
                )
                for n in result["Service contracts"]
            ] + ["Rental contract order created"]
        result[area] = names
    return result


SPEC_EVENTS = _spec_events()
SPEC_PAIRS = [(area, name) for area, names in SPEC_EVENTS.items() for name in names]

# SPEC §2.2, written out per event display name (anything not listed: OrderId OrderCode).
SPEC_2_2 = {
    **dict.fromkeys(
        [
            "Product created",
            "Product changed",
            "Product deleted",
            "Product available stock changed",
            "Product locked",
            "Product unlocked",
            "Product dimensions changed",
        ],
        "ProductId ProductCode ShopGroupId",
    ),
    **dict.fromkeys(
        ["Product package created", "Product package changed", "Product package deleted"],
        "ProductPackageId ProductId ShopGroupId",
    ),
    **dict.fromkeys(
        ["Product selection product changed", "Product selection product deleted"],
        "ProductId ProductCode ProductSelectionProductId ShopId",
    ),
    **dict.fromkeys(["Product group changed", "Product group deleted"], "ProductGroupId ProductGroupName"),
    **dict.fromkeys(
        ["Product property definition changed", "Product property definition deleted"], "Id Code"
    ),
    **dict.fromkeys(["Product brand changed", "Product brand deleted"], "Id Name"),
    "Order customer rating changed": "OrderId OrderCode CustomerRating",
    "Order comment changed": "OrderCommentId OrderId OrderCode TicketId TicketCode",
    **dict.fromkeys(
        [
            "Invoice payments done",
            "Invoice payments not done",
            "Invoice payments partial done",
            "Non-draft credit invoice saved",
            "Non-draft invoice saved",
            "Order invoices all paid",
            "Order invoices created",
        ],
        "InvoiceId InvoiceCode OrderId OrderCode",
    ),
    **dict.fromkeys(["Init new shop", "New shop saved"], "ShopId"),
    **dict.fromkeys(
        SPEC_EVENTS["Purchase orders"],
        "PurchaseOrderId PurchaseOrderCode SupplierId WarehouseId OrderId OrderCode ShopId",
    ),
    **dict.fromkeys(
        [
            "Shipment created",
            "Shipment delivered",
            "Shipment picked",
            "Shipment packed",
            "Shipment shipped",
            "Shipment handover",
            "Parcel status change",
            "Parcel pickup done",
            "New parcel added",
            "Order shipment status changed",
            "Order fully shipped",
        ],
        "ParcelId TrackingCode OrderShipmentId OrderShipmentCode OrderId OrderCode",
    ),
    **dict.fromkeys(
        ["Return main status changed", "Return changed", "Return created"],
        "OrderReturnId OrderReturnCode OrderId OrderCode",
    ),
    "Voip call changed": "Id",
    **dict.fromkeys(
        ["Ticket main status changed", "Ticket created"], "TicketId TicketCode OrderId OrderCode ShopId"
    ),
    **dict.fromkeys(
        ["Ticket handling employee changed", "Ticket handling employee group changed"],
        "TicketId TicketCode OrderId OrderCode HandlingEmployeeGroupId HandlingEmployeeId "
        "OldHandlingEmployeeGroupId OldHandlingEmployeeId",
    ),
    **dict.fromkeys(
        ["Ticket incoming message", "Ticket outgoing message"],
        "TicketId TicketCode OrderId OrderCode ShopId TicketMessageDirection",
    ),
}


def _pascal(display: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[ \-]+", display))


def test_spec_list_parses_to_all_areas():
    assert list(SPEC_EVENTS) == list(AREAS)
    assert len(SPEC_PAIRS) == 100
    assert SPEC_EVENTS["Rental contracts"][0] == "New rental contract added"


@pytest.mark.parametrize(("area", "display"), SPEC_PAIRS)
def test_every_spec_event_resolves_in_its_area(area, display):
    event = find_event(display)
    assert event is not None, display
    assert event.display_name == display
    assert event.area == area
    assert event.system_name == _pascal(display)
    assert find_event(event.system_name) is event


def test_catalogue_is_exactly_the_spec():
    assert {(e.area, e.display_name) for e in CATALOGUE} == set(SPEC_PAIRS)
    assert len(CATALOGUE) == len(SPEC_PAIRS)


def test_system_names_unique_and_pascal_case():
    names = [e.system_name for e in CATALOGUE]
    assert len(set(names)) == len(names)
    assert len({e.display_name for e in CATALOGUE}) == len(names)
    for name in names:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", name), name


def test_spec_examples():
    assert find_event("OrderChanged").display_name == "Order changed"
    assert find_event("ShipmentShipped").display_name == "Shipment shipped"
    assert find_event("OrderMainStatusChanged").display_name == "Order main status changed"
    assert find_event("Order has one or more order rows not in stock").system_name == (
        "OrderHasOneOrMoreOrderRowsNotInStock"
    )
    assert find_event("Non-draft credit invoice saved").system_name == "NonDraftCreditInvoiceSaved"


@pytest.mark.parametrize(
    "spelling",
    ["order changed", "ORDER CHANGED", "orderchanged", "Order  Changed", " order-changed ", "order_changed"],
)
def test_find_event_ignores_case_spaces_hyphens(spelling):
    assert find_event(spelling).system_name == "OrderChanged"


@pytest.mark.parametrize("bad", ["", "   ", "OrderChangedd", "Order", None, 42])
def test_find_event_unknown(bad):
    assert find_event(bad) is None


@pytest.mark.parametrize("event", CATALOGUE, ids=lambda e: e.system_name)
def test_fields_match_spec_2_2(event):
    assert " ".join(event.fields) == SPEC_2_2.get(event.display_name, "OrderId OrderCode")


@pytest.mark.parametrize("event", CATALOGUE, ids=lambda e: e.system_name)
def test_every_event_yields_exactly_its_fields_with_nulls(event):
    empty = build_entity_data(event, {}, None)
    assert list(empty) == list(event.fields)
    assert all(v is None for v in empty.values())
    # Given values win, extras are dropped.
    given = {f: f"v-{f}" for f in event.fields} | {"Unrelated": 1}
    assert build_entity_data(event, {"Order": {"Id": 1, "OrderCode": "X"}}, given) == {
        f: f"v-{f}" for f in event.fields
    }


def test_shop_group_and_entity_type_examples():
    assert find_event("Order comment changed").entity_type == "OrderComment"
    assert find_event("New parcel added").entity_type == "Parcel"
    assert find_event("Shipment shipped").entity_type == "OrderShipment"
    assert find_event("Order fully shipped").entity_type == "Order"
    assert find_event("Product brand deleted").entity_type == "ProductBrand"
    assert find_event("Stock count created").entity_type == "StockCount"
    assert find_event("New rental contract added").entity_type == "RentalContract"
    assert find_event("Voip call changed").entity_type == "VoipCall"


def test_closest_names_for_typos():
    assert closest_event_names("OrderChnaged")[0] == "OrderChanged"
    assert closest_event_names("shipment shiped")[0] == "ShipmentShipped"
    assert closest_event_names("Invoice payment done")[0] == "InvoicePaymentsDone"
    assert len(closest_event_names("Order", n=5)) <= 5
    assert closest_event_names("") == []
    assert closest_event_names("zzzzzzzzzzzzqqq") == []


def test_order_fields_derived_from_data():
    data = {"Order": {"Id": 1001, "OrderCode": "ORD-1001", "OrderRow": [{"ProductCode": "SKU-1"}]}}
    assert build_entity_data(find_event("OrderChanged"), data, None) == {
        "OrderId": 1001,
        "OrderCode": "ORD-1001",
    }
    # Given wins field by field; null in `given` does not hide a derived value.
    assert build_entity_data(find_event("OrderChanged"), data, {"OrderCode": "GIVEN", "OrderId": None}) == {
        "OrderId": 1001,
        "OrderCode": "GIVEN",
    }
    # Keys of `given` match case-insensitively.
    assert build_entity_data(find_event("OrderChanged"), {}, {"orderid": 5})["OrderId"] == 5


def test_shipment_fields_derived_from_shipment_and_parcel():
    event = find_event("ShipmentShipped")
    data = {
        "OrderShipment": {
            "Id": 77,
            "OrderShipmentCode": "SHP-77",
            "Parcel": [{"Id": 501, "TrackingCode": "3SABC123"}, {"Id": 502, "TrackingCode": "3SABC124"}],
        },
        "Order": {"Id": 1001, "OrderCode": "ORD-1001"},
    }
    assert build_entity_data(event, data, None) == {
        "ParcelId": 501,
        "TrackingCode": "3SABC123",
        "OrderShipmentId": 77,
        "OrderShipmentCode": "SHP-77",
        "OrderId": 1001,
        "OrderCode": "ORD-1001",
    }
    parcel_event = find_event("New parcel added")
    parcel = {"Parcel": {"Id": 9, "TrackingCode": "TT", "OrderShipmentId": 77}}
    assert build_entity_data(parcel_event, parcel, None) == {
        "ParcelId": 9,
        "TrackingCode": "TT",
        "OrderShipmentId": 77,
        "OrderShipmentCode": None,
        "OrderId": None,
        "OrderCode": None,
    }
    assert primary_entity(parcel_event, parcel, build_entity_data(parcel_event, parcel, None)) == (
        "Parcel",
        "9",
        "TT",
    )


def test_invoice_fields_from_the_invoice_when_order_is_missing():
    event = find_event("Invoice payments done")
    data = {"Invoice": {"Id": 42, "InvoiceCode": "INV-42", "OrderId": 1001, "OrderCode": "ORD-1001"}}
    assert build_entity_data(event, data, None) == {
        "InvoiceId": 42,
        "InvoiceCode": "INV-42",
        "OrderId": 1001,
        "OrderCode": "ORD-1001",
    }


def test_generic_fields_read_the_primary_entity():
    brand = find_event("Product brand changed")
    assert build_entity_data(brand, {"ProductBrand": {"Id": 3, "Name": "Acme"}}, None) == {
        "Id": 3,
        "Name": "Acme",
    }
    prop = find_event("Product property definition deleted")
    assert build_entity_data(prop, {"ProductPropertyDefinition": {"Id": 8, "Code": "COLOR"}}, None) == {
        "Id": 8,
        "Code": "COLOR",
    }
    assert primary_entity(brand, {}, {"Id": 3, "Name": "Acme"}) == ("ProductBrand", "3", "Acme")
    voip = find_event("Voip call changed")
    assert build_entity_data(voip, {"VoipCall": {"Id": "c-1"}}, None) == {"Id": "c-1"}


def test_product_and_group_and_purchase_order():
    product = find_event("ProductChanged")
    data = {"Product": {"Id": 12, "ProductCode": "SKU-12", "ShopGroupId": 2}}
    assert build_entity_data(product, data, None) == {
        "ProductId": 12,
        "ProductCode": "SKU-12",
        "ShopGroupId": 2,
    }
    group = find_event("ProductGroupChanged")
    assert build_entity_data(group, {"ProductGroup": {"Id": 4, "Name": "Shoes"}}, None) == {
        "ProductGroupId": 4,
        "ProductGroupName": "Shoes",
    }
    po = find_event("PurchaseOrderReceived")
    data = {
        "PurchaseOrder": {
            "Id": 300,
            "PurchaseOrderCode": "PO-300",
            "Supplier": {"Id": 7, "Name": "Supplies BV"},
            "WarehouseId": 1,
        }
    }
    assert build_entity_data(po, data, None, shop_id=3) == {
        "PurchaseOrderId": 300,
        "PurchaseOrderCode": "PO-300",
        "SupplierId": 7,
        "WarehouseId": 1,
        "OrderId": None,
        "OrderCode": None,
        "ShopId": 3,
    }
    assert primary_entity(po, data, {}) == ("PurchaseOrder", "300", "PO-300")


def test_ticket_handler_and_message_fields():
    handler = find_event("Ticket handling employee changed")
    data = {
        "Ticket": {
            "Id": 55,
            "TicketCode": "T-55",
            "OrderId": 1001,
            "HandlingEmployee": {"Id": 9},
            "HandlingEmployeeGroupId": 2,
            "OldHandlingEmployeeId": 8,
        },
        "OldHandlingEmployeeGroupId": 1,
    }
    assert build_entity_data(handler, data, None) == {
        "TicketId": 55,
        "TicketCode": "T-55",
        "OrderId": 1001,
        "OrderCode": None,
        "HandlingEmployeeGroupId": 2,
        "HandlingEmployeeId": 9,
        "OldHandlingEmployeeGroupId": 1,
        "OldHandlingEmployeeId": 8,
    }
    message = find_event("Ticket incoming message")
    data = {
        "Ticket": {"Id": 55, "TicketCode": "T-55"},
        "TicketMessage": {"Direction": "Incoming"},
        "Shop": {"Id": 3},
    }
    entity_data = build_entity_data(message, data, None)
    assert entity_data["TicketMessageDirection"] == "Incoming"
    assert entity_data["ShopId"] == 3


def test_lookup_is_case_insensitive_and_ignores_non_scalars():
    event = find_event("OrderChanged")
    assert build_entity_data(event, {"order": {"id": 5, "ordercode": "A"}}, None) == {
        "OrderId": 5,
        "OrderCode": "A",
    }
    # A nested object or list where a scalar is expected is not a value.
    assert build_entity_data(event, {"Order": {"Id": {"x": 1}, "OrderCode": [1]}}, None) == {
        "OrderId": None,
        "OrderCode": None,
    }
    assert build_entity_data(event, None, None) == {"OrderId": None, "OrderCode": None}
    assert build_entity_data(event, {"Order": "not an object"}, None) == {"OrderId": None, "OrderCode": None}


def test_primary_entity():
    order = find_event("OrderChanged")
    assert primary_entity(order, {}, {"OrderId": 1001, "OrderCode": "ORD-1001"}) == (
        "Order",
        "1001",
        "ORD-1001",
    )
    assert primary_entity(order, {"Order": {"Id": 7.0}}, {}) == ("Order", "7", None)
    assert primary_entity(order, {}, {}) == ("Order", None, None)
    customer = find_event("New customer added")
    assert primary_entity(customer, {"Customer": {"Id": 15, "Code": "C-15"}}, {"OrderId": None}) == (
        "Customer",
        "15",
        "C-15",
    )
    comment = find_event("Order comment changed")
    ed = build_entity_data(comment, {"OrderComment": {"Id": 4}, "Order": {"Id": 1, "OrderCode": "O1"}}, None)
    assert ed == {"OrderCommentId": 4, "OrderId": 1, "OrderCode": "O1", "TicketId": None, "TicketCode": None}
    assert primary_entity(comment, {}, ed) == ("OrderComment", "4", None)


def test_events_in_area_covers_catalogue():
    assert sum(len(events.events_in_area(a)) for a in AREAS) == len(CATALOGUE)


SEED_SPELLINGS = {
    "Main Order Return Status Changed": "ReturnMainStatusChanged",
    "Order Return Changed": "ReturnChanged",
    "Order Return Created": "ReturnCreated",
    "Product Property Def Changed": "ProductPropertyDefinitionChanged",
    "Product Property Def Deleted": "ProductPropertyDefinitionDeleted",
    "Ticket Outcoming Message": "TicketOutgoingMessage",
}


def test_seed_aliases_are_exactly_the_six_and_point_at_catalogue_events():
    assert SEED_ALIASES == SEED_SPELLINGS
    assert set(SEED_ALIASES.values()) <= set(BY_SYSTEM_NAME)


@pytest.mark.parametrize(("alias", "system_name"), SEED_SPELLINGS.items())
def test_seed_alias_resolves_in_any_spelling(alias, system_name):
    for spelling in (alias, alias.lower(), alias.replace(" ", ""), alias.upper().replace(" ", "_")):
        assert find_event(spelling).system_name == system_name, spelling


@pytest.mark.parametrize(("alias", "system_name"), SEED_SPELLINGS.items())
def test_closest_names_for_a_mistyped_alias_suggest_its_event(alias, system_name):
    typo = alias[:-2] + alias[-1]  # one letter dropped
    assert find_event(typo) is None
    assert closest_event_names(typo)[0] == system_name


def test_closest_names_are_system_names_never_aliases():
    for name in ("Order Return Chnaged", "Ticket Outcomming Mesage", "Product Property Def Chnged"):
        assert set(closest_event_names(name, n=10)) <= set(BY_SYSTEM_NAME)
