"""The Activity page: the audit trail's table, filters by who / what / text / time, the detail with secrets
only "changed", double-click opening the trigger or the queue item."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt

from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.gui.activity.model import ActivityModel
from shopctrl_desktop.gui.activity.page import ActivityPage, since_moment
from shopctrl_desktop.store import alerts as alert_store
from shopctrl_desktop.store import audit as audit_store
from shopctrl_desktop.store import queue
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.models import AuditEntryRow
from tests.gui.queue_support import OFFSCREEN_NOTE, add_alert, add_queue_items

pytestmark = OFFSCREEN_NOTE
SECRET, NEW_SECRET = "hmac-plain-0c1d", "hmac-plain-NEW-3a9e"


def seed_activity(ctx) -> dict[str, int]:
    """A trigger created and changed (URL, secret, a header), disabled; an item retried; alerts read; and
    one entry by another user on another workstation."""
    db, box = ctx.db, ctx.box
    with db.session() as s:
        trigger_id = trigger_store.save_trigger(
            s,
            box,
            Trigger(
                title="Order paid → ERP",
                event="OrderChanged",
                actions=(WebhookAction(url="https://erp.example/hooks/orders", hmac_secret=SECRET),),
            ),
        )
    with db.session() as s:
        stored = trigger_store.get_trigger(s, box, trigger_id)
        action = replace(
            stored.actions[0],
            url="https://erp.example/api/v2/orders",
            hmac_secret=NEW_SECRET,
            headers={"X-Team": "finance"},
        )
        trigger_store.save_trigger(s, box, replace(stored, actions=(action,)))
        trigger_store.set_enabled(s, trigger_id, False)
    [item] = add_queue_items(db, 1, status="failed")
    add_alert(db, item)
    with db.session() as s:
        assert queue.retry_item(s, item)
        alert_store.mark_all_read(s)
    ctx.save_settings(replace(ctx.settings, listen_port=9123, concurrency=8))
    with db.session() as s:  # another user at another desk (SQLite stores what it is given)
        row = AuditEntryRow(
            at=audit_store.utcnow() - timedelta(days=3),
            who="maria",
            workstation="support-02",
            action="item.cancelled",
            subject_kind="item",
            subject_id=item,
            subject_name="Order paid → ERP",
            changes_json="[]",
        )
        s.add(row)
    return {"trigger": trigger_id, "item": item}


@pytest.fixture
def page(qtbot, ctx):
    widget = ActivityPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    return widget


def show_and_wait(qtbot, page) -> None:
    with qtbot.waitSignal(page.loaded, timeout=5_000):
        page.show()


def reload_and_wait(qtbot, page) -> int:
    with qtbot.waitSignal(page.loaded, timeout=5_000) as blocker:
        page.reload()
    return blocker.args[0]


def column(page, col: int) -> list[str]:
    return [page.model.index(r, col).data() for r in range(page.model.rowCount())]


def test_model_passes_qtmodeltester(qtbot, qtmodeltester, ctx):
    seed_activity(ctx)
    with ctx.db.sessions() as s:
        entries = audit_store.list_entries(s)
    model = ActivityModel()
    model.set_rows(entries)
    qtmodeltester.check(model)
    assert model.rowCount() == len(entries) >= 6


def test_entries_newest_first_with_secrets_only_changed(qtbot, page, ctx):
    ids = seed_activity(ctx)
    show_and_wait(qtbot, page)
    whats = column(page, 3)
    # newest first by time: maria's entry of three days ago comes last, though it was stored last
    assert whats[-2:] == [
        "Created trigger “Order paid → ERP”",
        f"Cancelled queue item #{ids['item']} (Order paid → ERP)",
    ]
    assert "Changed trigger “Order paid → ERP”" in whats and "Disabled trigger “Order paid → ERP”" in whats
    changed = whats.index("Changed trigger “Order paid → ERP”")
    changes = page.model.index(changed, 4).data()
    assert "actions[1].url: https://erp.example/hooks/orders → https://erp.example/api/v2/orders" in changes
    assert "actions[1].hmacSecret: changed" in changes
    page.table.selectRow(changed)
    detail = page.detail.toPlainText()
    assert "changed (secret, not shown)" in detail and "https://erp.example/api/v2/orders" in detail
    everything = " ".join(
        str(page.model.index(r, c).data(role))
        for r in range(page.model.rowCount())
        for c in range(5)
        for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)
    )
    assert SECRET not in everything + detail and NEW_SECRET not in everything + detail


def test_filters_by_who_what_text_and_time(qtbot, page, ctx):
    seed_activity(ctx)
    show_and_wait(qtbot, page)
    total = page.model.rowCount()
    assert [page.who_combo.itemText(i) for i in range(page.who_combo.count())] == [
        "Everyone",
        *sorted({audit_store.os_user(), "maria"}),
    ]
    page.who_combo.setCurrentText("maria")
    assert reload_and_wait(qtbot, page) == 1 and column(page, 2) == ["support-02"]
    page.who_combo.setCurrentText("Everyone")
    page.what_combo.setCurrentText("Triggers")
    assert reload_and_wait(qtbot, page) == 3
    page.what_combo.setCurrentText("Queue actions")
    assert reload_and_wait(qtbot, page) == 2
    page.what_combo.setCurrentText("Everything")
    page.search.setText("api/v2")
    with qtbot.waitSignal(page.loaded, timeout=5_000) as blocker:  # the search waits for typing to pause
        pass
    assert blocker.args == [1] and column(page, 3) == ["Changed trigger “Order paid → ERP”"]
    page.search.clear()
    page.since_combo.setCurrentText("Last hour")
    assert reload_and_wait(qtbot, page) == total - 1  # maria's entry is three days old
    page.search.setText("nothing matches this")
    page._search_timer.stop()
    assert reload_and_wait(qtbot, page) == 0
    assert page.summary.text() == "No entries match" and page.empty_label.isHidden()


def test_since_choices():
    from datetime import UTC, datetime

    now = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    assert since_moment(None, now) is None
    assert since_moment(timedelta(hours=1), now) == now - timedelta(hours=1)
    today = since_moment("today", now).astimezone()
    assert (today.hour, today.minute) == (0, 0) and today <= now


def test_double_click_opens_the_trigger_or_the_item(qtbot, page, ctx):
    ids = seed_activity(ctx)
    show_and_wait(qtbot, page)
    whats = column(page, 3)

    def double_click(row: int) -> None:
        rect = page.table.visualRect(page.model.index(row, 3))
        # a real double click is press, release, double-click (QTest.mouseDClick alone sends no press)
        qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    with qtbot.waitSignal(page.trigger_requested, timeout=2_000) as blocker:
        double_click(whats.index("Disabled trigger “Order paid → ERP”"))
    assert blocker.args == [ids["trigger"]]
    retried = next(i for i, w in enumerate(whats) if w.startswith("Retried queue item"))
    with qtbot.waitSignal(page.item_requested, timeout=2_000) as blocker:
        double_click(retried)
    assert blocker.args == [ids["item"]]
    read = next(i for i, w in enumerate(whats) if w.startswith("Marked all alerts read"))
    page.table.selectRow(read)
    assert not page.open_button.isEnabled()  # alerts have nothing to open
    with qtbot.assertNotEmitted(page.item_requested), qtbot.assertNotEmitted(page.trigger_requested):
        double_click(read)


def test_the_main_window_opens_the_trigger_editor_and_the_queue_item(qtbot, ctx, monkeypatch):
    from shopctrl_desktop.gui.main_window import PAGE_ACTIVITY, PAGE_QUEUE, PAGE_TRIGGERS, MainWindow
    from shopctrl_desktop.gui.triggers.page import TriggersPage

    ids = seed_activity(ctx)
    opened: list[int] = []
    monkeypatch.setattr(TriggersPage, "open_editor", lambda self, trigger: opened.append(trigger.id))
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.activity_page.loaded, timeout=5_000):
        window.nav.setCurrentRow(PAGE_ACTIVITY)
    assert window.nav.item(PAGE_ACTIVITY).text() == "Activity"
    window.activity_page.trigger_requested.emit(ids["trigger"])
    assert window.nav.currentRow() == PAGE_TRIGGERS
    qtbot.waitUntil(lambda: opened == [ids["trigger"]], timeout=2_000)
    window.activity_page.item_requested.emit(ids["item"])
    assert window.nav.currentRow() == PAGE_QUEUE
    assert window.queue_page.filter_bar.text_edit.text() == f"#{ids['item']}"
    with ctx.db.session() as s:
        trigger_store.delete_trigger(s, ids["trigger"])
    window.activity_page.trigger_requested.emit(ids["trigger"])
    assert "no longer exists" in window.statusBar().currentMessage() and opened == [ids["trigger"]]


def test_empty_state_is_explained_and_the_page_renders(qtbot, page, tmp_path):
    show_and_wait(qtbot, page)
    assert page.empty_label.isVisible() and "recorded here" in page.empty_label.text()
    assert not page.grab().isNull()
