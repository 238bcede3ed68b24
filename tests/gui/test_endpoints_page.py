"""The Endpoints page and the status bar's circuit note: real SQLite file, attempts recorded through the
engine's record path (and the circuit breaker's, to open a circuit)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import select, update

from shopctrl_desktop.gui.endpoints.model import (
    COL_ENDPOINT,
    COL_FAILED,
    COL_LATENCY,
    COL_OK_1H,
    COL_OK_24H,
    COL_QUEUED,
    COL_RETRYING,
    COL_STATE,
    COL_USED_BY,
)
from shopctrl_desktop.gui.endpoints.page import EndpointsPage
from shopctrl_desktop.gui.main_window import PAGE_ENDPOINTS, MainWindow
from shopctrl_desktop.store.endpoint_stats import minute_of
from shopctrl_desktop.store.models import AuditEntryRow, EndpointRow, QueueItemRow, utcnow
from tests.gui.queue_support import OFFSCREEN_NOTE
from tests.helpers.factories import add_items, make_action, record_attempts

pytestmark = OFFSCREEN_NOTE

ERP = "https://erp.example.com/api/orders"
SHOP = "https://shop.example.com/hook"


@pytest.fixture
def page(qtbot, ctx):
    widget = EndpointsPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1300, 700)
    with qtbot.waitSignal(widget.loaded, timeout=10_000):
        widget.show()  # the first load (an empty database)
    return widget


def load(qtbot, page: EndpointsPage) -> None:
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.reload()


def cell(page: EndpointsPage, key: str, col: int) -> str:
    row = page.model.row_of(key)
    assert row is not None
    return page.model.index(row, col).data()


def failing_erp(ctx) -> None:
    """ERP: 5 connection failures opened its circuit; shop: healthy."""
    db, box = ctx.db, ctx.box
    erp = make_action(db, box, ERP, title="Orders to ERP")
    shop = make_action(db, box, SHOP, title="Stock to shop")
    record_attempts(db, erp, [(200, 180.0)] * 15, started_at=utcnow() - timedelta(hours=3))
    record_attempts(db, erp, [(None, 5000.0)] * 5, breaker=True)
    record_attempts(db, shop, [(200, 40.0)] * 12)
    add_items(db, erp, 4)


def test_lists_endpoints_with_their_figures_and_charts_the_selected_one(qtbot, page, ctx):
    failing_erp(ctx)
    load(qtbot, page)
    assert page.model.rowCount() == 2
    assert page.model.row_at(0).key == ERP  # failing first
    assert cell(page, ERP, COL_ENDPOINT) == "erp.example.com/api/orders"
    assert cell(page, ERP, COL_STATE) == "circuit open"
    assert cell(page, ERP, COL_OK_1H) == "0 %" and cell(page, ERP, COL_OK_24H) == "75 %"
    assert cell(page, ERP, COL_QUEUED) == "4" and cell(page, ERP, COL_RETRYING) == "5"
    assert cell(page, ERP, COL_USED_BY) == "Orders to ERP"
    assert cell(page, SHOP, COL_STATE) == "healthy" and cell(page, SHOP, COL_OK_1H) == "100 %"
    assert cell(page, SHOP, COL_LATENCY).endswith("ms") and cell(page, SHOP, COL_FAILED) == "0"
    assert "Connection refused" in page.model.row_at(0).summary.last_error
    assert not page.model.index(0, COL_STATE).data(Qt.ItemDataRole.DecorationRole).isNull()
    assert page.summary.text() == "2 endpoints · 1 failing"

    # the chart has the selected endpoint's per-minute series
    series = page.chart.series
    assert series is not None and series.key == ERP
    assert sum(series.failed) == 5 and sum(series.delivered) == 15
    assert page.chart.failed.count() == 24 * 60
    now_index = minute_of(utcnow()) - minute_of(series.start)
    assert page.chart.failed.at(now_index).y() == 5

    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.table.selectRow(page.model.row_of(SHOP))
    assert page.chart.series.key == SHOP and sum(page.chart.series.delivered) == 12
    assert "shop.example.com/hook" in page.chart.chart_.title()


def test_pause_and_resume_from_the_page(qtbot, page, ctx):
    failing_erp(ctx)
    load(qtbot, page)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.table.selectRow(page.model.row_of(SHOP))
    assert page.pause_button.isEnabled() and not page.resume_button.isEnabled()
    with qtbot.waitSignal(page.loaded, timeout=10_000), qtbot.waitSignal(page.message_posted) as message:
        qtbot.mouseClick(page.pause_button, Qt.MouseButton.LeftButton)
    assert message.args == ["shop.example.com/hook paused; 0 items wait and keep their attempts"]
    assert cell(page, SHOP, COL_STATE) == "paused"
    assert page.resume_button.isEnabled() and not page.pause_button.isEnabled()
    with qtbot.waitSignal(page.loaded, timeout=10_000), qtbot.waitSignal(page.items_requeued):
        qtbot.mouseClick(page.resume_button, Qt.MouseButton.LeftButton)
    assert cell(page, SHOP, COL_STATE) == "healthy"
    with ctx.db.sessions() as s:
        audit = s.scalars(select(AuditEntryRow.action).order_by(AuditEntryRow.id)).all()
    assert audit[-2:] == ["endpoint.paused", "endpoint.resumed"]


def test_retry_since_the_outage_shows_the_count_then_retries(qtbot, page, ctx):
    failing_erp(ctx)
    db = ctx.db
    erp = make_action(db, ctx.box, ERP, title="Orders to ERP again")
    failed = add_items(db, erp, 3)
    before = add_items(db, erp, 2)
    now = utcnow()
    with db.session() as s:
        row = s.scalar(select(EndpointRow).where(EndpointRow.url == ERP))
        outage = row.failing_since
        s.execute(
            update(QueueItemRow).where(QueueItemRow.id.in_(failed)).values(status="failed", finished_at=now)
        )
        s.execute(
            update(QueueItemRow)
            .where(QueueItemRow.id.in_(before))
            .values(status="failed", finished_at=outage - timedelta(hours=1))
        )
    load(qtbot, page)
    assert page.selected().key == ERP
    qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.retry_box is not None and page.retry_box.isVisible(), timeout=10_000)
    box = page.retry_box
    assert "Retry 3 items of erp.example.com/api/orders that failed since the outage began" in box.text()
    assert box.button(QMessageBox.StandardButton.Yes).text() == "Retry 3 items"  # the count on the button
    with qtbot.waitSignal(page.items_requeued, timeout=10_000):
        box.button(QMessageBox.StandardButton.Yes).click()
    with db.sessions() as s:
        statuses = dict(s.execute(select(QueueItemRow.id, QueueItemRow.status)).all())
    assert [statuses[i] for i in failed] == ["queued"] * 3
    assert [statuses[i] for i in before] == ["failed"] * 2

    page.retry_box = None  # again: nothing left to retry, said in words
    qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.retry_box is not None and page.retry_box.isVisible(), timeout=10_000)
    assert page.retry_box.windowTitle() == "Nothing to retry" and "No item of" in page.retry_box.text()
    page.retry_box.close()


def test_status_bar_note_appears_when_a_circuit_opens_and_opens_the_page(qtbot, ctx):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.nav.setCurrentRow(0)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: window.queue_page.model.is_complete, timeout=10_000)
    label = window.circuit_label
    with qtbot.waitSignal(window.endpoints_page.circuit_note_changed, timeout=10_000):
        window.endpoints_page.load_note()
    assert not label.isVisible()

    failing_erp(ctx)
    with qtbot.waitSignal(window.endpoints_page.circuit_note_changed, timeout=10_000):
        window.endpoints_page.note_changes()  # what the engine's signals do
    assert label.isVisible()
    assert "erp.example.com/api/orders failing since" in label.text() and "9 waiting" in label.text()
    label.linkActivated.emit("endpoints")
    assert window.nav.currentRow() == PAGE_ENDPOINTS
    qtbot.waitUntil(lambda: window.endpoints_page.model.rowCount() == 2, timeout=10_000)


def test_live_changes_reload_at_most_once_a_second(qtbot, page, ctx, monkeypatch):
    reloads: list[int] = []
    monkeypatch.setattr(page, "reload", lambda: reloads.append(1))
    for _ in range(20):  # a burst of engine signals
        page.note_changes([])
    assert reloads == [] and page._refresh_timer.isActive()
    qtbot.waitUntil(lambda: not page._refresh_timer.isActive(), timeout=5_000)
    assert reloads == [1]
    page.hide()  # hidden: marked stale, reloaded when shown again
    page.note_changes([])
    qtbot.waitUntil(lambda: not page._refresh_timer.isActive(), timeout=5_000)
    assert reloads == [1]
    page.show()
    assert reloads == [1, 1]


GONE = "https://erp.example.com/gone/returns"


def test_an_endpoint_whose_items_fail_reads_failing_not_healthy(qtbot, page, ctx):
    """410 Gone is not a failure for the breaker (the endpoint answered), but most of the hour failed and
    items gave up: the admin reads "failing", in amber, with the rule in the tooltip."""
    db, box = ctx.db, ctx.box
    gone = make_action(db, box, GONE, title="Returns")
    shop = make_action(db, box, SHOP, title="Stock to shop")
    record_attempts(db, gone, [(200, 90.0)] * 8 + [(410, 40.0)] * 9)  # 47 %, 9 items failed
    record_attempts(db, shop, [(200, 40.0)] * 12)
    load(qtbot, page)
    assert cell(page, GONE, COL_STATE) == "failing" and cell(page, GONE, COL_OK_1H) == "47 %"
    assert page.model.row_at(0).key == GONE  # failing first
    assert cell(page, SHOP, COL_STATE) == "healthy"
    row = page.model.row_of(GONE)
    assert "failed for good in the last hour" in page.model.index(row, COL_STATE).data(
        Qt.ItemDataRole.ToolTipRole
    )
    assert page.summary.text() == "2 endpoints · 1 failing"


def test_offline_endpoints_with_waiting_items_and_the_banner(qtbot, ctx):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    page = window.endpoints_page
    db, box = ctx.db, ctx.box
    erp = make_action(db, box, ERP, title="Orders to ERP")
    make_action(db, box, SHOP, title="Stock to shop")
    add_items(db, erp, 3)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        window.nav.setCurrentRow(PAGE_ENDPOINTS)
    assert cell(page, ERP, COL_STATE) == "healthy" and not page.offline_banner.isVisible()

    since = (utcnow() - timedelta(minutes=3)).replace(second=0, microsecond=0)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        window._on_engine_state_changed("delivery", "offline", since.isoformat())  # the engine's report
    local = since.astimezone().strftime("%H:%M")
    assert page.offline_banner.isVisible()
    assert page.offline_banner.text() == f"Offline — deliveries paused since {local}"
    assert window.offline_label.text() == f"⚠ Offline — deliveries paused since {local}"
    assert cell(page, ERP, COL_STATE) == "offline"  # 3 items wait for the network
    assert cell(page, SHOP, COL_STATE) == "healthy"  # nothing waits for it
    row = page.model.row_of(ERP)
    dot = page.model.index(row, COL_STATE).data(Qt.ItemDataRole.DecorationRole).toImage()
    grey = dot.pixelColor(dot.width() // 2, dot.height() // 2)
    assert grey.red() == grey.green() == grey.blue()  # grey, not a health colour
    assert page.summary.text() == "2 endpoints · 1 offline"

    with qtbot.waitSignal(page.loaded, timeout=10_000):
        window._on_engine_state_changed("delivery", "running", "")
    assert not page.offline_banner.isVisible() and cell(page, ERP, COL_STATE) == "healthy"
