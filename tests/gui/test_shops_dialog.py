"""The Shops dialog: shops learned from events, renamed inline, stored off the GUI thread and audited; the
trigger table's shop column and the editor's scope picker follow a rename."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt

from shopctrl_desktop.domain.audit import AuditAction
from shopctrl_desktop.domain.model import Trigger
from shopctrl_desktop.domain.shops import KnownShop
from shopctrl_desktop.gui.triggers.editor import TriggerEditorDialog
from shopctrl_desktop.gui.triggers.model import Column
from shopctrl_desktop.gui.triggers.page import TriggersPage
from shopctrl_desktop.gui.triggers.shops import ShopColumn, ShopTableModel
from shopctrl_desktop.gui.triggers.shops_dialog import ShopsDialog
from shopctrl_desktop.store import audit
from shopctrl_desktop.store import queue as queue_store
from shopctrl_desktop.store.shops import rename_shop, shop_names
from tests.gui.triggers_support import OFFSCREEN_NOISE, ctx, load_all, save  # noqa: F401
from tests.unit.test_queue_store import order_event

pytestmark = OFFSCREEN_NOISE
SEEN = datetime(2026, 11, 28, 10, tzinfo=UTC)


def learn(ctx, *shops: int) -> None:  # noqa: F811
    """Shops learned the real way: events through intake."""
    with ctx.db.session() as s:
        queue_store.enqueue_events(s, ctx.box, [order_event(n, shop=shop) for n, shop in enumerate(shops, 1)])


def names(ctx) -> dict[int, str]:  # noqa: F811
    with ctx.db.sessions() as s:
        return shop_names(s)


def open_dialog(qtbot, ctx) -> ShopsDialog:  # noqa: F811
    dialog = ShopsDialog(ctx)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.stack.currentWidget() is not dialog.loading_label)
    return dialog


def rename(qtbot, dialog: ShopsDialog, shop_id: int, name: str) -> bool:
    index = dialog.model.index(dialog.model.row_of(shop_id), ShopColumn.NAME)
    return dialog.model.setData(index, name)


def test_model_passes_qtmodeltester(qtmodeltester) -> None:
    model = ShopTableModel()
    model.set_shops([KnownShop(5, "Outlet", SEEN), KnownShop(3, "Shop 3", None)])
    qtmodeltester.check(model)
    assert [model.data(model.index(r, ShopColumn.ID)) for r in range(2)] == ["3", "5"]
    assert model.data(model.index(0, ShopColumn.FIRST_SEEN)) == ""
    assert model.data(model.index(1, ShopColumn.FIRST_SEEN)) == SEEN.astimezone().strftime("%Y-%m-%d %H:%M")
    assert model.flags(model.index(0, ShopColumn.NAME)) & Qt.ItemFlag.ItemIsEditable
    assert not model.flags(model.index(0, ShopColumn.ID)) & Qt.ItemFlag.ItemIsEditable


def test_an_edit_is_checked_at_once_and_only_requested_until_the_store_answers(qtbot) -> None:
    model = ShopTableModel()
    model.set_shops([KnownShop(3, "Shop 3"), KnownShop(5, "Outlet")])
    name_cell = model.index(0, ShopColumn.NAME)
    with qtbot.waitSignal(model.rename_refused) as refused:
        assert not model.setData(name_cell, "OUTLET")
    assert refused.args == [3, "shop 5 is already called “Outlet”; shop names are unique"]
    assert not model.setData(name_cell, "Shop 3")  # unchanged: nothing to store
    with qtbot.waitSignal(model.rename_requested) as requested:
        assert model.setData(name_cell, "  Main store ")
    assert requested.args == [3, "Main store"]
    assert model.data(name_cell) == "Main store (saving…)"
    assert model.data(name_cell, Qt.ItemDataRole.EditRole) == "Shop 3"  # not stored yet
    assert not model.flags(name_cell) & Qt.ItemFlag.ItemIsEditable
    model.finish_rename(3, None)  # the store refused: the old name stays
    assert model.data(name_cell) == "Shop 3"
    model.finish_rename(3, "Main store")
    assert model.data(name_cell) == "Main store"


def test_dialog_lists_shops_and_a_rename_is_stored_and_audited(qtbot, ctx) -> None:  # noqa: F811
    learn(ctx, 3, 12, 5)
    dialog = open_dialog(qtbot, ctx)
    assert dialog.stack.currentWidget() is dialog.table
    assert [s.name for s in dialog.model.shops()] == ["Shop 3", "Shop 5", "Shop 12"]
    assert dialog.model.data(dialog.model.index(0, ShopColumn.FIRST_SEEN))  # learned now: first seen shown
    with qtbot.waitSignal(dialog.shop_renamed) as renamed:
        assert rename(qtbot, dialog, 5, "Outlet Rotterdam")
    assert renamed.args == [5, "Outlet Rotterdam"]
    assert names(ctx) == {3: "Shop 3", 5: "Outlet Rotterdam", 12: "Shop 12"}
    assert dialog.model.data(dialog.model.index(1, ShopColumn.NAME)) == "Outlet Rotterdam"
    assert dialog.message.property("severity") == "ok" and "was “Shop 5”" in dialog.message.text()
    with ctx.db.sessions() as s:
        [entry] = audit.list_entries(s)
    assert entry.action == AuditAction.SHOP_RENAMED and entry.subject.id == 5


def test_a_bad_name_is_explained_under_the_table_and_nothing_is_stored(qtbot, ctx) -> None:  # noqa: F811
    learn(ctx, 3, 7)
    dialog = open_dialog(qtbot, ctx)
    assert not rename(qtbot, dialog, 3, "Shop 7")
    assert dialog.message.has_error()
    assert dialog.message.text() == (
        "Shop 3 not renamed: “Shop 7” is the name shop 7 is learned with; choose another name."
    )
    assert names(ctx) == {3: "Shop 3", 7: "Shop 7"}


def test_a_rename_refused_by_the_store_puts_the_old_name_back(qtbot, ctx) -> None:  # noqa: F811
    """Another workstation took the name between the dialog's load and the save."""
    learn(ctx, 3, 5)
    dialog = open_dialog(qtbot, ctx)
    with ctx.db.session() as s:
        rename_shop(s, 5, "Main store")
    assert rename(qtbot, dialog, 3, "Main store")  # the dialog still knows shop 5 as "Shop 5"
    qtbot.waitUntil(lambda: dialog.message.has_error())
    assert "shop 5 is already called “Main store”" in dialog.message.text()
    assert dialog.model.data(dialog.model.index(0, ShopColumn.NAME)) == "Shop 3"
    assert names(ctx) == {3: "Shop 3", 5: "Main store"}


def test_no_shops_yet_says_how_they_appear(qtbot, ctx) -> None:  # noqa: F811
    dialog = open_dialog(qtbot, ctx)
    assert dialog.stack.currentWidget() is dialog.empty_label
    assert "when its first event arrives" in dialog.empty_label.text()
    assert not dialog.rename_button.isEnabled()


def test_rename_button_opens_the_name_editor(qtbot, ctx) -> None:  # noqa: F811
    learn(ctx, 3)
    dialog = open_dialog(qtbot, ctx)
    dialog.show()
    assert dialog.rename_button.isEnabled()
    dialog.rename_button.click()
    assert dialog.table.state() == dialog.table.State.EditingState
    assert dialog.table.currentIndex().column() == ShopColumn.NAME


def test_triggers_page_shop_column_follows_a_rename(qtbot, ctx) -> None:  # noqa: F811
    learn(ctx, 3)
    save(ctx, Trigger(title="Main store orders", event="OrderChanged", shop_id=3))
    page = TriggersPage(ctx)
    qtbot.addWidget(page)
    assert page.model.data(page.model.index(0, Column.SHOP)) == "Shop 3"
    assert page.shops_action.isEnabled() and page.shops_action in page.toolbar.actions()
    dialog = page.open_shops_dialog()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
    with qtbot.waitSignal(dialog.shop_renamed):
        rename(qtbot, dialog, 3, "Main store")
    assert page.model.data(page.model.index(0, Column.SHOP)) == "Main store"
    dialog.close()


@pytest.mark.parametrize("shop_chosen", [True, False])
def test_editor_scope_picker_follows_a_rename_without_unsaved_changes(
    qtbot,
    ctx,  # noqa: F811
    shop_chosen,
) -> None:
    learn(ctx, 3, 5)
    trigger_id = save(ctx, Trigger(title="Orders", event="OrderChanged", shop_id=3 if shop_chosen else None))
    [trigger] = load_all(ctx)
    assert trigger.id == trigger_id
    editor = TriggerEditorDialog(ctx, trigger)
    qtbot.addWidget(editor)
    page_renames: list = []
    editor.shop_renamed.connect(lambda *args: page_renames.append(args))
    dialog = editor.open_shops_dialog()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2)
    selected = dialog.table.selectionModel().selectedRows()
    assert [i.row() for i in selected] == [0]  # shop 3 (the trigger's, or the first) is selected
    with qtbot.waitSignal(dialog.shop_renamed):
        rename(qtbot, dialog, 3, "Main store")
    assert editor.shop_combo.itemText(editor.shop_combo.findData(3)) == "3 — Main store"
    assert page_renames == [(3, "Main store")]
    assert not editor.is_dirty()
    if shop_chosen:
        assert editor.shop_combo.currentText() == "3 — Main store"
        assert editor.current_trigger().shop_id == 3
    dialog.close()
