# ruff: noqa: E402
"""Render a bulk retry in progress on the Webhook Queue page offscreen (not a test; run by hand):

    python3 tests/gui/render_bulk_screenshot.py docs/screenshots

Writes bulk-retry-progress.png into the folder: the page with its progress dialog (the runner is held after
a few chunks so the picture shows it mid-way).
"""

import os
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QApplication

app = QApplication([])
from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.queue.page import QueuePage
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store.bulk import BulkOperation
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secrets import load_secret_box
from tests.gui.queue_support import add_queue_items

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
paths = resolve_paths(tempfile.mkdtemp(prefix="shots-")).ensure()
db = Database(f"sqlite:///{paths.database_file}")
box = load_secret_box(paths.data_dir, use_keyring=False)
ctx = AppContext(paths, Settings(), db=db, box=box)
ids = add_queue_items(db, 1200, status="failed")


class HeldDatabase:
    """The real database; the fourth chunk waits until the picture is taken."""

    def __init__(self) -> None:
        self.chunks = 0
        self.release = threading.Event()

    @contextmanager
    def session(self):  # type: ignore[no-untyped-def]
        self.chunks += 1
        if self.chunks == 4:
            self.release.wait(30)
        with db.session() as s:
            yield s


page = QueuePage(ctx)
page.resize(1300, 760)
page.show()
page.start()
for _ in range(40):
    app.processEvents()
    wait_for_background(200)
held = HeldDatabase()
page.bulk._db = held  # noqa: SLF001 - a rendering script, not app code
page.bulk.chunk_size = 100
page.bulk.start(BulkOperation.RETRY_FAILED, ids)
deadline = time.monotonic() + 20
while (page.bulk.dialog is None or page.bulk.dialog.value() < 300) and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
dialog = page.bulk.dialog
assert dialog is not None
dialog.show()
for _ in range(10):
    app.processEvents()
shot = page.grab()
box_image = dialog.grab()
# offscreen windows have no frame: draw a plain title bar and border around the dialog
x, y = (shot.width() - box_image.width()) // 2, (shot.height() - box_image.height()) // 3
title_height = 26
painter = QPainter(shot)
painter.fillRect(x - 1, y - title_height, box_image.width() + 2, title_height, QColor("#dcdcdc"))
painter.setPen(QColor("#222222"))
painter.drawText(x + 10, y - 8, dialog.windowTitle())
painter.drawPixmap(x, y, box_image)
painter.setPen(QColor("#888888"))
painter.drawRect(x - 1, y - title_height, box_image.width() + 1, box_image.height() + title_height)
painter.end()
out_dir.mkdir(parents=True, exist_ok=True)
shot.save(str(out_dir / "bulk-retry-progress.png"))
print(out_dir / "bulk-retry-progress.png")
held.release.set()
wait_for_background(10_000)
page.close()
