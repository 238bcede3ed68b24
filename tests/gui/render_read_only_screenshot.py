# ruff: noqa: E402
"""Render a support workstation's read-only webhook editor offscreen (not a test; run by hand):

    PATH=$PATH:/usr/lib/postgresql/15/bin python3 tests/gui/render_read_only_screenshot.py docs/screenshots

Starts a throwaway PostgreSQL server, sets up the roles, adds the support login ``anna`` and a signed
trigger with basic authentication, and opens its Call Webhook action as anna would see it. Writes
support-read-only-editor.png (and support-read-only-trigger.png, the trigger editor behind it).
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication

app = QApplication([])
from sqlalchemy.engine import make_url

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.model import Priority, SignatureScheme, Trigger, WebhookAction
from shopctrl_desktop.domain.roles import Role
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.triggers.editor import TriggerEditorDialog
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store import roles
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secrets import load_secret_box
from tests.helpers.postgres import throwaway_postgres

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
paths = resolve_paths(tempfile.mkdtemp(prefix="shots-")).ensure()
box = load_secret_box(paths.data_dir, use_keyring=False)

with throwaway_postgres("shopctrl-shot-") as cluster:
    owner = cluster.new_database()
    name = make_url(owner.url).database
    with owner.session() as s:
        roles.setup_roles(s)
    with owner.session() as s:
        roles.add_user(s, "anna", Role.SUPPORT, "a-long-password")
    with owner.session() as s:
        trigger_store.save_trigger(
            s,
            box,
            Trigger(
                title="Orders to ERP",
                event="OrderChanged",
                condition={
                    "match": "all",
                    "rules": [{"field": "Order.TotalDue", "operator": "greaterThan", "value": 100}],
                },
                actions=(
                    WebhookAction(
                        url="https://erp.example.com/hooks/shopctrl/orders",
                        priority=Priority.HIGH,
                        unique_queue_items=True,
                        hmac_secret="whsec-not-shown",
                        signature_scheme=SignatureScheme.STANDARD_WEBHOOKS,
                        username="shopctrl",
                        password="not-shown-either",
                        headers={"X-Tenant": "main-store"},
                    ),
                ),
            ),
        )
    db = Database(f"postgresql+psycopg://anna@/{name}?host={cluster.base}&port={cluster.port}")
    ctx = AppContext(paths, Settings(deliver_here=False), db=db, box=box)
    with db.session() as s:
        (trigger,) = trigger_store.list_public_triggers(s)
    editor = TriggerEditorDialog(ctx, trigger)
    editor.resize(820, 640)
    editor.show()
    app.processEvents()
    editor.grab().save(str(out_dir / "support-read-only-trigger.png"))
    action = editor.open_action_editor(trigger.actions[0])
    action.resize(820, 700)
    action.show()
    for _ in range(20):
        app.processEvents()
    wait_for_background(10_000)
    app.processEvents()
    action.grab().save(str(out_dir / "support-read-only-editor.png"))
    action.done(0)
    editor.done(0)
    db.dispose()
    owner.dispose()
print("written to", out_dir)
