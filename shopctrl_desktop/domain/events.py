"""The ShopCtrl event catalogue: every event of SPEC §2.1 with its default ``entityData`` fields (§2.2).

The catalogue is one data table (:data:`_ROWS`); everything else in this module is lookup and derivation.
No Qt, no SQLAlchemy, no HTTP here.

Deriving ``entityData`` from an entity snapshot (``data``) is data-driven too: :data:`FIELD_SOURCES` lists,
per field, the dotted paths tried in order (``{entity}`` stands for the event's primary entity type). Fields
without an explicit entry fall back to a generic rule (see :func:`_candidate_paths`).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EventType:
    system_name: str  # PascalCase, e.g. "OrderChanged"
    display_name: str  # as ShopCtrl shows it, e.g. "Order changed"
    area: str  # one of AREAS
    entity_type: str  # primary entity, e.g. "Order", "Invoice", "OrderShipment"
    fields: tuple[str, ...]  # the default entityData fields (SPEC §2.2)


# --- areas ---------------------------------------------------------------------------------------------
ORDERS = "Orders"
INVOICES = "Invoices"
SHIPMENTS_AND_PARCELS = "Shipments and parcels"
RETURNS = "Returns"
PRODUCTS = "Products"
PURCHASE_ORDERS = "Purchase orders"
STOCK = "Stock"
CUSTOMERS = "Customers"
TICKETS = "Tickets"
SERVICE_CONTRACTS = "Service contracts"
RENTAL_CONTRACTS = "Rental contracts"
SHOPS = "Shops"
MISCELLANEOUS = "Miscellaneous"

AREAS: tuple[str, ...] = (
    ORDERS,
    INVOICES,
    SHIPMENTS_AND_PARCELS,
    RETURNS,
    PRODUCTS,
    PURCHASE_ORDERS,
    STOCK,
    CUSTOMERS,
    TICKETS,
    SERVICE_CONTRACTS,
    RENTAL_CONTRACTS,
    SHOPS,
    MISCELLANEOUS,
)

# --- default entityData field sets (SPEC §2.2) -----------------------------------------------------------
DEFAULT_FIELDS = ("OrderId", "OrderCode")
PRODUCT_FIELDS = ("ProductId", "ProductCode", "ShopGroupId")
PRODUCT_PACKAGE_FIELDS = ("ProductPackageId", "ProductId", "ShopGroupId")
PRODUCT_SELECTION_FIELDS = ("ProductId", "ProductCode", "ProductSelectionProductId", "ShopId")
PRODUCT_GROUP_FIELDS = ("ProductGroupId", "ProductGroupName")
ID_CODE_FIELDS = ("Id", "Code")
ID_NAME_FIELDS = ("Id", "Name")
ID_FIELDS = ("Id",)
ORDER_RATING_FIELDS = ("OrderId", "OrderCode", "CustomerRating")
ORDER_COMMENT_FIELDS = ("OrderCommentId", "OrderId", "OrderCode", "TicketId", "TicketCode")
INVOICE_FIELDS = ("InvoiceId", "InvoiceCode", "OrderId", "OrderCode")
SHOP_FIELDS = ("ShopId",)
PURCHASE_ORDER_FIELDS = (
    "PurchaseOrderId",
    "PurchaseOrderCode",
    "SupplierId",
    "WarehouseId",
    "OrderId",
    "OrderCode",
    "ShopId",
)
SHIPMENT_FIELDS = ("ParcelId", "TrackingCode", "OrderShipmentId", "OrderShipmentCode", "OrderId", "OrderCode")
RETURN_FIELDS = ("OrderReturnId", "OrderReturnCode", "OrderId", "OrderCode")
TICKET_FIELDS = ("TicketId", "TicketCode", "OrderId", "OrderCode", "ShopId")
TICKET_HANDLER_FIELDS = (
    "TicketId",
    "TicketCode",
    "OrderId",
    "OrderCode",
    "HandlingEmployeeGroupId",
    "HandlingEmployeeId",
    "OldHandlingEmployeeGroupId",
    "OldHandlingEmployeeId",
)
TICKET_MESSAGE_FIELDS = ("TicketId", "TicketCode", "OrderId", "OrderCode", "ShopId", "TicketMessageDirection")

# --- the catalogue: (system name, display name, area, primary entity type, entityData fields) -----------
# "Order comment changed" is about an OrderComment (its entityData carries OrderCommentId); "Rental contract
# order created" is about the Order the contract produced (its entityData is the order's).
# fmt: off
_ROWS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    # Orders
    ("NewOrderAdded", "New order added", ORDERS, "Order", DEFAULT_FIELDS),
    ("NewOrderInitialized", "New order initialized", ORDERS, "Order", DEFAULT_FIELDS),
    ("NotShippableOrderFullyShipped", "Not shippable order fully shipped", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderChanged", "Order changed", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderCommentChanged", "Order comment changed", ORDERS, "OrderComment", ORDER_COMMENT_FIELDS),
    ("OrderCustomStatusChanged", "Order custom status changed", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderCustomerRatingChanged", "Order customer rating changed", ORDERS, "Order", ORDER_RATING_FIELDS),
    ("OrderDownPaymentDone", "Order down payment done", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderFulfillmentStatusChanged", "Order fulfillment status changed", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderFullyDelivered", "Order fully delivered", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderFullyShipped", "Order fully shipped", ORDERS, "Order", SHIPMENT_FIELDS),
    ("OrderHasOneOrMoreOrderRowsNotInStock", "Order has one or more order rows not in stock", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderInvoicesAllPaid", "Order invoices all paid", ORDERS, "Order", INVOICE_FIELDS),
    ("OrderInvoicesCreated", "Order invoices created", ORDERS, "Order", INVOICE_FIELDS),
    ("OrderInvoicesPartialPaid", "Order invoices partial paid", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderInvoicesPartlyCreated", "Order invoices partly created", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderMainStatusChanged", "Order main status changed", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderNeedsRefund", "Order needs refund", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderPaymentStatusChanged", "Order payment status changed", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderPaymentTypeChanged", "Order payment type changed", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderPaymentsDone", "Order payments done", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderPaymentsNotDone", "Order payments not done", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderPaymentsPartialDone", "Order payments partial done", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderPreferredDeliveryDateChanged", "Order preferred delivery date changed", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderPurchaseTypeChanged", "Order purchase type changed", ORDERS, "Order", DEFAULT_FIELDS),
    ("OrderShipmentStatusChanged", "Order shipment status changed", ORDERS, "Order", SHIPMENT_FIELDS),
    ("OrderStockStatusChanged", "Order stock status changed", ORDERS, "Order", DEFAULT_FIELDS),
    # Invoices
    ("InvoiceChanged", "Invoice changed", INVOICES, "Invoice", DEFAULT_FIELDS),
    ("InvoicePaymentsDone", "Invoice payments done", INVOICES, "Invoice", INVOICE_FIELDS),
    ("InvoicePaymentsNotDone", "Invoice payments not done", INVOICES, "Invoice", INVOICE_FIELDS),
    ("InvoicePaymentsPartialDone", "Invoice payments partial done", INVOICES, "Invoice", INVOICE_FIELDS),
    ("InvoiceReminder1", "Invoice reminder 1", INVOICES, "Invoice", DEFAULT_FIELDS),
    ("InvoiceReminder2", "Invoice reminder 2", INVOICES, "Invoice", DEFAULT_FIELDS),
    ("InvoiceReminder3", "Invoice reminder 3", INVOICES, "Invoice", DEFAULT_FIELDS),
    ("NonDraftCreditInvoiceSaved", "Non-draft credit invoice saved", INVOICES, "Invoice", INVOICE_FIELDS),
    ("NonDraftInvoiceSaved", "Non-draft invoice saved", INVOICES, "Invoice", INVOICE_FIELDS),
    # Shipments and parcels
    ("NewParcelAdded", "New parcel added", SHIPMENTS_AND_PARCELS, "Parcel", SHIPMENT_FIELDS),
    ("ParcelPickupDone", "Parcel pickup done", SHIPMENTS_AND_PARCELS, "Parcel", SHIPMENT_FIELDS),
    ("ParcelStatusChange", "Parcel status change", SHIPMENTS_AND_PARCELS, "Parcel", SHIPMENT_FIELDS),
    ("ShipmentCreated", "Shipment created", SHIPMENTS_AND_PARCELS, "OrderShipment", SHIPMENT_FIELDS),
    ("ShipmentDelivered", "Shipment delivered", SHIPMENTS_AND_PARCELS, "OrderShipment", SHIPMENT_FIELDS),
    ("ShipmentHandover", "Shipment handover", SHIPMENTS_AND_PARCELS, "OrderShipment", SHIPMENT_FIELDS),
    ("ShipmentPacked", "Shipment packed", SHIPMENTS_AND_PARCELS, "OrderShipment", SHIPMENT_FIELDS),
    ("ShipmentPicked", "Shipment picked", SHIPMENTS_AND_PARCELS, "OrderShipment", SHIPMENT_FIELDS),
    ("ShipmentShipped", "Shipment shipped", SHIPMENTS_AND_PARCELS, "OrderShipment", SHIPMENT_FIELDS),
    # Returns
    ("ReturnChanged", "Return changed", RETURNS, "OrderReturn", RETURN_FIELDS),
    ("ReturnCreated", "Return created", RETURNS, "OrderReturn", RETURN_FIELDS),
    ("ReturnMainStatusChanged", "Return main status changed", RETURNS, "OrderReturn", RETURN_FIELDS),
    # Products
    ("ProductAvailableStockChanged", "Product available stock changed", PRODUCTS, "Product", PRODUCT_FIELDS),
    ("ProductBrandChanged", "Product brand changed", PRODUCTS, "ProductBrand", ID_NAME_FIELDS),
    ("ProductBrandDeleted", "Product brand deleted", PRODUCTS, "ProductBrand", ID_NAME_FIELDS),
    ("ProductChanged", "Product changed", PRODUCTS, "Product", PRODUCT_FIELDS),
    ("ProductCreated", "Product created", PRODUCTS, "Product", PRODUCT_FIELDS),
    ("ProductDeleted", "Product deleted", PRODUCTS, "Product", PRODUCT_FIELDS),
    ("ProductDimensionsChanged", "Product dimensions changed", PRODUCTS, "Product", PRODUCT_FIELDS),
    ("ProductGroupChanged", "Product group changed", PRODUCTS, "ProductGroup", PRODUCT_GROUP_FIELDS),
    ("ProductGroupDeleted", "Product group deleted", PRODUCTS, "ProductGroup", PRODUCT_GROUP_FIELDS),
    ("ProductLocked", "Product locked", PRODUCTS, "Product", PRODUCT_FIELDS),
    ("ProductUnlocked", "Product unlocked", PRODUCTS, "Product", PRODUCT_FIELDS),
    ("ProductPackageChanged", "Product package changed", PRODUCTS, "ProductPackage", PRODUCT_PACKAGE_FIELDS),
    ("ProductPackageCreated", "Product package created", PRODUCTS, "ProductPackage", PRODUCT_PACKAGE_FIELDS),
    ("ProductPackageDeleted", "Product package deleted", PRODUCTS, "ProductPackage", PRODUCT_PACKAGE_FIELDS),
    ("ProductPropertyDefinitionChanged", "Product property definition changed", PRODUCTS, "ProductPropertyDefinition", ID_CODE_FIELDS),
    ("ProductPropertyDefinitionDeleted", "Product property definition deleted", PRODUCTS, "ProductPropertyDefinition", ID_CODE_FIELDS),
    ("ProductSelectionProductChanged", "Product selection product changed", PRODUCTS, "ProductSelectionProduct", PRODUCT_SELECTION_FIELDS),
    ("ProductSelectionProductDeleted", "Product selection product deleted", PRODUCTS, "ProductSelectionProduct", PRODUCT_SELECTION_FIELDS),
    # Purchase orders
    ("PurchaseOrderCreated", "Purchase order created", PURCHASE_ORDERS, "PurchaseOrder", PURCHASE_ORDER_FIELDS),
    ("PurchaseOrderCustomStatusChanged", "Purchase order custom status changed", PURCHASE_ORDERS, "PurchaseOrder", PURCHASE_ORDER_FIELDS),
    ("PurchaseOrderDeliveryProvisioned", "Purchase order delivery provisioned", PURCHASE_ORDERS, "PurchaseOrder", PURCHASE_ORDER_FIELDS),
    ("PurchaseOrderDeliveryReceived", "Purchase order delivery received", PURCHASE_ORDERS, "PurchaseOrder", PURCHASE_ORDER_FIELDS),
    ("PurchaseOrderHandedOver", "Purchase order handed over", PURCHASE_ORDERS, "PurchaseOrder", PURCHASE_ORDER_FIELDS),
    ("PurchaseOrderMainStatusChanged", "Purchase order main status changed", PURCHASE_ORDERS, "PurchaseOrder", PURCHASE_ORDER_FIELDS),
    ("PurchaseOrderPaymentStatusChanged", "Purchase order payment status changed", PURCHASE_ORDERS, "PurchaseOrder", PURCHASE_ORDER_FIELDS),
    ("PurchaseOrderProvisionStatusChanged", "Purchase order provision status changed", PURCHASE_ORDERS, "PurchaseOrder", PURCHASE_ORDER_FIELDS),
    ("PurchaseOrderProvisioned", "Purchase order provisioned", PURCHASE_ORDERS, "PurchaseOrder", PURCHASE_ORDER_FIELDS),
    ("PurchaseOrderReceived", "Purchase order received", PURCHASE_ORDERS, "PurchaseOrder", PURCHASE_ORDER_FIELDS),
    ("PurchaseOrderSubmitStatusChanged", "Purchase order submit status changed", PURCHASE_ORDERS, "PurchaseOrder", PURCHASE_ORDER_FIELDS),
    # Stock
    ("StockCountCreated", "Stock count created", STOCK, "StockCount", DEFAULT_FIELDS),
    # Customers
    ("CustomerCompanyContactEmailAddressChanged", "Customer company contact email address changed", CUSTOMERS, "Customer", DEFAULT_FIELDS),
    ("CustomerEmailChanged", "Customer email changed", CUSTOMERS, "Customer", DEFAULT_FIELDS),
    ("NewCustomerAdded", "New customer added", CUSTOMERS, "Customer", DEFAULT_FIELDS),
    # Tickets
    ("TicketCreated", "Ticket created", TICKETS, "Ticket", TICKET_FIELDS),
    ("TicketHandlingEmployeeChanged", "Ticket handling employee changed", TICKETS, "Ticket", TICKET_HANDLER_FIELDS),
    ("TicketHandlingEmployeeGroupChanged", "Ticket handling employee group changed", TICKETS, "Ticket", TICKET_HANDLER_FIELDS),
    ("TicketIncomingMessage", "Ticket incoming message", TICKETS, "Ticket", TICKET_MESSAGE_FIELDS),
    ("TicketMainStatusChanged", "Ticket main status changed", TICKETS, "Ticket", TICKET_FIELDS),
    ("TicketOutgoingMessage", "Ticket outgoing message", TICKETS, "Ticket", TICKET_MESSAGE_FIELDS),
    ("TicketSatisfactionScoreChanged", "Ticket satisfaction score changed", TICKETS, "Ticket", DEFAULT_FIELDS),
    # Service contracts
    ("NewServiceContractAdded", "New service contract added", SERVICE_CONTRACTS, "ServiceContract", DEFAULT_FIELDS),
    ("ServiceContractActiveStatusChanged", "Service contract active status changed", SERVICE_CONTRACTS, "ServiceContract", DEFAULT_FIELDS),
    ("ServiceContractActiveStatusChangedToActive", "Service contract active status changed to active", SERVICE_CONTRACTS, "ServiceContract", DEFAULT_FIELDS),
    ("ServiceContractCompanyContactEmailAddressChanged", "Service contract company contact email address changed", SERVICE_CONTRACTS, "ServiceContract", DEFAULT_FIELDS),
    # Rental contracts
    ("NewRentalContractAdded", "New rental contract added", RENTAL_CONTRACTS, "RentalContract", DEFAULT_FIELDS),
    ("RentalContractActiveStatusChanged", "Rental contract active status changed", RENTAL_CONTRACTS, "RentalContract", DEFAULT_FIELDS),
    ("RentalContractActiveStatusChangedToActive", "Rental contract active status changed to active", RENTAL_CONTRACTS, "RentalContract", DEFAULT_FIELDS),
    ("RentalContractCompanyContactEmailAddressChanged", "Rental contract company contact email address changed", RENTAL_CONTRACTS, "RentalContract", DEFAULT_FIELDS),
    ("RentalContractOrderCreated", "Rental contract order created", RENTAL_CONTRACTS, "Order", DEFAULT_FIELDS),
    # Shops
    ("InitNewShop", "Init new shop", SHOPS, "Shop", SHOP_FIELDS),
    ("NewShopSaved", "New shop saved", SHOPS, "Shop", SHOP_FIELDS),
    # Miscellaneous
    ("VoipCallChanged", "Voip call changed", MISCELLANEOUS, "VoipCall", ID_FIELDS),
)
# fmt: on

CATALOGUE: tuple[EventType, ...] = tuple(EventType(*row) for row in _ROWS)


def _normalise(name: str) -> str:
    """Case, spaces, hyphens and underscores are ignored when looking an event up."""
    return re.sub(r"[\s\-_]+", "", name).casefold()


BY_SYSTEM_NAME: dict[str, EventType] = {e.system_name: e for e in CATALOGUE}

#: Names as the seed (ShopCtrl's own event list) spells them -> the catalogue's system name. They are accepted
#: wherever an event name is (listener, ``send-event``, ``render``, trigger files, the editor) and stored under
#: the system name. Decided by meaning: a return is an OrderReturn, "Def" is short for definition, and
#: "Outcoming" is the seed's word for outgoing.
SEED_ALIASES: dict[str, str] = {
    "Main Order Return Status Changed": "ReturnMainStatusChanged",
    "Order Return Changed": "ReturnChanged",
    "Order Return Created": "ReturnCreated",
    "Product Property Def Changed": "ProductPropertyDefinitionChanged",
    "Product Property Def Deleted": "ProductPropertyDefinitionDeleted",
    "Ticket Outcoming Message": "TicketOutgoingMessage",
}


def _names_of(event: EventType) -> tuple[str, ...]:
    """Every name ``event`` is known by: system name, display name, seed aliases."""
    aliases = tuple(alias for alias, system in SEED_ALIASES.items() if system == event.system_name)
    return (event.system_name, event.display_name, *aliases)


_BY_KEY: dict[str, EventType] = {}
for _event in CATALOGUE:
    for _key in {_normalise(_name) for _name in _names_of(_event)}:
        if _key in _BY_KEY and _BY_KEY[_key] is not _event:  # pragma: no cover - guarded by the tests
            raise RuntimeError(f"event name {_key!r} is ambiguous")
        _BY_KEY[_key] = _event
del _event, _key


def find_event(name: str) -> EventType | None:
    """The event with this system name, display name or seed alias (case, spaces and hyphens ignored), or
    None."""
    if not isinstance(name, str):
        return None
    return _BY_KEY.get(_normalise(name))


def events_in_area(area: str) -> list[EventType]:
    return [e for e in CATALOGUE if e.area == area]


def closest_event_names(name: str, n: int = 3) -> list[str]:
    """System names of the events whose names are most like ``name`` (for "unknown event" messages)."""
    key = _normalise(name) if isinstance(name, str) else ""
    if not key:
        return []
    scored: dict[str, float] = {}
    for event in CATALOGUE:
        for candidate in _names_of(event):
            ratio = difflib.SequenceMatcher(None, key, _normalise(candidate)).ratio()
            if ratio > scored.get(event.system_name, 0.0):
                scored[event.system_name] = ratio
    ranked = sorted(scored.items(), key=lambda item: (-item[1], item[0]))
    return [name for name, ratio in ranked[:n] if ratio >= 0.5]


# --- deriving entityData from the snapshot ---------------------------------------------------------------
#: Where each entityData field is found in ``data``: dotted paths tried in order. ``{entity}`` is the event's
#: primary entity type. A list met on the way stands for its first element (``OrderShipment.Parcel.Id``).
FIELD_SOURCES: dict[str, tuple[str, ...]] = {
    "Id": ("{entity}.Id",),
    "Code": ("{entity}.Code", "{entity}.{entity}Code"),
    "Name": ("{entity}.Name", "{entity}.{entity}Name"),
    "OrderId": ("Order.Id", "{entity}.OrderId", "{entity}.Order.Id"),
    "OrderCode": ("Order.OrderCode", "Order.Code", "{entity}.OrderCode", "{entity}.Order.OrderCode"),
    "CustomerRating": ("Order.CustomerRating", "{entity}.CustomerRating"),
    "InvoiceId": ("Invoice.Id", "{entity}.InvoiceId", "Order.Invoice.Id"),
    "InvoiceCode": (
        "Invoice.InvoiceCode",
        "Invoice.Code",
        "{entity}.InvoiceCode",
        "Order.Invoice.InvoiceCode",
    ),
    "ParcelId": ("Parcel.Id", "{entity}.ParcelId", "OrderShipment.Parcel.Id"),
    "TrackingCode": (
        "Parcel.TrackingCode",
        "OrderShipment.TrackingCode",
        "OrderShipment.Parcel.TrackingCode",
        "{entity}.TrackingCode",
    ),
    "OrderShipmentId": ("OrderShipment.Id", "{entity}.OrderShipmentId", "Parcel.OrderShipmentId"),
    "OrderShipmentCode": (
        "OrderShipment.OrderShipmentCode",
        "OrderShipment.Code",
        "{entity}.OrderShipmentCode",
        "Parcel.OrderShipmentCode",
    ),
    "OrderReturnId": ("OrderReturn.Id", "{entity}.OrderReturnId"),
    "OrderReturnCode": ("OrderReturn.OrderReturnCode", "OrderReturn.Code", "{entity}.OrderReturnCode"),
    "OrderCommentId": ("OrderComment.Id", "{entity}.OrderCommentId"),
    "ProductId": ("Product.Id", "{entity}.ProductId"),
    "ProductCode": ("Product.ProductCode", "Product.Code", "{entity}.ProductCode"),
    "ProductPackageId": ("ProductPackage.Id", "{entity}.ProductPackageId"),
    "ProductSelectionProductId": ("ProductSelectionProduct.Id", "{entity}.ProductSelectionProductId"),
    "ProductGroupId": ("ProductGroup.Id", "{entity}.ProductGroupId"),
    "ProductGroupName": ("ProductGroup.Name", "ProductGroup.ProductGroupName", "{entity}.ProductGroupName"),
    "ShopGroupId": ("{entity}.ShopGroupId", "Product.ShopGroupId", "Shop.ShopGroupId"),
    "ShopId": ("Shop.Id", "{entity}.ShopId", "Order.ShopId"),
    "PurchaseOrderId": ("PurchaseOrder.Id", "{entity}.PurchaseOrderId"),
    "PurchaseOrderCode": (
        "PurchaseOrder.PurchaseOrderCode",
        "PurchaseOrder.Code",
        "{entity}.PurchaseOrderCode",
    ),
    "SupplierId": ("Supplier.Id", "{entity}.SupplierId", "{entity}.Supplier.Id"),
    "WarehouseId": ("Warehouse.Id", "{entity}.WarehouseId", "{entity}.Warehouse.Id"),
    "TicketId": ("Ticket.Id", "{entity}.TicketId"),
    "TicketCode": ("Ticket.TicketCode", "Ticket.Code", "{entity}.TicketCode"),
    "HandlingEmployeeId": ("Ticket.HandlingEmployeeId", "Ticket.HandlingEmployee.Id", "HandlingEmployeeId"),
    "HandlingEmployeeGroupId": (
        "Ticket.HandlingEmployeeGroupId",
        "Ticket.HandlingEmployeeGroup.Id",
        "HandlingEmployeeGroupId",
    ),
    "OldHandlingEmployeeId": ("Ticket.OldHandlingEmployeeId", "OldHandlingEmployeeId"),
    "OldHandlingEmployeeGroupId": ("Ticket.OldHandlingEmployeeGroupId", "OldHandlingEmployeeGroupId"),
    "TicketMessageDirection": (
        "TicketMessage.Direction",
        "TicketMessage.TicketMessageDirection",
        "Ticket.TicketMessageDirection",
    ),
}

_MISSING = object()
# JSON's own types answer without the Mapping ABC's isinstance (~20 of those per event cost more than the
# lookups they guard); anything else still goes through it
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def _is_mapping(value: Any) -> bool:
    kind = type(value)
    return kind is dict or (kind not in _PLAIN_TYPES and kind is not list and isinstance(value, Mapping))


def _is_container(value: Any) -> bool:
    """A mapping or a list (not a scalar field value)."""
    kind = type(value)
    return kind is dict or kind is list or (kind not in _PLAIN_TYPES and isinstance(value, (Mapping, list)))


def _lookup(node: Any, key: str) -> Any:
    """``node[key]``, exact first then case-insensitively; a list stands for its first element."""
    if isinstance(node, list):
        node = node[0] if node else None
    if not _is_mapping(node):
        return _MISSING
    if key in node:
        return node[key]
    folded = key.casefold()
    for name, value in node.items():
        if isinstance(name, str) and name.casefold() == folded:
            return value
    return _MISSING


def resolve_path(data: Any, path: str) -> Any:
    """The value at a dotted path of ``data`` (``_MISSING`` when any step is absent)."""
    node = data
    for part in path.split("."):
        node = _lookup(node, part)
        if node is _MISSING:
            return _MISSING
    if isinstance(node, list):  # a collection is not a scalar field value
        return _MISSING
    return node


_SUFFIXES = ("Id", "Code", "Name")


@functools.lru_cache(maxsize=1024)
def _candidate_paths(field: str, entity_type: str) -> tuple[str, ...]:
    """Explicit sources first, then: ``<Entity><Suffix>`` <- ``<Entity>.<Suffix>`` / ``<Entity>.<Entity><Suffix>``,
    the field on the primary entity, and the field at the top of ``data``."""
    paths = [p.replace("{entity}", entity_type) for p in FIELD_SOURCES.get(field, ())]
    for suffix in _SUFFIXES:
        if field.endswith(suffix) and len(field) > len(suffix):
            prefix = field[: -len(suffix)]
            paths += [f"{prefix}.{suffix}", f"{prefix}.{field}"]
    paths += [f"{entity_type}.{field}", field]
    return tuple(dict.fromkeys(paths))


def _scalar(value: Any) -> Any:
    return None if _is_container(value) else value


def derive_field(event_type: EventType, field: str, data: Mapping[str, Any] | None) -> Any:
    """One entityData field derived from the snapshot, or None."""
    if not _is_mapping(data):
        return None
    for path in _candidate_paths(field, event_type.entity_type):
        value = resolve_path(data, path)
        if value is not _MISSING and value is not None and _scalar(value) is not None:
            return value
    return None


def build_entity_data(
    event_type: EventType,
    data: Mapping[str, Any] | None,
    given: Mapping[str, Any] | None,
    *,
    shop_id: int | None = None,
) -> dict[str, Any]:
    """Exactly ``event_type.fields``; a non-null value in ``given`` wins (keys matched case-insensitively),
    otherwise the value is derived from ``data``; ``ShopId`` falls back to the event's ``shop_id``; a field
    found nowhere is ``None``. Keys of ``given`` that are not fields of the event are dropped."""
    given_folded = {str(k).casefold(): v for k, v in (given or {}).items()}
    result: dict[str, Any] = {}
    for field in event_type.fields:
        value = _scalar(given_folded.get(field.casefold()))
        if value is None:
            value = derive_field(event_type, field, data)
        if value is None and field == "ShopId":
            value = shop_id
        result[field] = value
    return result


def _as_text(value: Any) -> str | None:
    if value is None or value is _MISSING or _is_container(value):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if text != "" else None


def primary_entity(
    event_type: EventType, data: Mapping[str, Any] | None, entity_data: Mapping[str, Any] | None
) -> tuple[str, str | None, str | None]:
    """(entity type, id, code) of the entity the event is about, ids and codes as text (None when unknown).

    Looked up in entityData first (``<Entity>Id`` / ``<Entity>Code``, or ``Id`` / ``Code`` / ``Name`` for
    events whose fields are generic), then in ``data.<Entity>``."""
    entity = event_type.entity_type
    entity_data = entity_data or {}
    data = data if isinstance(data, Mapping) else {}

    def first(*candidates: Any) -> str | None:
        for candidate in candidates:
            text = _as_text(candidate)
            if text is not None:
                return text
        return None

    generic = set(event_type.fields) & {"Id", "Code", "Name"}
    entity_id = first(
        entity_data.get(f"{entity}Id"),
        entity_data.get("Id") if "Id" in generic else None,
        resolve_path(data, f"{entity}.Id"),
    )
    code = first(
        entity_data.get(f"{entity}Code"),
        entity_data.get("Code") if "Code" in generic else None,
        entity_data.get("Name") if "Name" in generic else None,
        entity_data.get(f"{entity}Name"),
        resolve_path(data, f"{entity}.{entity}Code"),
        resolve_path(data, f"{entity}.Code"),
        resolve_path(data, f"{entity}.TrackingCode") if entity == "Parcel" else None,
        entity_data.get("TrackingCode") if entity == "Parcel" else None,
    )
    return entity, entity_id, code
