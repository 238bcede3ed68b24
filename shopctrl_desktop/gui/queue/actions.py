"""The Webhook Queue page's actions: Retry, Cancel, Resend, Copy as curl, Export CSV and Retry failed in filter.

A mixin of `QueuePage` (page.py): it builds the actions and the toolbar buttons, enables them for the selection and
runs them in the background (small selections directly, large ones through the `BulkRunner`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QToolBar

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.queue import CANCELLABLE_STATUSES, RETRYABLE_STATUSES, ItemChange, status_values
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.queue.bulk import BULK_THRESHOLD, BulkRunner, describe
from shopctrl_desktop.gui.queue.confirm import confirm_cancel, confirm_retry_gone
from shopctrl_desktop.gui.queue.detail import ItemDetailPane
from shopctrl_desktop.gui.queue.export import export_csv
from shopctrl_desktop.gui.queue.formatting import curl_command
from shopctrl_desktop.gui.queue.model import QueueTableModel
from shopctrl_desktop.gui.queue.table_view import QueueTableView
from shopctrl_desktop.store import browse, queue
from shopctrl_desktop.store.bulk import BulkOperation, BulkResult

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

_RETRYABLE = frozenset(status_values(RETRYABLE_STATUSES))
_CANCELLABLE = frozenset(status_values(CANCELLABLE_STATUSES))


class QueueActions:
    """The actions of the queue page; mixed into `QueuePage`, whose widgets and signals it uses."""

    ctx: AppContext
    model: QueueTableModel
    table: QueueTableView
    toolbar: QToolBar
    detail_pane: ItemDetailPane
    _detail_timer: QTimer
    items_requeued: Signal
    message_posted: Signal

    def selected_ids(self) -> list[int]:
        raise NotImplementedError  # provided by QueuePage

    def refresh(self) -> None:
        raise NotImplementedError  # provided by QueuePage

    def _build_actions(self) -> None:
        """The actions, their shortcuts and tooltips, the toolbar and the table's context menu."""
        widget: QWidget = self  # type: ignore[assignment]
        self.bulk = BulkRunner(widget, self.ctx.db)  # large retries, cancels and resends, in the background
        self.bulk.finished.connect(self._bulk_finished)
        self.bulk.failed.connect(lambda message: self._show_error("The bulk operation failed", message))
        self.retry_action = self._action("Retry now", self.retry_selected, "Ctrl+R")
        self.cancel_action = self._action("Cancel", self.cancel_selected, "Del")
        self.resend_action = self._action("Resend", self.resend_selected, "")
        self.curl_action = self._action("Copy as curl", self.copy_as_curl, "Ctrl+Shift+C")
        self.export_action = self._action("Export CSV…", self.export_csv_interactive, "")
        self.retry_failed_action = self._action("Retry failed in filter", self.retry_failed_in_filter, "")
        self.refresh_action = self._action("Refresh", self.refresh, QKeySequence.StandardKey.Refresh)
        for action in (self.retry_action, self.cancel_action, self.resend_action, self.curl_action):
            self.table.addAction(action)
            self.toolbar.addAction(action)
        self.toolbar.addSeparator()
        for action in (self.export_action, self.retry_failed_action, self.refresh_action):
            self.toolbar.addAction(action)
        self.retry_action.setToolTip("Send the selected failed, retrying or cancelled items again now")
        self.cancel_action.setToolTip("Stop the selected waiting items from being sent")
        self.resend_action.setToolTip("Queue a new copy of the selected items' requests")
        self.curl_action.setToolTip("Copy the request as a curl command (credentials and signatures masked)")
        self.retry_failed_action.setToolTip("Retry every failed item that matches the current filter")
        self.refresh_action.setToolTip("Run the filter again (F5)")
        # the toolbar's buttons, by name (tests click them like a person would)
        self.retry_button = self.toolbar.widgetForAction(self.retry_action)
        self.cancel_button = self.toolbar.widgetForAction(self.cancel_action)
        self.resend_button = self.toolbar.widgetForAction(self.resend_action)
        self.curl_button = self.toolbar.widgetForAction(self.curl_action)
        self.export_button = self.toolbar.widgetForAction(self.export_action)
        self.retry_failed_button = self.toolbar.widgetForAction(self.retry_failed_action)
        self.refresh_button = self.toolbar.widgetForAction(self.refresh_action)

    def _action(self, text: str, slot: Callable[[], None], shortcut: object) -> QAction:
        action = QAction(text, self)  # type: ignore[arg-type]
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))  # type: ignore[arg-type]
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)  # type: ignore[attr-defined]
        return action

    def _update_actions(self) -> None:
        ids = self.selected_ids()
        statuses = {self.model.cached_row(i).status for i in ids if self.model.cached_row(i) is not None}  # type: ignore[union-attr]
        can_retry = bool(statuses & _RETRYABLE)
        can_cancel = bool(statuses & _CANCELLABLE)
        self.retry_action.setEnabled(can_retry)
        self.cancel_action.setEnabled(can_cancel)
        self.resend_action.setEnabled(bool(ids))
        self.curl_action.setEnabled(self.detail_pane.detail is not None and len(ids) == 1)

    # -- actions ----------------------------------------------------------------------------------------
    def _run_on_items(
        self, ids: list[int], op: Callable[..., object], verb: str, requeues: bool, after: str = ""
    ) -> None:
        db = self.ctx.db

        def work() -> list[object]:
            with db.session() as s:
                return [op(s, item_id) for item_id in ids]

        def done(results: list[object]) -> None:
            changed = sum(1 for r in results if r)
            self.model.refresh_ids(ids)
            self.model.note_changes([ItemChange(i, "", 0) for i in ids])  # may leave a filtered view
            self._detail_timer.start(0)
            self._update_actions()
            skipped = len(ids) - changed
            text = f"{verb} {changed} item{'s' if changed != 1 else ''}"
            if skipped:
                text += f" ({skipped} could not be {verb.lower()}: not in a suitable status)"
            names = ", ".join(f"#{i}" for i in ids[:10]) + (" …" if len(ids) > 10 else "")
            notice = f"{verb} {names} at {datetime.now().strftime('%H:%M:%S')}."
            if skipped:
                notice += f" {skipped} could not be {verb.lower()}: not in a suitable status."
            self.detail_pane.show_notice(f"{notice} {after}" if changed else notice, ids)
            self.message_posted.emit(text)
            if requeues and changed:
                self.items_requeued.emit()

        run_in_background(work, done, lambda m: self._show_error(f"{verb} failed", m), owner=self)

    def _bulk_finished(self, result: BulkResult) -> None:
        self.model.refresh_ids(result.changed)  # only the cached rows are re-read: no full reload
        if result.new_ids:
            self.model.note_new_items()
        self.message_posted.emit(describe(result))
        if result.operation is not BulkOperation.CANCEL and (result.changed or result.new_ids):
            self.items_requeued.emit()

    def retry_selected(self) -> None:
        ids = self.selected_ids()
        rows = {i: self.model.cached_row(i) for i in ids}
        gone = [
            i for i in ids if (r := rows[i]) is not None and r.status == "failed" and r.response_status == 410
        ]
        if gone and not confirm_retry_gone(self, gone, rows):
            return
        if len(ids) > BULK_THRESHOLD:
            self.bulk.start(BulkOperation.RETRY, ids)
        elif ids:
            self._run_on_items(ids, queue.retry_item, "Retried", True, "The engine sends them again now.")

    def cancel_selected(self) -> None:
        ids = self.selected_ids()
        rows = {i: self.model.cached_row(i) for i in ids}
        ids = [i for i in ids if (r := rows[i]) is None or r.status in _CANCELLABLE]
        if not ids or not confirm_cancel(self, ids, rows):
            return
        if len(ids) > BULK_THRESHOLD:
            self.bulk.start(BulkOperation.CANCEL, ids)
        else:
            self._run_on_items(
                ids, queue.cancel_item, "Cancelled", False, "Retry now sends a cancelled item again."
            )

    def resend_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) > BULK_THRESHOLD:
            self.bulk.start(BulkOperation.RESEND, ids)
            return
        if not ids:
            return
        db = self.ctx.db

        def work() -> list[int]:
            with db.session() as s:
                return [n for n in (queue.resend_item(s, i) for i in ids) if n is not None]

        def done(new_ids: list[int]) -> None:
            self.model.note_new_items()
            self.message_posted.emit(
                f"Queued {len(new_ids)} new item{'s' if len(new_ids) != 1 else ''}: "
                + ", ".join(f"#{i}" for i in new_ids[:10])
            )
            if new_ids:
                self.items_requeued.emit()

        run_in_background(work, done, lambda m: self._show_error("Resend failed", m), owner=self)

    def copy_as_curl(self) -> None:
        detail = self.detail_pane.detail
        if detail is None:
            return
        QGuiApplication.clipboard().setText(curl_command(detail))
        self.message_posted.emit(f"Copied item #{detail.row.id} as a curl command (credentials masked)")

    def retry_failed_in_filter(self, *, confirm: bool = True) -> None:
        flt = self.model.current_filter
        db = self.ctx.db

        def find() -> list[int]:
            with db.sessions() as s:
                return browse.failed_ids(s, flt)

        def found(ids: list[int]) -> None:
            if not ids:
                self.message_posted.emit("No failed items match the current filter")
                return
            if confirm:
                answer = QMessageBox.question(
                    self,
                    "Retry failed items",
                    f"Retry {len(ids):,} failed item{'s' if len(ids) != 1 else ''} that match the current filter?",
                )
                if answer != QMessageBox.StandardButton.Yes:
                    return
            self.bulk.start(BulkOperation.RETRY_FAILED, ids)  # in chunks, with progress and Cancel

        run_in_background(find, found, lambda m: self._show_error("Retry failed", m), owner=self)

    def export_csv_interactive(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export queue items", "queue-items.csv", "CSV files (*.csv)"
        )
        if name:
            self.export_csv_to(Path(name))

    def export_csv_to(self, path: Path) -> None:
        flt = self.model.current_filter
        db = self.ctx.db
        dialog = QProgressDialog("Exporting queue items…", "Cancel", 0, 100, self)
        dialog.setWindowTitle("Export CSV")
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)

        def progressed(done: int, total: int) -> None:
            dialog.setMaximum(max(1, total))
            dialog.setValue(done)
            dialog.setLabelText(f"Exporting queue items… {done:,} of {total:,}")

        def finished(n: int) -> None:
            _dismiss(dialog)
            if n < 0:
                self.message_posted.emit("Export cancelled")
            else:
                self.message_posted.emit(f"Exported {n:,} items to {path}")

        def failed(message: str) -> None:
            _dismiss(dialog)
            self._show_error("Export failed", message)

        progress = run_in_background(
            lambda p: export_csv(db, flt, path, p),
            finished,
            failed,
            on_progress=progressed,
            with_progress=True,
            owner=self,
        )
        assert progress is not None
        dialog.canceled.connect(lambda: setattr(progress, "cancelled", True))
        self.export_progress = progress

    def _show_error(self, title: str, message: str) -> None:
        self.message_posted.emit(f"{title}: {message}")
        QMessageBox.warning(self, title, message)


def _dismiss(dialog: QProgressDialog) -> None:
    """Close a progress dialog for good (reset() also stops its delayed-show timer)."""
    dialog.reset()
    dialog.close()
    dialog.deleteLater()
