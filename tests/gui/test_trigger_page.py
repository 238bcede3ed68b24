"""Triggers page: table model, empty state, enable toggle, duplicate and delete."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from shopctrl_desktop.domain.model import Trigger
from shopctrl_desktop.gui.triggers.model import Column, Role, TriggerTableModel
from shopctrl_desktop.gui.triggers.page import TriggersPage
from tests.gui.triggers_support import answer_message_boxes, ctx, full_action, load_all, save  # noqa: F401


def _page(qtbot, ctx) -> TriggersPage:  # noqa: F811
    page = TriggersPage(ctx)
    qtbot.addWidget(page)
    return page


def test_model_passes_qtmodeltester(qtmodeltester):
    model = TriggerTableModel()
    model.set_triggers(
        [
            Trigger(title="ERP order sync", event="OrderChanged", actions=(full_action(),), id=1),
            Trigger(title="Shipped mail", event="ShipmentShipped", shop_id=3, enabled=False, id=2),
        ],
        {3: "Main store"},
    )
    qtmodeltester.check(model)
    assert model.data(model.index(0, Column.EVENT)) == "Order changed"
    assert model.data(model.index(1, Column.SHOP)) == "Main store"
    assert model.data(model.index(0, Column.SHOP)) == "All shops"
    assert model.data(model.index(0, Column.ACTIONS)) == "1"
    assert (
        model.data(model.index(1, Column.ENABLED), Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    )
    assert model.data(model.index(1, 0), Role.TRIGGER_ID) == 2
    assert b"trigger" in model.roleNames().values()


def test_empty_state_then_rows(qtbot, ctx):  # noqa: F811
    page = _page(qtbot, ctx)
    assert page.stack.currentWidget() is page.empty_state
    assert "No triggers yet" in page.empty_label.text()
    assert not page.edit_action.isEnabled()
    save(ctx, Trigger(title="ERP order sync", event="OrderChanged"))
    page.reload()
    assert page.stack.currentWidget() is page.table
    assert page.model.rowCount() == 1
    assert page.selected_trigger().title == "ERP order sync"


def test_enabled_checkbox_is_stored_at_once(qtbot, ctx):  # noqa: F811
    trigger_id = save(ctx, Trigger(title="ERP order sync", event="OrderChanged"))
    page = _page(qtbot, ctx)
    with qtbot.waitSignal(page.triggers_changed):
        page.model.setData(
            page.model.index(0, Column.ENABLED), Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole
        )
    assert [t.enabled for t in load_all(ctx) if t.id == trigger_id] == [False]
    assert not page.enable_action.isChecked()
    page.enable_action.trigger()  # the toolbar toggle switches it back on
    assert load_all(ctx)[0].enabled is True


def test_duplicate_makes_a_disabled_copy_with_its_actions(qtbot, ctx):  # noqa: F811
    save(ctx, Trigger(title="ERP order sync", event="OrderChanged", actions=(full_action(),)))
    page = _page(qtbot, ctx)
    page.duplicate_action.trigger()
    triggers = {t.title: t for t in load_all(ctx)}
    copy = triggers["ERP order sync (copy)"]
    assert copy.enabled is False
    assert len(copy.actions) == 1 and copy.actions[0].hmac_secret == "s3cr3t-hmac-value"
    assert copy.actions[0].id != triggers["ERP order sync"].actions[0].id
    assert page.selected_trigger().title == "ERP order sync (copy)"


def test_delete_asks_first(qtbot, ctx, monkeypatch):  # noqa: F811
    save(ctx, Trigger(title="ERP order sync", event="OrderChanged"))
    page = _page(qtbot, ctx)
    asked = answer_message_boxes(monkeypatch, QMessageBox.StandardButton.Cancel)
    page.delete_action.trigger()
    assert "ERP order sync" in asked[0]
    assert len(load_all(ctx)) == 1
    answer_message_boxes(monkeypatch, QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(page.triggers_changed):
        page.delete_action.trigger()
    assert load_all(ctx) == []
    assert page.stack.currentWidget() is page.empty_state
