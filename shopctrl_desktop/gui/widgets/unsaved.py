"""The "unsaved changes" question asked before an editor throws work away."""

from __future__ import annotations

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

Answer = QMessageBox.StandardButton


class UnsavedChangesDialog(QDialog):
    """An editor dialog whose window close button goes through ``reject()``: the subclass' ``reject()``
    asks about unsaved changes, and the window stays open when the user cancels."""

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.reject()
        if self.isVisible():
            event.ignore()
        else:
            event.accept()


def ask_unsaved_changes(parent: QWidget, what: str) -> QMessageBox.StandardButton:
    """Save, Discard or Cancel. ``what`` names the thing, e.g. "the trigger “ERP order sync”"."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Unsaved changes")
    box.setText(f"You have unsaved changes to {what}.")
    box.setInformativeText("Do you want to save them before closing?")
    box.setStandardButtons(Answer.Save | Answer.Discard | Answer.Cancel)
    box.setDefaultButton(Answer.Save)
    result = box.exec()
    try:
        return Answer(result)
    except ValueError:
        return Answer.Cancel


def confirm(parent: QWidget, title: str, text: str, informative: str = "", *, yes_text: str = "") -> bool:
    """A Yes / Cancel question (Cancel is the default); True when the user said yes."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    if informative:
        box.setInformativeText(informative)
    box.setStandardButtons(Answer.Yes | Answer.Cancel)
    box.setDefaultButton(Answer.Cancel)
    if yes_text:
        box.button(Answer.Yes).setText(yes_text)
    return box.exec() == Answer.Yes
