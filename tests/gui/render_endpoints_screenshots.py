# ruff: noqa: E402
"""Render the Endpoints page (with its chart) and the status bar's circuit note offscreen with realistic data
(not a test; run by hand):

    python3 tests/gui/render_endpoints_screenshots.py docs/screenshots

Writes endpoints.png and circuit-open-status.png into the folder. 24 hours of traffic go into the per-minute
rollup through the record path's own aggregation (store/endpoint_stats.py ``add_attempts``); the ERP's
outage of the last 40 minutes is recorded through the engine's record path and the circuit breaker.
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

from PySide6.QtWidgets import QApplication

app = QApplication([])
from sqlalchemy import update

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.outcome import AttemptResult
from shopctrl_desktop.gui.background import wait_for_background
from shopctrl_desktop.gui.main_window import PAGE_ENDPOINTS, MainWindow
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.endpoint_stats import add_attempts
from shopctrl_desktop.store.models import EndpointRow, QueueItemRow, utcnow
from shopctrl_desktop.store.secrets import load_secret_box
from tests.helpers.factories import add_items, make_action, record_attempts

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
paths = resolve_paths(tempfile.mkdtemp(prefix="shots-")).ensure()
db = Database(f"sqlite:///{paths.database_file}")
box = load_secret_box(paths.data_dir, use_keyring=False)
ctx = AppContext(paths, Settings(), db=db, box=box)
rng = random.Random(7)

ERP = "https://erp.example-shop.com/api/webhooks/orders"
STOCK = "https://erp.example-shop.com/api/webhooks/stock"
SHOP = "https://hooks.shopify-bridge.example.net/shopctrl"
SLACK = "https://hooks.slack.com/services/T0000/B0000/placeholder"
erp = make_action(db, box, ERP, title="Order paid → ERP")
make_action(db, box, ERP, title="Order cancelled → ERP")
stock = make_action(db, box, STOCK, title="Stock changed → ERP")
shop = make_action(db, box, SHOP, title="Order shipped → marketplace")
slack = make_action(db, box, SLACK, title="Big order → Slack")

now = utcnow()
outage = now - timedelta(minutes=41)


def busy(t) -> float:  # orders per minute by local hour: quiet at night, busy late morning and evening
    hour = t.astimezone().hour + t.astimezone().minute / 60
    return 1.5 + 9 * math.exp(-((hour - 11) ** 2) / 8) + 12 * math.exp(-((hour - 20) ** 2) / 6)


def traffic(url: str, scale: float, ms: float, *, fail_share: float = 0.0, stop_at=None) -> None:
    outcomes = []
    for minute in range(24 * 60, 0, -1):
        t = now - timedelta(minutes=minute)
        if stop_at is not None and t >= stop_at:
            continue
        mean = busy(t) * scale
        for _ in range(max(0, round(rng.gauss(mean, math.sqrt(mean))))):
            failed = rng.random() < fail_share
            outcomes.append(
                (
                    SimpleNamespace(url=url),
                    AttemptResult(t, rng.lognormvariate(math.log(ms), 0.45), 500 if failed else 200),
                )
            )
    with db.session() as s:
        add_attempts(s.connection(), outcomes)


traffic(ERP, 1.0, 180, fail_share=0.004, stop_at=outage)
traffic(STOCK, 0.6, 140, fail_share=0.002, stop_at=outage)
traffic(SHOP, 0.8, 320, fail_share=0.01)
traffic(SLACK, 0.05, 90)
# the outage: 503s, then the circuit opens and items wait for the probes
record_attempts(db, erp, [(503, 30.0)] * 5, started_at=outage, breaker=True)
record_attempts(db, stock, [(503, 25.0)] * 3, started_at=outage + timedelta(minutes=1), breaker=True)
for minute in range(1, 40, 2):
    record_attempts(db, erp, [(503, 28.0)], started_at=outage + timedelta(minutes=minute))
waiting = add_items(db, erp, 300)
failed = add_items(db, erp, 12)
add_items(db, shop, 3)
with db.session() as s:
    s.execute(
        update(QueueItemRow).where(QueueItemRow.id.in_(failed)).values(status="failed", finished_at=now)
    )
    row = s.query(EndpointRow).filter_by(url=ERP).one()
    row.last_error = "HTTP 503 Service Unavailable: upstream connect error or disconnect/reset before headers"
    s.query(EndpointRow).filter_by(url=STOCK).one().last_error = "HTTP 503 Service Unavailable: maintenance"

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
page.select_endpoint(ERP)
for _ in range(50):
    app.processEvents()
    wait_for_background(2000)
app.processEvents()
window.grab().save(str(out_dir / "endpoints.png"))
bar = window.statusBar()
bar.grab().save(str(out_dir / "circuit-open-status.png"))
print("circuit note:", window.circuit_label.text())
