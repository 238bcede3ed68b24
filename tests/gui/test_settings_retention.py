"""Settings → Data retention: the periods the engine applies (settings.json ``keep_delivered_days`` /
``keep_failed_days``, 0 = keep forever) and "Purge now…", which counts first (the dry run), asks, and deletes
on a worker thread — against a real SQLite database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from shopctrl_desktop.config import load_settings
from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.domain.roles import Role
from shopctrl_desktop.gui.settings.dialog import SettingsDialog
from shopctrl_desktop.store.models import DeliveryAttemptRow, EventRow, QueueItemRow
from shopctrl_desktop.store.roles import Identity
from tests.gui.queue_support import OFFSCREEN_NOTE, answer_questions
from tests.unit.test_retention import add

pytestmark = OFFSCREEN_NOTE


def fill(db) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with db.session() as s:
        add(s, ItemStatus.DELIVERED, now - timedelta(days=40))
        add(s, ItemStatus.CANCELLED, now - timedelta(days=40))
        add(s, ItemStatus.DELIVERED, now - timedelta(days=10))
        add(s, ItemStatus.FAILED, now - timedelta(days=40))  # failed are kept 90 days
        add(s, ItemStatus.FAILED, now - timedelta(days=100))
        add(s, ItemStatus.RETRYING, None)  # waiting: never


def counts(db) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with db.session() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(table))
            for table in (QueueItemRow, DeliveryAttemptRow, EventRow)
        )


def open_dialog(qtbot, ctx) -> SettingsDialog:  # type: ignore[no-untyped-def]
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_retention_days_are_saved_as_the_engine_reads_them(qtbot, ctx) -> None:
    dialog = open_dialog(qtbot, ctx)
    box = dialog.retention_box
    assert box.days() == (30, 90)  # the defaults
    assert box.delivered.spin.isEnabled() and not box.failed.forever.isChecked()
    box.delivered.spin.setValue(7)
    box.failed.forever.setChecked(True)
    assert not box.failed.spin.isEnabled()
    with qtbot.waitSignal(dialog.settings_saved, timeout=5_000):
        dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    stored = json.loads(ctx.paths.settings_file.read_text("utf-8"))
    assert (stored["keep_delivered_days"], stored["keep_failed_days"]) == (7, 0)
    loaded = load_settings(ctx.paths, environ={})
    assert (loaded.keep_delivered_days, loaded.keep_failed_days) == (7, 0)
    # shown again as saved: "keep forever" stays ticked
    ctx.settings = loaded
    again = open_dialog(qtbot, ctx)
    assert again.retention_box.days() == (7, 0) and again.retention_box.failed.forever.isChecked()


def test_purge_now_counts_first_and_keep_them_deletes_nothing(qtbot, ctx, db, monkeypatch) -> None:
    fill(db)
    before = counts(db)
    dialog = open_dialog(qtbot, ctx)
    box = dialog.retention_box
    asked = answer_questions(monkeypatch, "Keep them")
    box.purge_button.click()
    qtbot.waitUntil(lambda: bool(asked) and not box.busy, timeout=10_000)
    expected = "1 cancelled, 1 delivered and 1 failed items (3 attempts) and 3 event snapshots"
    assert asked[0].startswith(f"Delete {expected} now?")
    assert "delivered and cancelled items older than 30 days and failed items older than 90 days" in asked[0]
    assert box.purge_message.text() == f"Past its retention now: {expected}."
    assert counts(db) == before


def test_purge_now_deletes_with_the_periods_shown(qtbot, ctx, db, monkeypatch) -> None:
    fill(db)
    dialog = open_dialog(qtbot, ctx)
    box = dialog.retention_box
    box.delivered.spin.setValue(5)  # now the 10-day-old delivered item goes too
    box.failed.forever.setChecked(True)  # and no failed item
    answer_questions(monkeypatch, "Delete now")
    box.purge_button.click()
    qtbot.waitUntil(lambda: box.purge_message.text().startswith("Deleted"), timeout=10_000)
    assert box.purge_message.text() == (
        "Deleted 1 cancelled and 2 delivered items (3 attempts) and 3 event snapshots."
    )
    with db.session() as s:
        left = sorted(s.scalars(select(QueueItemRow.status)))
    assert left == ["failed", "failed", "retrying"]
    assert counts(db) == (3, 3, 3)
    # what is left is not past its retention: says so, asks nothing
    asked = answer_questions(monkeypatch, "Delete now")
    box.purge_button.click()
    qtbot.waitUntil(lambda: box.purge_message.text().startswith("Nothing is past"), timeout=10_000)
    assert asked == []


def test_keep_forever_has_nothing_to_purge_and_support_cannot_purge(qtbot, ctx, db) -> None:
    fill(db)
    dialog = open_dialog(qtbot, ctx)
    box = dialog.retention_box
    box.delivered.forever.setChecked(True)
    box.failed.forever.setChecked(True)
    box.purge_button.click()
    assert box.purge_message.text() == "Both kinds are kept forever: there is nothing to purge."
    ctx.identity = Identity("sam", Role.SUPPORT, False)
    support_dialog = open_dialog(qtbot, ctx)
    support_box = support_dialog.retention_box
    assert not support_box.purge_button.isEnabled()
    assert support_box.purge_button.toolTip() == "Only an admin can delete data now."
