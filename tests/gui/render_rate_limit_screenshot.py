# ruff: noqa: E402
"""Render the Endpoints page with a rate-limited endpoint and its "Rate limit…" dialog offscreen (not a test;
run by hand):

    python3 tests/gui/render_rate_limit_screenshot.py docs/screenshots

Writes endpoint-rate-limit.png (the page with the dialog over it). A day of traffic goes into the per-minute
rollup (store/endpoint_stats.py ``add_attempts``); the stock endpoint is limited to 5 requests a second.
"""

import math
import os
import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QApplication

app = QApplication([])

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.outcome import AttemptResult
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.main_window import PAGE_ENDPOINTS, MainWindow
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.endpoint_stats import add_attempts
from shopctrl_desktop.store.endpoints import set_rate_limit
from shopctrl_desktop.store.models import utcnow
from shopctrl_desktop.store.secrets import load_secret_box
from tests.helpers.factories import add_items, make_action

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
paths = resolve_paths(tempfile.mkdtemp(prefix="shots-")).ensure()
db = Database(f"sqlite:///{paths.database_file}")
box = load_secret_box(paths.data_dir, use_keyring=False)
ctx = AppContext(paths, Settings(), db=db, box=box)
rng = random.Random(11)

ERP = "https://erp.example-shop.com/api/webhooks/orders"
STOCK = "https://erp.example-shop.com/api/webhooks/stock"
SHOP = "https://hooks.shopify-bridge.example.net/shopctrl"
erp = make_action(db, box, ERP, title="Order paid → ERP")
stock = make_action(db, box, STOCK, title="Stock changed → ERP")
make_action(db, box, SHOP, title="Order shipped → marketplace")
now = utcnow()


def traffic(url: str, scale: float, ms: float, fail_share: float) -> None:
    outcomes = []
    for minute in range(24 * 60, 0, -1):
        t = now - timedelta(minutes=minute)
        hour = t.astimezone().hour + t.astimezone().minute / 60
        mean = (1.5 + 9 * math.exp(-((hour - 11) ** 2) / 8) + 12 * math.exp(-((hour - 20) ** 2) / 6)) * scale
        for _ in range(max(0, round(rng.gauss(mean, math.sqrt(mean))))):
            status = 429 if rng.random() < fail_share else 200
            outcomes.append(
                (SimpleNamespace(url=url), AttemptResult(t, rng.lognormvariate(math.log(ms), 0.4), status))
            )
    with db.session() as s:
        add_attempts(s.connection(), outcomes)


traffic(ERP, 1.0, 180, 0.003)
traffic(STOCK, 4.0, 90, 0.002)
traffic(SHOP, 0.8, 320, 0.01)
add_items(db, stock, 140)
add_items(db, erp, 2)
with db.session() as s:
    set_rate_limit(s, STOCK, 5)

window = MainWindow(ctx)
window.resize(1500, 860)
window.show()
window.start()
window.nav.setCurrentRow(PAGE_ENDPOINTS)
page = window.endpoints_page
page.reload()
for _ in range(200):
    app.processEvents()
    wait_for_background(2000)
    app.processEvents()
page.select_endpoint(STOCK)
for _ in range(50):
    app.processEvents()
    wait_for_background(2000)
app.processEvents()
page.edit_rate_limit()
dialog = page.rate_dialog
assert dialog is not None
for _ in range(20):
    app.processEvents()
shot = window.grab()
painter = QPainter(shot)
box_shot: QPixmap = dialog.grab()
x = (shot.width() - box_shot.width()) // 2
y = 150
painter.fillRect(x - 1, y - 1, box_shot.width() + 2, box_shot.height() + 2, "#888888")
painter.drawPixmap(x, y, box_shot)
painter.end()
shot.save(str(out_dir / "endpoint-rate-limit.png"))
print("limit cell:", page.model.index(page.model.row_of(STOCK), 10).data())
