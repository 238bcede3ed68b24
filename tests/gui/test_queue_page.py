"""The Webhook Queue page: lazy id-list model, SQL filters, detail pane, actions, live updates."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from shopctrl_desktop.domain.events import find_event
from shopctrl_desktop.domain.queue import ItemChange
from shopctrl_desktop.gui.queue.columns import Column
from shopctrl_desktop.gui.queue.model import ID_ROLE, REFRESH_INTERVAL_MS, QueueTableModel
from shopctrl_desktop.gui.queue.page import QueuePage
from shopctrl_desktop.store.browse import MASK, QueueFilter
from shopctrl_desktop.store.models import QueueItemRow
from tests.gui.queue_support import OFFSCREEN_NOTE, add_queue_items, answer_questions, item_status

pytestmark = OFFSCREEN_NOTE


@pytest.fixture
def page(qtbot, ctx):
    widget = QueuePage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    return widget


def load(qtbot, page: QueuePage, flt: QueueFilter | None = None) -> None:
    if flt is None:
        page.start()
    else:
        page.set_filter(flt)
    qtbot.waitUntil(lambda: page.model.is_complete and not page.model.is_loading, timeout=10_000)


def cell(qtbot, model: QueueTableModel, row: int, col: int, role=Qt.ItemDataRole.DisplayRole):
    """A cell's value once its row arrived from the database (rows are fetched on a worker)."""
    model.index(row, col).data()  # asks for the page
    qtbot.waitUntil(lambda: model.is_row_loaded(row), timeout=5_000)
    return model.index(row, col).data(role)


def test_model_passes_qtmodeltester(qtbot, qtmodeltester, ctx):
    add_queue_items(ctx.db, 40)
    model = QueueTableModel(ctx)
    with qtbot.waitSignal(model.ids_loaded, timeout=10_000):
        model.set_filter(QueueFilter())
    assert model.rowCount() == 40
    qtmodeltester.check(model)  # rows not fetched yet
    assert cell(qtbot, model, 39, Column.ENTITY) == "Order ORD-1000"
    qtbot.waitUntil(lambda: all(model.is_row_loaded(r) for r in range(40)), timeout=5_000)
    qtmodeltester.check(model)  # rows in the cache


def test_each_named_column_shows_its_field_and_the_url_comes_last(qtbot, page, ctx):
    add_queue_items(ctx.db, 3)
    load(qtbot, page)
    model = page.model
    cell(qtbot, model, 0, Column.ID)
    row = model.cached_row(model.index(0, Column.ID).data(ID_ROLE))
    assert row is not None
    assert [
        model.headerData(c, Qt.Orientation.Horizontal) for c in (Column.ID, Column.URL, Column.DURATION)
    ] == [
        "ID",
        "URL",
        "Duration",
    ]
    assert cell(qtbot, model, 0, Column.ID) == str(row.id)
    assert cell(qtbot, model, 0, Column.TRIGGER) == row.trigger_title
    assert cell(qtbot, model, 0, Column.EVENT) == find_event(row.event_name).display_name  # "Order changed"
    assert cell(qtbot, model, 0, Column.URL) == row.url
    assert cell(qtbot, model, 0, Column.URL, Qt.ItemDataRole.ToolTipRole) == row.url
    assert cell(qtbot, model, 0, Column.ATTEMPTS) == str(row.attempts)
    header = page.table.horizontalHeader()
    assert header.visualIndex(Column.URL) == len(Column) - 1
    assert page.table.columnWidth(Column.STATUS) == 86


def test_page_shows_newest_first_and_filters_in_sql(qtbot, page, ctx):
    ids = add_queue_items(ctx.db, 60)
    load(qtbot, page)
    model = page.model
    assert model.rowCount() == 60
    assert model.index(0, 0).data(ID_ROLE) == ids[-1]  # newest first
    assert model.index(59, 0).data() == str(ids[0])
    failed_row = next(r for r in range(60) if cell(qtbot, model, r, Column.STATUS) == "Failed")
    assert cell(qtbot, model, failed_row, Column.STATUS, Qt.ItemDataRole.ForegroundRole).name() == "#a61b1b"
    assert "60 items" in page.count_label.text()

    page.filter_bar.status_combo.setCurrentText("Failed")
    qtbot.waitUntil(
        lambda: model.current_filter.statuses == ("failed",) and model.is_complete, timeout=10_000
    )
    assert model.rowCount() == 10
    assert {cell(qtbot, model, r, Column.STATUS) for r in range(10)} == {"Failed"}

    load(qtbot, page, QueueFilter(text="ORD-1007"))
    assert [cell(qtbot, model, r, 6) for r in range(model.rowCount())] == ["Order ORD-1007"]
    load(qtbot, page, QueueFilter(trigger_title="Shipment to carrier", statuses=("delivered",)))
    assert model.rowCount() == 10
    load(qtbot, page, QueueFilter(event="InvoicePaymentsDone"))
    assert model.rowCount() == 20
    load(qtbot, page, QueueFilter(text=f"#{ids[5]}"))
    assert model.rowCount() == 1 and model.index(0, 0).data(ID_ROLE) == ids[5]

    page.filter_bar.text_edit.setText("nothing like this")
    qtbot.waitUntil(
        lambda: model.current_filter.text == "nothing like this" and model.is_complete, timeout=10_000
    )
    assert model.rowCount() == 0
    assert page.empty_label.isVisible() and "match" in page.empty_label.text()


def test_rows_are_fetched_lazily(qtbot, page, ctx):
    add_queue_items(ctx.db, 1200)
    load(qtbot, page)
    assert page.model.rowCount() == 1200
    qtbot.waitUntil(lambda: page.model.is_row_loaded(0), timeout=5_000)  # the first screen was drawn
    # only the pages around what was drawn are in memory
    assert 0 < len(page.model._cache) < 600
    page.select_row(1199)
    qtbot.waitUntil(lambda: page.detail_pane.detail is not None, timeout=10_000)
    assert cell(qtbot, page.model, 1199, 6) == "Order ORD-1000"


def test_retry_a_failed_item_from_the_queue_page(qtbot, page, ctx):
    ids = add_queue_items(ctx.db, 12)
    load(qtbot, page)
    failed = next(i for i in ids if item_status(ctx.db, i) == "failed")
    cell(qtbot, page.model, page.model.row_of(failed), Column.STATUS)
    page.select_row(page.model.row_of(failed))
    qtbot.waitUntil(page.retry_button.isEnabled, timeout=5_000)
    assert not page.cancel_button.isEnabled()
    with qtbot.waitSignal(page.items_requeued, timeout=10_000):
        qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    assert item_status(ctx.db, failed) == "queued"
    row = page.model.row_of(failed)
    qtbot.waitUntil(lambda: page.model.index(row, Column.STATUS).data() == "Queued", timeout=5_000)


def test_cancel_and_resend(qtbot, page, ctx, monkeypatch):
    asked = answer_questions(monkeypatch, "Cancel the item")
    ids = add_queue_items(ctx.db, 6)
    load(qtbot, page)
    queued = next(i for i in ids if item_status(ctx.db, i) == "queued")
    cell(qtbot, page.model, page.model.row_of(queued), Column.STATUS)
    page.select_row(page.model.row_of(queued))
    qtbot.waitUntil(page.cancel_button.isEnabled, timeout=5_000)
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: item_status(ctx.db, queued) == "cancelled", timeout=5_000)
    assert len(asked) == 1 and f"#{queued} " in asked[0]

    with qtbot.waitSignal(page.items_requeued, timeout=10_000):
        qtbot.mouseClick(page.resend_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.model.rowCount() == 7, timeout=5_000)
    new_id = page.model.index(0, 0).data(ID_ROLE)
    assert new_id > max(ids)
    assert item_status(ctx.db, new_id) == "queued"


def test_bulk_retry_of_failed_items_in_the_filter(qtbot, page, ctx):
    ids = add_queue_items(ctx.db, 30) + add_queue_items(ctx.db, 3, status="failed", start=1)
    load(qtbot, page, QueueFilter(trigger_title="Invoice to accounting"))
    with qtbot.waitSignal(page.items_requeued, timeout=10_000):
        page.retry_failed_in_filter(confirm=False)
    with ctx.db.sessions() as s:
        by_id = {r.id: (r.status, r.trigger_title) for r in s.query(QueueItemRow)}
    failed_left = [i for i in ids if by_id[i][0] == "failed"]
    # only the failed items of the filtered trigger were retried
    assert failed_left and all(by_id[i][1] != "Invoice to accounting" for i in failed_left)
    assert all(by_id[i][0] != "failed" for i in ids if by_id[i][1] == "Invoice to accounting")


def test_detail_pane_masks_secrets_and_copies_curl(qtbot, page, ctx):
    ids = add_queue_items(ctx.db, 3)
    load(qtbot, page)
    page.select_row(page.model.row_of(ids[2]))  # failed, one attempt
    qtbot.waitUntil(lambda: page.detail_pane.detail is not None, timeout=5_000)
    request = page.detail_pane.request_view.toPlainText()
    assert "super-secret-key-123" not in request and f"X-Api-Key: {MASK}" in request
    assert '"OrderId": 1002' in request
    assert "503" in page.detail_pane.attempts_view.toPlainText()
    assert "try again later" in page.detail_pane.attempts_view.toPlainText()
    qtbot.mouseClick(page.curl_button, Qt.MouseButton.LeftButton)
    curl = QGuiApplication.clipboard().text()
    assert curl.startswith("curl -X POST https://erp.example.com/hooks/2")
    assert "super-secret-key-123" not in curl and "X-ShopCtrl-Delivery" in curl


def test_export_csv_in_background(qtbot, page, ctx, tmp_path):
    add_queue_items(ctx.db, 25)
    load(qtbot, page, QueueFilter(statuses=("delivered",)))
    target = tmp_path / "export.csv"
    with qtbot.waitSignal(page.message_posted, timeout=10_000) as blocker:
        page.export_csv_to(target)
    assert "Exported 9 items" in blocker.args[0]
    rows = list(csv.reader(target.open(encoding="utf-8")))
    assert rows[0][:4] == ["id", "createdAt", "priority", "status"]
    assert len(rows) == 10 and {r[3] for r in rows[1:]} == {"delivered"}
    assert not any("super-secret" in cell for r in rows for cell in r)


def test_live_updates_are_coalesced(qtbot, page, ctx):
    ids = add_queue_items(ctx.db, 20, status="queued")
    load(qtbot, page)
    assert cell(qtbot, page.model, 0, Column.STATUS) == "Queued"
    refreshes: list[int] = []
    page.model.dataChanged.connect(lambda a, b: refreshes.append(a.row()))
    with ctx.db.session() as s:
        s.get(QueueItemRow, ids[-1]).status = "delivered"
    # 300 notifications in a burst become a single refresh of the visible row
    for n in range(300):
        page.on_engine_items_changed([ItemChange(ids[-1], "delivered", n)])
    qtbot.waitUntil(lambda: page.model.index(0, Column.STATUS).data() == "Delivered", timeout=5_000)
    qtbot.wait(REFRESH_INTERVAL_MS * 3)
    assert len(refreshes) == 1

    # items created elsewhere show up at the top without a reload
    new = add_queue_items(ctx.db, 2, status="queued", start=100)
    page.on_engine_items_changed([ItemChange(i, "queued", 0) for i in new])
    qtbot.waitUntil(lambda: page.model.rowCount() == 22, timeout=5_000)
    assert page.model.index(0, 0).data(ID_ROLE) == new[-1]


def test_painted_rows_answer_from_cells_that_follow_live_changes(qtbot, page, ctx):
    ids = add_queue_items(ctx.db, 20, status="queued")
    load(qtbot, page)
    assert cell(qtbot, page.model, 0, Column.STATUS) == "Queued"
    page.table.viewport().repaint()
    cells = page.model._cells[ids[-1]]  # built by the paint: what multiData() answers from now on
    for col in range(page.model.columnCount()):
        for role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.TextAlignmentRole,
        ):
            assert cells[col].get(int(role)) == page.model.index(0, col).data(role)
    assert cells[Column.STATUS][ID_ROLE] == ids[-1]

    with ctx.db.session() as s:
        s.get(QueueItemRow, ids[-1]).status = "delivered"
    page.on_engine_items_changed([ItemChange(ids[-1], "delivered", 1)])
    display = int(Qt.ItemDataRole.DisplayRole)

    def repainted_status() -> str | None:
        page.table.viewport().repaint()
        return page.model._cells[ids[-1]][Column.STATUS].get(display)

    qtbot.waitUntil(lambda: repainted_status() == "Delivered", timeout=5_000)  # re-read rows get new cells
