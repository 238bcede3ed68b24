# ruff: noqa: E402
"""Render the first-start page (an empty data directory) offscreen (not a test; run by hand):

    python3 tests/gui/render_first_start_screenshot.py docs/screenshots

Writes first-start.png. The token stays hidden (Show is not pressed), so the picture holds no secret.
"""

import os
import sys
import tempfile

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication

app = QApplication([])
from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.main_window import PAGE_QUEUE, MainWindow
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secrets import load_secret_box

paths = resolve_paths(tempfile.mkdtemp(prefix="first-start-")).ensure()
db = Database(f"sqlite:///{paths.database_file}")
box = load_secret_box(paths.data_dir, use_keyring=False)
ctx = AppContext(paths=paths, settings=Settings(), db=db, box=box)
window = MainWindow(ctx)
window.resize(1280, 760)
window.show()
window.start()
window.listener_address = "127.0.0.1:8765"
window.nav.setCurrentRow(PAGE_QUEUE)
panel = window.queue_page.first_start
deadline = __import__("time").time() + 10
while not panel.isVisible() and __import__("time").time() < deadline:
    app.processEvents()
panel.refresh()
app.processEvents()
out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/shots"
os.makedirs(out, exist_ok=True)
window.grab().save(f"{out}/first-start.png")
window.close()
wait_for_background()
print("ok", out)
