"""A filtered queue view stays true while a live engine delivers: items that come to match the filter are
inserted where they belong, items that stop matching leave, and the count line agrees with the status bar."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.store import queue
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.models import QueueItemRow, WebhookActionRow, utcnow
from tests.gui.queue_support import (
    OFFSCREEN_NOTE,
    add_queue_items,
    make_context,
    running_window,
    threaded_receiver,
)

pytestmark = [OFFSCREEN_NOTE, pytest.mark.slow]


def _waiting_items_for(db, box, url: str, n: int) -> list[int]:
    """``n`` retrying items for ``url`` whose next attempt is an hour away (the engine leaves them alone)."""
    ids = add_queue_items(db, n, status="retrying")
    with db.session() as s:
        trigger_id = trigger_store.save_trigger(
            s, box, Trigger("Live", "OrderChanged", actions=(WebhookAction(url=url),))
        )
        action_id = s.scalars(
            select(WebhookActionRow.id).where(WebhookActionRow.trigger_id == trigger_id)
        ).one()
        for item_id in ids:
            row = s.get(QueueItemRow, item_id)
            row.trigger_id, row.action_id = trigger_id, action_id
            row.url = url
            row.host = "127.0.0.1"
            row.next_attempt_at = utcnow() + timedelta(hours=1)
    return ids


def _retry_now(db, ids: list[int]) -> None:
    with db.session() as s:
        for item_id in ids:
            assert queue.retry_item(s, item_id)


def test_failed_view_takes_in_items_that_fail_and_the_count_matches_the_status_bar(qtbot, app_paths, db, box):
    ctx = make_context(app_paths, db, box, listen_port=0)
    with threaded_receiver(status=410) as receiver:
        waiting = _waiting_items_for(db, box, receiver.url("/gone"), 3)
        older_failed = add_queue_items(db, 1, status="failed", start=10)  # newer id than the waiting ones
        with running_window(qtbot, ctx) as (window, _address):
            page = window.queue_page
            window.nav.setCurrentRow(1)
            page.filter_bar.set_status(("failed",))
            qtbot.waitUntil(lambda: page.count_label.text() == "1 item matches the filter", timeout=10_000)
            assert page.model.row_of(older_failed[0]) == 0

            _retry_now(db, waiting)
            window.engine.wake()
            qtbot.waitUntil(lambda: receiver.count == 3, timeout=20_000)
            # the items that failed (older ids than the newest shown) join the view in id order
            qtbot.waitUntil(lambda: page.model.rowCount() == 4, timeout=10_000)
            assert [page.model.id_at(r) for r in range(4)] == [older_failed[0], *reversed(waiting)]
            assert page.count_label.text() == "4 items match the filter"
            window.refresh_counts()
            qtbot.waitUntil(lambda: "Failed 4" in window.counts_label.text(), timeout=10_000)


def test_waiting_view_lets_go_of_items_that_were_delivered(qtbot, app_paths, db, box):
    ctx = make_context(app_paths, db, box, listen_port=0)
    with threaded_receiver(status=200) as receiver:
        waiting = _waiting_items_for(db, box, receiver.url("/ok"), 4)
        with running_window(qtbot, ctx) as (window, _address):
            page = window.queue_page
            window.nav.setCurrentRow(1)
            page.filter_bar.status_combo.setCurrentIndex(1)  # Waiting
            qtbot.waitUntil(lambda: page.count_label.text() == "4 items match the filter", timeout=10_000)

            _retry_now(db, waiting[:3])
            window.engine.wake()
            qtbot.waitUntil(lambda: receiver.count == 3, timeout=20_000)
            qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10_000)
            assert page.model.id_at(0) == waiting[3]
            assert page.count_label.text() == "1 item matches the filter"
            window.refresh_counts()
            # (the label may still show the counts from just before the deliveries: wait for both)
            qtbot.waitUntil(
                lambda: (
                    "Retrying 1" in window.counts_label.text() and "Queued 0" in window.counts_label.text()
                ),
                timeout=10_000,
            )
