"""The Settings dialog fits a 1024 × 768 screen: its boxes sit on tabs (General, Delivery, Data, Appearance)
and the restart note and buttons stay visible below them."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QTabWidget, QWidget

from shopctrl_desktop.gui.settings.dialog import SettingsDialog
from tests.gui.queue_support import OFFSCREEN_NOTE

pytestmark = OFFSCREEN_NOTE


def test_settings_fit_1024_by_768_on_tabs(qtbot, ctx):
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    QApplication.processEvents()
    assert dialog.sizeHint().height() <= 700
    assert dialog.sizeHint().width() <= 1000
    tabs = dialog.findChild(QTabWidget, "settings_tabs")
    assert tabs is not None
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["General", "Delivery", "Data", "Appearance"]
    # every box is on a tab, the fields tests and users rely on keep their names
    where = {
        "token_edit": "General",
        "retry_kind": "Delivery",
        "concurrency": "Delivery",
        "database_edit": "Data",
        "appearance": "Appearance",
    }
    for name, title in where.items():
        widget = dialog.findChild(QWidget, name)
        assert widget is not None, name
        page = tabs.widget([tabs.tabText(i) for i in range(tabs.count())].index(title))
        assert page.isAncestorOf(widget), (name, title)
    assert page.isAncestorOf(dialog.appearance_combo)
    data = tabs.widget(2)
    assert data.isAncestorOf(dialog.retention_box)
    for i in range(tabs.count()):  # each tab shown whole at the dialog's size
        tabs.setCurrentIndex(i)
        QApplication.processEvents()
        page = tabs.widget(i)
        assert page.sizeHint().height() <= tabs.widget(i).height() + 2, tabs.tabText(i)
    assert dialog.findChild(QWidget, "restart_note").isVisible()


def test_a_field_error_brings_its_tab_to_the_front(qtbot, ctx):
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.tabs.currentIndex() == 0
    dialog.retry_kind.setCurrentIndex(dialog.retry_kind.findData("custom"))
    dialog.delays_edit.setText("soon")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert dialog.isVisible()  # not saved
    assert dialog.tabs.tabText(dialog.tabs.currentIndex()) == "Delivery"
    assert dialog.delays_error.isVisible() and "seconds" in dialog.delays_error.text()
