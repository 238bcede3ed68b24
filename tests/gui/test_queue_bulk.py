"""Bulk retry / cancel / resend from the Webhook Queue page in the background: a progress dialog with Cancel,
the store working in chunks (gui/queue/bulk.py, store/bulk.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shopctrl_desktop.gui.queue.bulk import BULK_THRESHOLD
from shopctrl_desktop.gui.queue.page import QueuePage
from shopctrl_desktop.store.bulk import BulkOperation
from shopctrl_desktop.store.models import AuditEntryRow, QueueItemRow
from tests.gui.queue_support import add_queue_items, answer_questions


@pytest.fixture
def page(qtbot, ctx):
    widget = QueuePage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    return widget


def count(db, status: str) -> int:
    with db.session() as s:
        return int(
            s.scalar(select(func.count()).select_from(QueueItemRow).where(QueueItemRow.status == status))
        )


def test_retry_failed_in_filter_runs_in_chunks_with_a_progress_dialog(qtbot, page, ctx):
    add_queue_items(ctx.db, 450, status="failed")
    page.bulk.chunk_size = 200
    with qtbot.waitSignal(page.bulk.finished, timeout=60_000) as finished:
        page.retry_failed_in_filter(confirm=False)
        qtbot.waitUntil(lambda: page.bulk.dialog is not None, timeout=10_000)
        dialog = page.bulk.dialog
        assert dialog.maximum() == 450 and dialog.windowTitle() == "Retrying queue items"
    result = finished.args[0]
    assert (len(result.changed), result.cancelled) == (450, False)
    assert count(ctx.db, "failed") == 0 and count(ctx.db, "queued") == 450
    assert page.bulk.dialog is None  # closed
    with ctx.db.session() as s:
        names = list(
            s.scalars(select(AuditEntryRow.subject_name).where(AuditEntryRow.action == "items.retried"))
        )
    assert names == ["200 items", "200 items", "50 items"]  # one entry per chunk


def test_cancel_stops_between_chunks_and_says_how_far_it_got(qtbot, page, ctx):
    ids = add_queue_items(ctx.db, 800, status="queued")
    page.bulk.chunk_size = 100
    messages: list[str] = []
    page.message_posted.connect(messages.append)
    with qtbot.waitSignal(page.bulk.finished, timeout=60_000) as finished:
        assert page.bulk.start(BulkOperation.CANCEL, ids)
        assert not page.bulk.start(BulkOperation.CANCEL, ids)  # one at a time
        page.bulk.dialog.canceled.emit()  # what the dialog's Cancel button sends
    result = finished.args[0]
    assert result.cancelled and result.processed < 800
    assert count(ctx.db, "cancelled") == len(result.changed) == result.processed
    qtbot.waitUntil(lambda: any("stopped by you" in m for m in messages), timeout=5_000)


def test_a_large_selection_goes_through_the_bulk_runner(qtbot, page, ctx, monkeypatch):
    asked = answer_questions(monkeypatch, "Cancel ")  # the confirmation names the items first
    add_queue_items(ctx.db, BULK_THRESHOLD + 10, status="queued")
    page.start()
    qtbot.waitUntil(lambda: page.model.is_complete and not page.model.is_loading, timeout=10_000)
    page.table.selectAll()
    with qtbot.waitSignal(page.bulk.finished, timeout=60_000):
        page.cancel_selected()
    assert count(ctx.db, "cancelled") == BULK_THRESHOLD + 10
    assert len(asked) == 1
