"""The main window says so when this workstation's key is not the one the database's secrets need."""

from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtWidgets import QLabel, QMainWindow

from shopctrl_desktop.gui.app import show_key_warning
from shopctrl_desktop.store.secrets import SecretBox


def test_a_wrong_key_is_shown_in_the_status_bar(qtbot, db):
    key_a, key_b = SecretBox.generate(), SecretBox.generate()
    right = QMainWindow()
    qtbot.addWidget(right)
    assert show_key_warning(right, SimpleNamespace(db=db, box=key_a)) is None  # records the database's key
    assert right.findChild(QLabel, "key_warning") is None

    wrong = QMainWindow()
    qtbot.addWidget(wrong)
    text = show_key_warning(wrong, SimpleNamespace(db=db, box=key_b))
    assert text is not None and text.startswith("This database's secrets need key")
    label = wrong.findChild(QLabel, "key_warning")
    assert label is not None and "Wrong secret key" in label.text()
    assert key_a.fingerprint in label.toolTip() and "key import" in label.toolTip()
    assert wrong.statusBar().currentMessage() == text
