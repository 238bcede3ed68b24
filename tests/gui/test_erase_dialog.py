"""File → Erase customer data…: the same erasure as ``erase`` (store/erasure.py), previewed in words, confirmed,
run off the GUI thread and recorded in the audit trail; a real SQLite database holding a customer's e-mail."""

from __future__ import annotations

from sqlalchemy import select

from shopctrl_desktop.domain.roles import Role
from shopctrl_desktop.gui.erase_dialog import EraseDialog
from shopctrl_desktop.store.audit import list_entries
from shopctrl_desktop.store.models import QueueItemRow
from shopctrl_desktop.store.roles import Identity
from tests.gui.queue_support import OFFSCREEN_NOTE, answer_questions
from tests.unit.test_erasure import ANN, everything, fill

pytestmark = OFFSCREEN_NOTE

PREVIEW = (
    "Erasing would blank 1 event snapshot and 2 webhook payloads, remove 2 response bodies, "
    "replace 1 alert text and cancel 1 waiting item."
)


def open_dialog(qtbot, ctx) -> EraseDialog:  # type: ignore[no-untyped-def]
    dialog = EraseDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def preview(qtbot, dialog: EraseDialog, address: str) -> None:  # type: ignore[no-untyped-def]
    dialog.email_edit.setText(address)
    dialog.preview_button.click()
    qtbot.waitUntil(lambda: not dialog.busy and "Erasing would" in dialog.message.text(), timeout=10_000)


def erasures(db) -> list:  # type: ignore[no-untyped-def]
    with db.session() as s:
        return [e for e in list_entries(s) if e.action == "data.erased"]


def test_preview_counts_in_words_and_changes_nothing(qtbot, ctx, db) -> None:
    fill(db)
    dialog = open_dialog(qtbot, ctx)
    assert not dialog.erase_button.isEnabled()  # preview first
    preview(qtbot, dialog, ANN.upper())
    assert dialog.message.text() == f"{ANN.upper()}: {PREVIEW}"
    assert dialog.erase_button.isEnabled()
    assert ANN.lower() in everything(db) and erasures(db) == []
    # another request needs another preview
    dialog.email_edit.setText("bob@shop.example")
    assert not dialog.erase_button.isEnabled() and "Preview again" in dialog.message.text()


def test_erase_asks_then_removes_the_data_and_records_it(qtbot, ctx, db, monkeypatch) -> None:
    ids = fill(db)
    dialog = open_dialog(qtbot, ctx)
    preview(qtbot, dialog, ANN)
    asked = answer_questions(monkeypatch, "Erase the data")
    with qtbot.waitSignal(dialog.erased, timeout=10_000) as erased:
        dialog.erase_button.click()
    assert asked == [f"Erase the data of {ANN}?\n\n{PREVIEW}\n\nThis cannot be undone."]
    assert erased.args[0].items == 2 and erased.args[0].cancelled == 1
    assert dialog.message.text().startswith(
        f"{ANN}: Blanked 1 event snapshot and 2 webhook payloads, removed 2 response bodies"
    )
    assert not dialog.erase_button.isEnabled()
    stored = everything(db)
    assert ANN.lower() not in stored and "ann example" not in stored
    assert "bob@shop.example" in stored  # another customer's data stays
    with db.session() as s:
        status = {i.id: i.status for i in s.scalars(select(QueueItemRow))}
    assert status[ids["ann waiting"]] == "cancelled" and status[ids["bob waiting"]] == "queued"
    [entry] = erasures(db)
    assert entry.subject.name == "an e-mail address"
    assert {c.field: c.new for c in entry.changes}["responseBodies"] == 2


def test_keep_it_erases_nothing(qtbot, ctx, db, monkeypatch) -> None:
    fill(db)
    before = everything(db)
    dialog = open_dialog(qtbot, ctx)
    preview(qtbot, dialog, ANN)
    asked = answer_questions(monkeypatch, "Keep it")
    dialog.erase_button.click()
    assert len(asked) == 1
    assert not dialog.busy and dialog.erase_button.isEnabled()
    assert everything(db) == before and erasures(db) == []


def test_by_entity_and_mistakes_in_words(qtbot, ctx, db) -> None:
    fill(db)
    dialog = open_dialog(qtbot, ctx)
    dialog.preview_button.click()
    assert dialog.message.text() == "Enter the customer's e-mail address."
    dialog.email_edit.setText("not an address")
    dialog.preview_button.click()
    assert dialog.message.text() == "'not an address' is not an e-mail address."
    dialog.entity_radio.setChecked(True)
    assert not dialog.email_edit.isEnabled() and dialog.id_edit.isEnabled()
    dialog.type_combo.setCurrentText("Customer")
    dialog.id_edit.setText("43")
    dialog.preview_button.click()
    qtbot.waitUntil(lambda: "Erasing would" in dialog.message.text(), timeout=10_000)
    assert dialog.message.text().startswith("Customer 43: Erasing would blank 1 event snapshot and 1 webhook")
    dialog.id_edit.setText("999")
    dialog.preview_button.click()
    qtbot.waitUntil(lambda: "nothing to erase" in dialog.message.text(), timeout=10_000)
    assert not dialog.erase_button.isEnabled()


def test_support_sees_it_read_only(qtbot, ctx, db) -> None:
    fill(db)
    ctx.identity = Identity("sam", Role.SUPPORT, False)
    dialog = open_dialog(qtbot, ctx)
    assert dialog.read_only
    assert not dialog.preview_button.isEnabled() and not dialog.erase_button.isEnabled()
    assert dialog.findChild(object, "read_only_line").text().startswith("Read-only: you are signed in as sam")
    dialog.preview()  # even when asked directly
    assert not dialog.busy and erasures(db) == []


def test_file_menu_opens_it_and_an_erasure_refreshes_the_queue(qtbot, ctx, db, monkeypatch) -> None:
    from tests.gui.test_main_window import open_window

    fill(db)
    window = open_window(qtbot, ctx)
    file_menu = window.menuBar().actions()[0].menu()
    assert window.erase_action in file_menu.actions()
    window.erase_action.trigger()
    dialog = window.erase_dialog
    assert dialog.isVisible() and dialog.isModal()
    preview(qtbot, dialog, ANN)
    qtbot.waitUntil(lambda: "Retrying 1" in window.counts_label.text(), timeout=10_000)
    answer_questions(monkeypatch, "Erase the data")
    with qtbot.waitSignal(window.queue_page.refresh_action.triggered, timeout=10_000):
        dialog.erase_button.click()
    # the waiting item was cancelled: the status bar counts say so without waiting for the timer
    qtbot.waitUntil(lambda: "Retrying 0" in window.counts_label.text(), timeout=10_000)
    dialog.close()
    window.close()
