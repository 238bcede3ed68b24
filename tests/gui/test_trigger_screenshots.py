"""Every trigger-editor page and dialog rendered offscreen with realistic data.

Runs as a smoke test (each grab must produce a non-empty picture); with SHOPCTRL_SCREENSHOTS=1 the pictures
refresh docs/screenshots/. Secrets stay masked in every picture.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import replace
from pathlib import Path

import trustme
from PySide6.QtWidgets import QWidget

from shopctrl_desktop.domain.model import Priority, SignatureScheme, Trigger
from shopctrl_desktop.gui.mergefields.browser import MergeFieldBrowser
from shopctrl_desktop.gui.triggers.editor import TriggerEditorDialog
from shopctrl_desktop.gui.triggers.page import TriggersPage
from shopctrl_desktop.gui.webhook.editor import (
    TAB_AUTH,
    TAB_GENERAL,
    TAB_HEADERS,
    TAB_PAYLOAD,
    WebhookEditorDialog,
)
from shopctrl_desktop.store.models import Shop
from tests.gui.triggers_support import (  # noqa: F401
    OFFSCREEN_NOISE,
    ctx,
    dialogs,
    full_action,
    load_all,
    receiver,
    save,
    store_event,
)

pytestmark = OFFSCREEN_NOISE
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

PAYLOAD = """{
  "orderCode": "$$Order.OrderCode$$",
  "orderDate": "$$Order.Date#yyyy-MM-dd$$",
  "totalDue": {{ Order.TotalDue | json }},
  "customer": {
    "email": "$$Order.Customer.Email$$",
    "name": "{{ Order.Customer.FirstName }} {{ Order.Customer.LastName }}"
  },
  "rows": [
    <!-- RangeStart:OrderRow -->
    {"sku": "$$OrderRow.ProductCode$$", "quantity": $$OrderRow.ItemQuantity$$},
    <!-- RangeEnd:OrderRow -->
  ],
  "trigger": "{{ Trigger }}"
}"""


def _save_picture(widget: QWidget, name: str, tmp_path: Path) -> None:
    picture = widget.grab()
    assert not picture.isNull() and picture.width() > 200 and picture.height() > 150
    target = SCREENSHOTS if os.environ.get("SHOPCTRL_SCREENSHOTS") else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    assert picture.save(str(target / name))


def _populate(ctx) -> None:  # noqa: F811
    with ctx.db.session() as session:
        session.add(Shop(id=3, name="Amsterdam store"))
        session.add(Shop(id=7, name="Webshop NL"))
    erp = full_action(payload_body=PAYLOAD)
    save(
        ctx,
        Trigger(
            title="ERP order sync",
            event="OrderChanged",
            condition={
                "match": "all",
                "rules": [
                    {"field": "Order.TotalDue", "operator": "greaterThan", "value": 100},
                    {
                        "field": "Order.PaymentStatus",
                        "operator": "inList",
                        "value": ["Paid", "PartiallyPaid"],
                    },
                ],
            },
            actions=(
                erp,
                full_action(
                    url="https://backup.erp.example/hooks/order",
                    priority=Priority.LOW,
                    username=None,
                    password=None,
                    hmac_secret=None,
                ),
            ),
        ),
    )
    save(
        ctx,
        Trigger(
            title="Shipping notification to WMS",
            event="ShipmentShipped",
            shop_id=3,
            actions=(full_action(url="https://wms.example/api/v2/shipments", method="PUT"),),
        ),
    )
    save(
        ctx,
        Trigger(
            title="Invoice paid → accounting",
            event="InvoicePaymentsDone",
            actions=(full_action(url="https://books.example/webhooks/shopctrl"),),
        ),
    )
    save(
        ctx,
        Trigger(
            title="New ticket to helpdesk",
            event="TicketCreated",
            shop_id=7,
            enabled=False,
            actions=(full_action(url="https://helpdesk.example/inbound/shopctrl"),),
        ),
    )
    save(ctx, Trigger(title="Stock feed (draft)", event="ProductAvailableStockChanged", enabled=False))
    store_event(ctx, RICH_ORDER)


RICH_ORDER = {
    "Order": {
        "Id": 1001,
        "OrderCode": "ORD-1001",
        "Date": "2026-11-28T09:58:12Z",
        "MainStatus": "InProgress",
        "PaymentStatus": "Paid",
        "Currency": "EUR",
        "OrderTotalIncVat": 184.9,
        "TotalDue": 0.0,
        "CustomerReference": "PO-77812",
        "Customer": {
            "Id": 5521,
            "Email": "anna.devries@example.com",
            "FirstName": "Anna",
            "LastName": "de Vries",
        },
        "OrderShipTo": {
            "Street": "Keizersgracht",
            "HouseNumber": "123",
            "Zipcode": "1015 CJ",
            "City": "Amsterdam",
        },
        "OrderRow": [
            {
                "ProductCode": "SKU-1042",
                "ProductName": "Espresso cups (set of 4)",
                "ItemQuantity": 2,
                "Price": 24.95,
            },
            {"ProductCode": "SKU-2210", "ProductName": "Burr grinder", "ItemQuantity": 1, "Price": 135.0},
        ],
    }
}


def test_triggers_page(qtbot, ctx, tmp_path):  # noqa: F811
    page = TriggersPage(ctx)
    qtbot.addWidget(page)
    page.resize(960, 420)
    _save_picture(page, "triggers-empty.png", tmp_path)
    _populate(ctx)
    page.reload()
    assert page.model.rowCount() == 5
    _save_picture(page, "triggers.png", tmp_path)


def test_trigger_editor(qtbot, ctx, dialogs, tmp_path):  # noqa: F811
    _populate(ctx)
    trigger = next(t for t in load_all(ctx) if t.title == "ERP order sync")
    dialog = dialogs(TriggerEditorDialog(ctx, trigger))
    dialog.resize(900, 640)
    _save_picture(dialog, "trigger-editor.png", tmp_path)


def test_webhook_editor_tabs(qtbot, ctx, dialogs, tmp_path):  # noqa: F811
    _populate(ctx)
    ca = trustme.CA(organization_name="Example ERP Internal CA")
    leaf = ca.issue_cert(
        "shopctrl-client.erp.example",
        common_name="shopctrl-client.erp.example",
        organization_name="Example Shop B.V.",
        not_after=datetime.datetime(2027, 6, 30, tzinfo=datetime.UTC),
    )
    action = replace(
        full_action(payload_body=PAYLOAD),
        signature_scheme=SignatureScheme.SHOPCTRL,
        client_certificate=leaf.private_key_and_cert_chain_pem.bytes().decode(),
        ca_certificate=ca.cert_pem.bytes().decode(),
    )
    trigger = Trigger(title="ERP order sync", event="OrderChanged")
    dialog = dialogs(WebhookEditorDialog(ctx, action, trigger))
    dialog.resize(860, 700)
    with qtbot.waitSignal(dialog.sample_loaded, timeout=5000):
        pass
    for index, name in (
        (TAB_GENERAL, "webhook-general.png"),
        (TAB_AUTH, "webhook-authentication.png"),
        (TAB_PAYLOAD, "webhook-payload.png"),
        (TAB_HEADERS, "webhook-headers.png"),
    ):
        dialog.tabs.setCurrentIndex(index)
        _save_picture(dialog, name, tmp_path)
    assert (
        not dialog.general_tab.secret_edit.is_revealed() and not dialog.auth_tab.password_edit.is_revealed()
    )
    assert dialog.general_tab.certificate_box.pem_edit.isHidden()


def test_webhook_payload_error(qtbot, ctx, dialogs, tmp_path):  # noqa: F811
    broken = PAYLOAD.replace('"totalDue": {{ Order.TotalDue | json }},', '"totalDue": ,')
    dialog = dialogs(
        WebhookEditorDialog(ctx, full_action(payload_body=broken), Trigger(title="T", event="OrderChanged"))
    )
    dialog.resize(860, 640)
    dialog.tabs.setCurrentIndex(TAB_PAYLOAD)
    assert dialog.payload_tab.problems()
    _save_picture(dialog, "webhook-payload-error.png", tmp_path)


def test_webhook_payload_unknown_merge_field(qtbot, ctx, dialogs, tmp_path):  # noqa: F811
    """A mistyped merge field: amber, underlined, with the suggestion; the editor at 1,024 × 768."""
    typo = PAYLOAD.replace("$$Order.Customer.Email$$", "$$Order.Customer.Emial$$")
    dialog = dialogs(
        WebhookEditorDialog(ctx, full_action(payload_body=typo), Trigger(title="T", event="OrderChanged"))
    )
    dialog.resize(1024, 720)
    dialog.tabs.setCurrentIndex(TAB_PAYLOAD)
    assert not dialog.payload_tab.problems() and dialog.payload_tab.unknown
    _save_picture(dialog, "webhook-payload-unknown-field.png", tmp_path)


def test_merge_field_browser(qtbot, ctx, dialogs, tmp_path):  # noqa: F811
    _populate(ctx)
    browser = dialogs(MergeFieldBrowser(ctx, "OrderChanged"))
    browser.resize(760, 640)
    browser.entity_id_edit.setText("1001")
    with qtbot.waitSignal(browser.fields_loaded, timeout=5000):
        browser.load_entity()
    browser.tree.expandToDepth(1)
    assert browser.select_path("Order.OrderCode")
    _save_picture(browser, "mergefields.png", tmp_path)
    browser.show_generic()
    assert browser.select_path("Order.TotalDue")
    _save_picture(browser, "mergefields-generic.png", tmp_path)


def test_preview_and_send_test(qtbot, gui_loop, ctx, dialogs, tmp_path, receiver):  # noqa: F811
    _populate(ctx)
    action = full_action(payload_body=PAYLOAD, url=receiver)
    dialog = dialogs(WebhookEditorDialog(ctx, action, Trigger(title="ERP order sync", event="OrderChanged")))
    preview = dialog.show_preview()
    preview.resize(1000, 640)
    with qtbot.waitSignal(preview.preview_rendered, timeout=5000):
        pass
    with qtbot.waitSignal(preview.test_finished, timeout=10000):
        preview.send_test()
    _save_picture(preview, "webhook-send-test.png", tmp_path)
    preview.close()
