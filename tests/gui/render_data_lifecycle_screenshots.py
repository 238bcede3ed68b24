# ruff: noqa: E402
"""Render the erasure dialog (after a preview) and the Settings dialog's retention box offscreen (not a test;
run by hand):

    python3 tests/gui/render_data_lifecycle_screenshots.py docs/screenshots

Writes erase-dialog.png and settings-retention.png from a throwaway SQLite database with a customer's data.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication

app = QApplication([])

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.erase_dialog import EraseDialog
from shopctrl_desktop.gui.settings.dialog import SettingsDialog
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secrets import load_secret_box
from tests.unit.test_erasure import fill

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
paths = resolve_paths(tempfile.mkdtemp(prefix="shots-")).ensure()
box = load_secret_box(paths.data_dir, use_keyring=False)
db = Database(f"sqlite:///{paths.database_file}")
fill(db)
ctx = AppContext(paths=paths, settings=Settings(keep_failed_days=0), db=db, box=box)


def settle(until) -> None:  # type: ignore[no-untyped-def]
    for _ in range(500):
        app.processEvents()
        if until():
            return
        wait_for_background(20)
    raise SystemExit("the dialog did not settle")


erase = EraseDialog(ctx)
erase.show()
erase.email_edit.setText("ann.example@shop.example")
erase.preview()
settle(lambda: "Erasing would" in erase.message.text())
erase.adjustSize()
erase.grab().save(str(out_dir / "erase-dialog.png"))

settings = SettingsDialog(ctx)
settings.show()
settings.token_edit.setText("token-not-shown")  # echo mode hides it anyway
settings.retention_box.purge_message.setText("Nothing is past its retention now.")
settings.tabs.setCurrentIndex(2)  # Data: storage and retention
settings.adjustSize()
settings.grab().save(str(out_dir / "settings-retention.png"))
print("wrote", out_dir / "erase-dialog.png", out_dir / "settings-retention.png")
