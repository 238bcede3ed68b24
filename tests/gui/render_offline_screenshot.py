# ruff: noqa: E402
"""Render the status bar while this workstation is offline (not a test; run by hand):

    python3 tests/gui/render_offline_screenshot.py docs/screenshots

Writes offline-status.png: the window's status bar as the engine's "offline since 10:42" report leaves it, with a
few items waiting in the queue counts.
"""

import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication

app = QApplication([])

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.queue import QueueCounts
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.main_window import MainWindow
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secrets import load_secret_box

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
paths = resolve_paths(tempfile.mkdtemp(prefix="shots-")).ensure()
db = Database(f"sqlite:///{paths.database_file}")
box = load_secret_box(paths.data_dir, use_keyring=False)
ctx = AppContext(paths, Settings(), db=db, box=box)

window = MainWindow(ctx)
window.resize(1400, 700)
window.show()
window.start()
for _ in range(50):
    app.processEvents()
    wait_for_background(2000)
since = datetime.now().astimezone().replace(hour=10, minute=42, second=0, microsecond=0)
window._on_engine_state_changed("listener", "running", "127.0.0.1:8765")  # noqa: SLF001 - what the engine reports
window._on_engine_state_changed("delivery", "offline", since.isoformat())  # noqa: SLF001
window.show_counts(QueueCounts(queued=214, retrying=37, failed=0))
app.processEvents()
window.statusBar().grab().save(str(out_dir / "offline-status.png"))
print(window.offline_label.text())
