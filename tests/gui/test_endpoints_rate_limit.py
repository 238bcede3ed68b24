"""The Endpoints page's "Rate limit…" dialog: set a limit, see it in the table, take it off; admin only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from shopctrl_desktop.domain.roles import Role
from shopctrl_desktop.gui.endpoints.model import COL_LIMIT
from shopctrl_desktop.gui.endpoints.page import EndpointsPage
from shopctrl_desktop.store import roles
from shopctrl_desktop.store.models import AuditEntryRow, EndpointRow
from tests.gui.queue_support import OFFSCREEN_NOTE
from tests.helpers.factories import make_action

pytestmark = OFFSCREEN_NOTE

ERP = "https://erp.example.com/api/orders"
SHOP = "https://shop.example.com/hook"


def open_page(qtbot, ctx) -> EndpointsPage:
    make_action(ctx.db, ctx.box, ERP, title="Orders to ERP")
    make_action(ctx.db, ctx.box, SHOP, title="Stock to shop")
    page = EndpointsPage(ctx)
    qtbot.addWidget(page)
    page.resize(1300, 600)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.show()
    return page


def select(qtbot, page: EndpointsPage, key: str) -> None:
    page.table.selectRow(page.model.row_of(key))
    qtbot.waitUntil(lambda: (e := page.selected()) is not None and e.key == key)


def limit_cell(page: EndpointsPage, key: str) -> tuple[str, str]:
    row = page.model.row_of(key)
    assert row is not None
    index = page.model.index(row, COL_LIMIT)
    return index.data(), index.data(Qt.ItemDataRole.ToolTipRole)


def stored_limit(ctx, key: str) -> float | None:
    with ctx.db.sessions() as s:
        return s.scalar(sa.select(EndpointRow.rate_limit).where(EndpointRow.url == key))


def test_set_and_remove_a_rate_limit_in_the_dialog(qtbot, ctx):
    page = open_page(qtbot, ctx)
    select(qtbot, page, ERP)
    assert limit_cell(page, ERP)[0] == "—"
    assert page.rate_button.isEnabled()
    qtbot.mouseClick(page.rate_button, Qt.MouseButton.LeftButton)
    dialog = page.rate_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.no_limit.isChecked() and not dialog.rate.isEnabled()  # no limit yet

    dialog.limited.setChecked(True)
    assert dialog.rate.isEnabled()
    dialog.rate.setValue(20)
    assert "one every 50 ms" in dialog.explain.text()
    dialog.rate.setValue(0.5)
    assert "one every 2 s" in dialog.explain.text()
    dialog.rate.setValue(20)
    with qtbot.waitSignal(page.loaded, timeout=10_000), qtbot.waitSignal(page.message_posted) as message:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert message.args == ["erp.example.com/api/orders: at most 20/s"]
    assert stored_limit(ctx, ERP) == 20.0
    text, tip = limit_cell(page, ERP)
    assert text == "20/s" and "one request every 0.05 s" in tip
    assert limit_cell(page, SHOP)[0] == "—"

    # open again: the dialog shows the limit; "No limit" takes it off
    qtbot.mouseClick(page.rate_button, Qt.MouseButton.LeftButton)
    dialog = page.rate_dialog
    assert dialog.limited.isChecked() and dialog.rate.value() == 20.0
    dialog.no_limit.setChecked(True)
    with qtbot.waitSignal(page.loaded, timeout=10_000), qtbot.waitSignal(page.message_posted) as message:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert message.args == ["erp.example.com/api/orders: no rate limit"]
    assert stored_limit(ctx, ERP) is None and limit_cell(page, ERP)[0] == "—"

    # Cancel changes nothing
    qtbot.mouseClick(page.rate_button, Qt.MouseButton.LeftButton)
    page.rate_dialog.limited.setChecked(True)
    page.rate_dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert not page.rate_dialog.isVisible() and stored_limit(ctx, ERP) is None
    with ctx.db.sessions() as s:
        audit = s.scalars(sa.select(AuditEntryRow.action).order_by(AuditEntryRow.id)).all()
    assert audit[-2:] == ["endpoint.rateLimited", "endpoint.rateLimited"]


@pytest.mark.parametrize("role", [Role.SUPPORT])
def test_only_an_admin_may_set_a_rate_limit(qtbot, ctx, role):
    ctx.identity = roles.Identity("anna", role, False)
    page = open_page(qtbot, ctx)
    select(qtbot, page, ERP)
    assert page.pause_button.isEnabled()  # support may pause
    assert not page.rate_button.isEnabled()
    assert "Only an admin can change rate limits" in page.rate_button.toolTip()
    page.edit_rate_limit()  # even when called directly: no dialog
    assert page.rate_dialog is None
