# ruff: noqa: E402
"""Render the shell/queue screenshots offscreen with realistic data (not a test; run by hand):

    python3 tests/gui/render_screenshots.py docs/screenshots

Writes main-queue.png, queue-detail.png, alerts.png, settings.png (and a few extra views) into the folder.
"""

import json
import os
import sys
import tempfile
import time

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
from datetime import timedelta

from PySide6.QtWidgets import QApplication

app = QApplication([])
from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.model import Priority, Trigger, WebhookAction
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.main_window import MainWindow
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import AlertRow, DeliveryAttemptRow, EventRow, QueueItemRow, utcnow
from shopctrl_desktop.store.secrets import load_secret_box
from shopctrl_desktop.store.triggers import save_trigger

paths = resolve_paths(tempfile.mkdtemp(prefix="shots-")).ensure()
db = Database(f"sqlite:///{paths.database_file}")
box = load_secret_box(paths.data_dir, use_keyring=False)
TRIG = [
    (
        "Order paid → ERP",
        "OrderChanged",
        "https://erp.example-shop.com/api/webhooks/orders",
        Priority.HIGH,
        "erp-sync",
        "s3cr3t",
    ),
    (
        "Shipment shipped → carrier tracking",
        "ShipmentShipped",
        "https://tracking.parcelhub.example/v2/hooks/shopctrl",
        Priority.NORMAL,
        None,
        None,
    ),
    (
        "Invoice paid → accounting",
        "InvoicePaymentsDone",
        "https://books.accounting.example/hooks/invoices",
        Priority.NORMAL,
        None,
        None,
    ),
    (
        "Low stock → purchasing Slack",
        "ProductAvailableStockChanged",
        "https://hooks.slack.example/services/T000/B000/XXXX",
        Priority.LOW,
        None,
        None,
    ),
]
aids = {}
with db.session() as s:
    for title, ev, url, prio, user, pw in TRIG:
        tid = save_trigger(
            s,
            box,
            Trigger(
                title=title,
                event=ev,
                actions=(
                    WebhookAction(
                        url=url,
                        priority=prio,
                        username=user,
                        password=pw,
                        hmac_secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
                        if prio == Priority.HIGH
                        else None,
                        signature_scheme="standard-webhooks" if prio == Priority.HIGH else "shopctrl",
                        headers={"X-Shop": "main-store"},
                    ),
                ),
            ),
        )
now = utcnow()
with db.session() as s:
    s.add(
        AlertRow(
            severity="information",
            title="Database schema upgraded",
            message="The database sqlite:///…/shopctrl.sqlite3 was upgraded from schema revision 0001 to 0002 "
            "by ShopCtrl Desktop.",
            created_at=now - timedelta(days=1),
            read=True,
        )
    )
    s.add(
        AlertRow(
            severity="warning",
            title="Client certificate of “Order paid → ERP” expires in 9 day(s)",
            message="The client certificate CN=shop-webhooks (issued by CN=Example ERP Internal CA) of the Call "
            "Webhook action to https://erp.example-shop.com/api/webhooks/orders expires on 2026-12-07 09:00 UTC. "
            "Import a renewed certificate in the trigger's Call Webhook editor (General tab).",
            created_at=now - timedelta(hours=22),
            read=True,
        )
    )
import random

rnd = random.Random(7)
outcomes = {
    "delivered": [(200, "OK"), (202, "Accepted"), (204, "No Content")],
    "failed": [
        (503, "Service Unavailable"),
        (None, "connection refused: nothing is listening on books.accounting.example:443"),
        (410, "Gone"),
    ],
    "retrying": [
        (500, "Internal Server Error"),
        (None, "timed out after 30 s without an answer"),
        (429, "Too Many Requests"),
    ],
}
with db.session() as s:
    from sqlalchemy import select

    from shopctrl_desktop.store.models import TriggerRow, WebhookActionRow

    acts = list(
        s.execute(
            select(
                WebhookActionRow.id,
                TriggerRow.id,
                TriggerRow.title,
                TriggerRow.event,
                WebhookActionRow.url,
                WebhookActionRow.priority,
            ).join(TriggerRow)
        )
    )
    N = 400
    for k in range(N):
        aid, tid, title, ev, url, prio = acts[rnd.choice([0, 0, 0, 1, 1, 2, 3])]
        oid = 48100 + k
        data = {
            "Order": {
                "Id": oid,
                "OrderCode": f"ORD-{oid}",
                "Customer": {"Email": f"customer{k}@mail.example"},
            }
        }
        e = EventRow(
            event=ev,
            shop_id=1,
            occurred_at=now - timedelta(minutes=(N - k) * 3),
            received_at=now - timedelta(minutes=(N - k) * 3),
            entity_type="Order" if ev != "ShipmentShipped" else "Shipment",
            entity_id=str(oid),
            entity_code=f"ORD-{oid}" if ev != "ShipmentShipped" else f"SHP-{oid}",
            entity_data_json=json.dumps({"OrderId": oid}),
            data_json=json.dumps(data),
        )
        s.add(e)
        s.flush()
        r = rnd.random()
        st = (
            "queued"
            if k >= N - 4
            else (
                "sending"
                if k >= N - 6
                else (
                    "failed"
                    if r < 0.06
                    else "retrying"
                    if r < 0.12
                    else "cancelled"
                    if r < 0.14
                    else "delivered"
                )
            )
        )
        created = now - timedelta(minutes=(N - k) * 3)
        body = json.dumps(
            {"Trigger": ev, "TriggerActionId": aid, "entityData": {"OrderId": oid, "OrderCode": f"ORD-{oid}"}}
        )
        attempts = (
            0
            if st in ("queued", "sending")
            else (11 if st == "failed" else rnd.randint(2, 4) if st == "retrying" else 1)
        )
        if st == "cancelled":
            attempts = 1
        item = QueueItemRow(
            trigger_id=tid,
            action_id=aid,
            event_id=e.id,
            trigger_title=title,
            event_name=ev,
            entity_type=e.entity_type,
            entity_id=e.entity_id,
            entity_code=e.entity_code,
            priority=prio,
            status=st,
            method="POST",
            url=url,
            host=url.split("/")[2],
            headers_json=json.dumps(
                {
                    "Content-Type": "application/json; charset=utf-8",
                    "X-ShopCtrl-Trigger": ev,
                    "X-Shop": "main-store",
                }
            ),
            body=body,
            attempts=attempts,
            created_at=created,
        )
        s.add(item)
        s.flush()
        t = created
        for n in range(1, attempts + 1):
            if n < attempts or st in ("failed", "retrying", "cancelled"):
                code, msg = rnd.choice(
                    outcomes["retrying" if n < attempts else ("failed" if st == "failed" else "retrying")]
                )
            else:
                code, msg = rnd.choice(outcomes["delivered"])
            if st == "cancelled":
                code, msg = (500, "Internal Server Error")
            dur = rnd.uniform(40, 900) if code else 30000.0
            s.add(
                DeliveryAttemptRow(
                    item_id=item.id,
                    number=n,
                    started_at=t,
                    duration_ms=dur,
                    status_code=code,
                    response_headers_json=json.dumps({"Content-Type": "application/json", "Server": "nginx"})
                    if code
                    else None,
                    response_body=(
                        json.dumps({"status": "ok", "received": oid})
                        if code and code < 300
                        else (json.dumps({"error": msg}) if code else None)
                    ),
                    error=None if code else msg,
                )
            )
            item.last_attempt_at = t
            item.response_status = code
            item.response_message = msg
            item.duration_ms = dur
            t = t + timedelta(seconds=90 * n)
        if st == "retrying":
            item.next_attempt_at = now + timedelta(seconds=rnd.randint(20, 600))
        if st == "queued":
            item.next_attempt_at = now
        if st in ("delivered", "failed", "cancelled"):
            item.finished_at = t
        if st == "failed":
            s.add(
                AlertRow(
                    severity="error",
                    title=f"Delivery failed for good: {title}",
                    message=f"Item #{item.id} ({ev}, {e.entity_code}) to {url}\nLast response: {item.response_status or ''} {item.response_message}\n11 attempts over 2 h 45 min.",
                    item_id=item.id,
                    trigger_id=tid,
                    created_at=t,
                    read=rnd.random() < 0.4,
                )
            )

ctx = AppContext(paths=paths, settings=Settings(), db=db, box=box)
w = MainWindow(ctx)
w.resize(1440, 880)
w.show()
w.start()
w.listener_address = "127.0.0.1:8765"
w._states = {"listener": "running", "delivery": "running"}
w._show_states()


def pump(sec):
    t = time.time()
    while time.time() - t < sec:
        app.processEvents()
        time.sleep(0.01)


pump(1.0)
out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/shots"
os.makedirs(out, exist_ok=True)
p = w.queue_page
# pick a failed item
m = p.model
failed_row = None
for r in range(400):
    m.index(r, 3).data()
    pump(0.05)
    if m.index(r, 3).data() == "Failed" and "ERP" in m.index(r, 4).data():
        failed_row = r
        break
p.select_row(failed_row)
pump(1.0)
p.detail_pane.tabs.setCurrentIndex(0)
pump(0.3)
w.grab().save(f"{out}/main-queue.png")
p.detail_pane.tabs.setCurrentIndex(1)
pump(0.3)
p.splitter.setSizes([260, 620])  # a taller detail pane for its own picture
pump(0.3)
p.detail_pane.grab().save(f"{out}/queue-detail.png")
p.splitter.setSizes([600, 340])
w.nav.setCurrentRow(2)
pump(0.5)
w.alerts_page.table.selectRow(1)
pump(0.5)
w.grab().save(f"{out}/alerts.png")
w.nav.setCurrentRow(0)
pump(0.5)
w.grab().save(f"{out}/main-triggers.png")
d = w.open_settings()
pump(0.5)
d.grab().save(f"{out}/settings.png")
d.reject()
# empty queue
w.nav.setCurrentRow(1)
p.filter_bar.text_edit.setText("no such order")
pump(1.0)
w.grab().save(f"{out}/queue-empty-filter.png")
w.close()
wait_for_background()
print("ok", out)
