# ruff: noqa: E402
"""Render the Shops dialog offscreen with a few shops learned from events (not a test; run by hand):

    python3 tests/gui/render_shops_screenshot.py docs/screenshots

Writes shops.png into the folder: one shop just renamed, another one's name being edited.
"""

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication, QLineEdit

app = QApplication([])
from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.triggers.shops import ShopColumn
from shopctrl_desktop.gui.triggers.shops_dialog import ShopsDialog
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import Shop
from shopctrl_desktop.store.secrets import load_secret_box
from shopctrl_desktop.store.shops import rename_shop

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
paths = resolve_paths(tempfile.mkdtemp(prefix="shots-")).ensure()
db = Database(f"sqlite:///{paths.database_file}")
box = load_secret_box(paths.data_dir, use_keyring=False)
ctx = AppContext(paths, Settings(), db=db, box=box)

with db.session() as s:  # as intake learns them ("Shop N"), on the day each shop's first event came in
    for shop_id, day in ((1, 2), (2, 9), (3, 9), (7, 21), (12, 30)):
        s.add(Shop(id=shop_id, name=f"Shop {shop_id}", created_at=datetime(2026, 11, day, 9, 41, tzinfo=UTC)))
with db.session() as s:
    rename_shop(s, 1, "Main store (NL)")
    rename_shop(s, 7, "Webshop Germany")

dialog = ShopsDialog(ctx)
dialog.resize(620, 400)
dialog.show()
while dialog.model.rowCount() == 0:
    app.processEvents()
renamed = []
dialog.shop_renamed.connect(lambda *args: renamed.append(args))
dialog.model.setData(dialog.model.index(dialog.model.row_of(2), ShopColumn.NAME), "Outlet Rotterdam")
while not renamed:
    app.processEvents()
dialog.select_shop(3)
dialog.edit_selected_name()
app.processEvents()
editor = dialog.table.findChild(QLineEdit)
if editor is not None:
    editor.setText("Pick-up point Utr")
app.processEvents()
dialog.grab().save(str(out_dir / "shops.png"))
print(f"wrote {out_dir / 'shops.png'}")
wait_for_background()
db.dispose()
