# ruff: noqa: E402
"""Render the Activity page offscreen with a realistic audit trail (not a test; run by hand):

    python3 tests/gui/render_activity_screenshot.py docs/screenshots

Writes activity.png into the folder.
"""

import os
import sys
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication

app = QApplication([])
from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.model import Priority, Trigger, WebhookAction
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.main_window import PAGE_ACTIVITY, MainWindow
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store import queue
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import AuditEntryRow, utcnow
from shopctrl_desktop.store.secrets import load_secret_box
from tests.gui.queue_support import add_alert, add_queue_items

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
paths = resolve_paths(tempfile.mkdtemp(prefix="shots-")).ensure()
db = Database(f"sqlite:///{paths.database_file}")
box = load_secret_box(paths.data_dir, use_keyring=False)
ctx = AppContext(paths, Settings(), db=db, box=box)

with db.session() as s:
    erp = trigger_store.save_trigger(
        s,
        box,
        Trigger(
            title="Order paid → ERP",
            event="OrderChanged",
            actions=(
                WebhookAction(
                    url="https://erp.example-shop.com/api/webhooks/orders",
                    hmac_secret="initial-secret",
                    priority=Priority.HIGH,
                ),
            ),
        ),
    )
    crm = trigger_store.save_trigger(
        s,
        box,
        Trigger(
            title="New customer → CRM",
            event="CustomerCreated",
            actions=(WebhookAction(url="https://crm.example.com/hooks/customers", username="shop"),),
        ),
    )
ids = add_queue_items(db, 6, status="failed")
for item in ids[:3]:
    add_alert(db, item)
with db.session() as s:
    stored = trigger_store.get_trigger(s, box, erp)
    action = replace(
        stored.actions[0],
        url="https://erp.example-shop.com/api/v2/webhooks/orders",
        hmac_secret="rotated-secret",
        timeout_seconds=15,
        headers={"X-Team": "finance"},
    )
    trigger_store.save_trigger(s, box, replace(stored, actions=(action,)))
    trigger_store.set_enabled(s, crm, False)
    queue.retry_item(s, ids[0])
    queue.cancel_item(s, ids[1])
    queue.retry_failed(s)
    queue.resend_item(s, ids[0])
ctx.save_settings(replace(ctx.settings, concurrency=8, listen_port=8770))
# what colleagues did earlier, on other workstations (the rows as the store writes them)
with db.session() as s:
    for days, who, desk, action_name, kind, sid, name, changes in (
        (1, "maria", "support-02", "item.retried", "item", ids[4], "Order paid → ERP", "[]"),
        (1, "maria", "support-02", "alerts.read", "alert", 1, "Order paid → ERP: 410 Gone", "[]"),
        (
            2,
            "tom",
            "office-pc",
            "trigger.changed",
            "trigger",
            crm,
            "New customer → CRM",
            '[{"field": "actions[1].password", "secret": true, "change": "changed"}]',
        ),
    ):
        s.add(
            AuditEntryRow(
                at=utcnow() - timedelta(days=days, hours=3),
                who=who,
                workstation=desk,
                action=action_name,
                subject_kind=kind,
                subject_id=sid,
                subject_name=name,
                changes_json=changes,
            )
        )

window = MainWindow(ctx)
window.resize(1360, 820)
window.show()
window.start()
window.nav.setCurrentRow(PAGE_ACTIVITY)
page = window.activity_page
for _ in range(50):
    app.processEvents()
    wait_for_background(2000)
app.processEvents()
whats = [page.model.index(r, 3).data() for r in range(page.model.rowCount())]
page.table.selectRow(whats.index("Changed trigger “Order paid → ERP”"))
app.processEvents()
out_dir.mkdir(parents=True, exist_ok=True)
window.grab().save(str(out_dir / "activity.png"))
print(out_dir / "activity.png")
window.close()
