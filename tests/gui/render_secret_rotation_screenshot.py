# ruff: noqa: E402
"""Render the webhook editor's Authentication tab after a secret rotation, and the Rotate secret dialog,
offscreen (not a test; run by hand):

    python3 tests/gui/render_secret_rotation_screenshot.py docs/screenshots

Writes secret-rotation.png and secret-rotation-dialog.png (the secret masked: no secret is visible).
"""

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication

app = QApplication([])

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.model import SignatureScheme
from shopctrl_desktop.domain.signing import generate_secret
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.webhook.editor import TAB_GENERAL, WebhookEditorDialog
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secret_rotation import rotate_secret
from shopctrl_desktop.store.secrets import load_secret_box
from tests.helpers.factories import make_action

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
SW = SignatureScheme.STANDARD_WEBHOOKS
with tempfile.TemporaryDirectory() as tmp:
    paths = resolve_paths(Path(tmp)).ensure()
    db = Database(f"sqlite:///{paths.database_file}")
    db.migrate()
    box = load_secret_box(paths.data_dir, use_keyring=False)
    ctx = AppContext(paths=paths, settings=Settings(), db=db, box=box)
    stored = make_action(
        db,
        box,
        "https://erp.example.com/api/orders",
        title="Orders to ERP",
        hmac_secret=generate_secret(SW),
        signature_scheme=SW,
        username="shopctrl",
    )
    with db.session() as s:
        rotate_secret(s, box, stored.id, generate_secret(SW), overlap_hours=24, now=datetime.now(UTC))
    with db.session() as s:
        (trigger,) = trigger_store.list_triggers(s, box)
    dialog = WebhookEditorDialog(ctx, trigger.actions[0], trigger)
    dialog.tabs.setCurrentIndex(TAB_GENERAL)  # the secret, its scheme and its rotation
    dialog.resize(820, 680)
    dialog.show()
    app.processEvents()
    dialog.grab().save(str(out_dir / "secret-rotation.png"))
    rotate = dialog.rotate_secret()
    rotate.generate_button.click()
    app.processEvents()
    rotate.grab().save(str(out_dir / "secret-rotation-dialog.png"))
    rotate.reject()
    dialog.done(0)
    wait_for_background(10_000)
    db.dispose()
print(f"wrote {out_dir / 'secret-rotation.png'} and {out_dir / 'secret-rotation-dialog.png'}")
