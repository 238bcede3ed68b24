"""The support desk's chair (issue 14): attempts as a table with an outcome line, display names and one
wording, Cancel that asks naming the items, a warning before retrying a 410 Gone item, feedback in the
detail pane, and "Back to your filter" after opening an item from an alert."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt

from shopctrl_desktop.gui.queue.columns import Column
from shopctrl_desktop.gui.queue.filter_bar import STATUS_CHOICES
from shopctrl_desktop.gui.queue.page import QueuePage
from shopctrl_desktop.store.browse import QueueFilter
from shopctrl_desktop.store.models import DeliveryAttemptRow, QueueItemRow, utcnow
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


def open_item(qtbot, page: QueuePage, item_id: int) -> None:
    row = page.model.row_of(item_id)
    page.model.index(row, Column.STATUS).data()
    qtbot.waitUntil(lambda: page.model.is_row_loaded(row), timeout=5_000)
    page.select_row(row)
    qtbot.waitUntil(
        lambda: page.detail_pane.detail is not None and page.detail_pane.detail.row.id == item_id,
        timeout=5_000,
    )


def set_attempts(db, item_id: int, status: str, answers: list[tuple[int, str]], **fields) -> None:
    """Give an item these attempts (status code, body), its last answer as the engine records it."""
    now = utcnow()
    with db.session() as s:
        item = s.get(QueueItemRow, item_id)
        s.query(DeliveryAttemptRow).filter(DeliveryAttemptRow.item_id == item_id).delete()
        for number, (code, body) in enumerate(answers, start=1):
            s.add(
                DeliveryAttemptRow(
                    item_id=item_id,
                    number=number,
                    started_at=now - timedelta(minutes=len(answers) - number),
                    duration_ms=40.0 * number,
                    status_code=code,
                    response_headers_json=json.dumps({"Content-Type": "text/plain"}),
                    response_body=body,
                )
            )
        code = answers[-1][0]
        item.status = status
        item.attempts = len(answers)
        item.response_status = code
        phrases = {410: "Gone", 500: "Internal Server Error"}
        item.response_message = f"HTTP {code} {phrases[code]}: {answers[-1][1]}"
        for key, value in fields.items():
            setattr(item, key, value)


def test_attempts_are_a_table_with_the_selected_answer_below_and_an_outcome_line(qtbot, page, ctx):
    gone, retrying = add_queue_items(ctx.db, 2, status="failed")
    set_attempts(ctx.db, gone, "failed", [(410, "this hook was removed")])
    set_attempts(
        ctx.db,
        retrying,
        "retrying",
        [(500, "database is down"), (500, "still down")],
        next_attempt_at=utcnow() + timedelta(seconds=18.5),
    )
    load(qtbot, page)
    pane = page.detail_pane

    open_item(qtbot, page, retrying)
    assert re.fullmatch(r"Attempt 3 of 11, next in 1[78] s", pane.outcome_label.text()), (
        pane.outcome_label.text()
    )
    table = pane.attempts_table
    assert table.rowCount() == 2
    assert [table.horizontalHeaderItem(c).text() for c in range(4)] == [
        "#",
        "Time",
        "Duration",
        "Status or error",
    ]
    assert [table.item(0, c).text() for c in (0, 2, 3)] == ["2", "80 ms", "500 Internal Server Error"]
    assert "still down" in pane.attempts_view.toPlainText()  # the newest attempt, selected
    table.selectRow(1)
    assert "database is down" in pane.attempts_view.toPlainText()
    assert "still down" not in pane.attempts_view.toPlainText()
    summary = pane.summary.text()
    assert "500 Internal Server Error: still down" in summary and "HTTP 500" not in summary
    assert (
        page.model.index(page.model.row_of(retrying), Column.LAST_RESPONSE)
        .data()
        .startswith("500 Internal Server Error")
    )

    open_item(qtbot, page, gone)
    assert pane.outcome_label.text() == "Gave up: 410 Gone, not retried"
    assert pane.attempts_table.item(0, 3).text() == "410 Gone"


def test_queue_words_are_the_display_names_and_one_wording(qtbot, page, ctx):
    add_queue_items(ctx.db, 6)
    load(qtbot, page)
    page.reload_choices()
    combo = page.filter_bar.event_combo
    qtbot.waitUntil(lambda: combo.count() == 4, timeout=5_000)
    assert [combo.itemText(i) for i in range(4)] == [
        "All events",
        "Invoice payments done",
        "Order changed",
        "Shipment shipped",
    ]
    row = page.model.row_of(next(i for i in range(1, 7) if page.model.row_of(i) is not None))
    page.model.index(row, Column.EVENT).data()
    qtbot.waitUntil(lambda: page.model.is_row_loaded(row), timeout=5_000)
    assert page.model.index(row, Column.EVENT).data() in (
        "Order changed",
        "Shipment shipped",
        "Invoice payments done",
    )

    combo.setCurrentIndex(combo.findText("Order changed"))  # filters on the system name underneath
    qtbot.waitUntil(lambda: page.model.current_filter.event == "OrderChanged", timeout=5_000)
    qtbot.waitUntil(lambda: page.count_label.text() == "2 items match the filter", timeout=5_000)
    page.filter_bar.text_edit.setText("ORD-1000")
    qtbot.waitUntil(lambda: page.count_label.text() == "1 item matches the filter", timeout=5_000)

    status = page.filter_bar.status_combo
    assert [status.itemText(i) for i in range(len(STATUS_CHOICES))][1:5] == [
        "Waiting (queued, retrying)",
        "Queued",
        "Sending",
        "Retrying",
    ]
    status.setCurrentIndex(1)
    longest = max(status.fontMetrics().horizontalAdvance(status.itemText(i)) for i in range(status.count()))
    assert status.width() > longest  # the label is not cut ("Waiting (queued")

    load(qtbot, page, QueueFilter(statuses=("delivered",)))
    open_item(qtbot, page, page.model.id_at(0))
    header = page.detail_pane.header.text()
    assert "&nbsp;Delivered&nbsp;" in header and "delivered" not in header


def test_cancel_asks_naming_the_items_and_reports_in_the_detail_pane(qtbot, page, ctx, monkeypatch):
    ids = add_queue_items(ctx.db, 6)
    queued = next(i for i in ids if item_status(ctx.db, i) == "queued")
    load(qtbot, page, QueueFilter(statuses=("queued", "retrying")))
    open_item(qtbot, page, queued)
    qtbot.waitUntil(page.cancel_button.isEnabled, timeout=5_000)

    asked = answer_questions(monkeypatch, "Keep waiting")
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and f"#{queued} Order to ERP" in asked[0] or f"#{queued} " in asked[0]
    assert "Order ORD-" in asked[0] and "not sent unless you retry" in asked[0]
    assert item_status(ctx.db, queued) == "queued"

    answer_questions(monkeypatch, "Cancel the item")
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: item_status(ctx.db, queued) == "cancelled", timeout=5_000)
    # the item leaves the "Waiting" view; the pane says what happened (not only the status bar)
    qtbot.waitUntil(lambda: page.model.row_of(queued) is None, timeout=5_000)
    pane = page.detail_pane
    qtbot.waitUntil(pane.placeholder_notice.isVisible, timeout=5_000)
    assert pane.placeholder_notice.text().startswith(f"Cancelled #{queued} at ")
    assert "Retry now sends a cancelled item again" in pane.placeholder_notice.text()
    assert page.count_label.text() == "1 item matches the filter"


def test_retrying_a_410_gone_item_warns_first(qtbot, page, ctx, monkeypatch):
    (gone,) = add_queue_items(ctx.db, 1, status="failed")
    set_attempts(ctx.db, gone, "failed", [(410, "removed")])
    load(qtbot, page)
    open_item(qtbot, page, gone)
    qtbot.waitUntil(page.retry_button.isEnabled, timeout=5_000)

    asked = answer_questions(monkeypatch, "Don't retry")
    qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and "410 Gone" in asked[0] and f"#{gone}" in asked[0]
    assert item_status(ctx.db, gone) == "failed"

    answer_questions(monkeypatch, "Retry anyway")
    with qtbot.waitSignal(page.items_requeued, timeout=5_000):
        qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    assert item_status(ctx.db, gone) == "queued"
    qtbot.waitUntil(page.detail_pane.notice.isVisible, timeout=5_000)
    assert page.detail_pane.notice.text().startswith(f"Retried #{gone} at ")


def test_opening_an_item_from_an_alert_keeps_the_users_filter_behind_a_back_button(qtbot, page, ctx):
    ids = add_queue_items(ctx.db, 12)
    load(qtbot, page)
    page.reload_choices()
    qtbot.waitUntil(lambda: page.filter_bar.trigger_combo.count() == 4, timeout=5_000)
    bar = page.filter_bar
    bar.set_status(("failed",))
    bar.trigger_combo.setCurrentIndex(bar.trigger_combo.findText("Invoice to accounting"))
    qtbot.waitUntil(lambda: page.model.current_filter.trigger_title == "Invoice to accounting", timeout=5_000)
    mine = page.model.current_filter
    assert not page.back_button.isVisible()

    page.show_item(ids[1])  # what the Alerts page asks for
    assert not bar._debounce.isActive()  # the typed-text debounce would run the filter again and drop Back
    qtbot.waitUntil(lambda: page.current_id() == ids[1], timeout=5_000)
    assert page.back_button.isVisible() and bar.text_edit.text() == f"#{ids[1]}"

    qtbot.mouseClick(page.back_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.model.is_complete and not page.model.is_loading, timeout=5_000)
    assert page.model.current_filter == mine
    assert bar.status_combo.currentText() == "Failed"
    assert bar.trigger_combo.currentText() == "Invoice to accounting" and bar.text_edit.text() == ""
    assert not page.back_button.isVisible()
