"""The Settings dialog's "Data retention" box: how long finished items are kept (``keep_delivered_days``,
``keep_failed_days`` in settings.json, the rule in domain/retention.py, applied by the delivering engine every
ten minutes) and **Purge now…**, which counts what would go with the periods shown (the dry run), asks, and
deletes it in the same small batches as the engine, on a worker thread."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.retention import cutoffs
from shopctrl_desktop.domain.roles import Capability
from shopctrl_desktop.engine.retention_task import purge_once
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.queue.confirm import ask
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.store.retention import Purged, count_due
from shopctrl_desktop.store.roles import refusal_message

MAX_DAYS = 3650
DEFAULTS = Settings()  # the periods offered when "Keep forever" is unticked
RETENTION_NOTE = (
    "The delivering engine deletes finished items, their attempts and the event snapshots no item needs any "
    "more every ten minutes, in small batches. Waiting items are never deleted."
)
STATUS_WORDS = {"delivered": "delivered", "cancelled": "cancelled", "failed": "failed"}


def purged_words(result: Purged) -> str:
    """``3 delivered and 1 failed items (4 attempts) and 2 event snapshots``."""
    kinds = [f"{n:,} {STATUS_WORDS.get(status, status)}" for status, n in sorted(result.by_status.items())]
    if kinds:
        items = (", ".join(kinds[:-1]) + " and " + kinds[-1] if len(kinds) > 1 else kinds[0]) + (
            " item" if result.items == 1 else " items"
        )
        items += f" ({result.attempts:,} attempt{'' if result.attempts == 1 else 's'})"
    else:
        items = "no items"
    return f"{items} and {result.events:,} event snapshot{'' if result.events == 1 else 's'}"


class _DaysField(QWidget):
    """A number of days with "Keep forever" (stored as 0)."""

    def __init__(self, days: int, name: str, default: int) -> None:
        super().__init__()
        self.spin = QSpinBox()
        self.spin.setObjectName(name)
        self.spin.setRange(1, MAX_DAYS)
        self.spin.setSuffix(" days")
        self.spin.setValue(days if days > 0 else default)
        self.forever = QCheckBox("Keep forever")
        self.forever.setObjectName(f"{name}_forever")
        self.forever.setChecked(days <= 0)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.spin)
        row.addWidget(self.forever)
        row.addStretch(1)
        self.forever.toggled.connect(lambda on: self.spin.setEnabled(not on))
        self.spin.setEnabled(days > 0)

    def days(self) -> int:
        return 0 if self.forever.isChecked() else int(self.spin.value())


class RetentionBox(QGroupBox):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Data retention", parent)
        self.setObjectName("retention_box")
        self.ctx = ctx
        self.busy = False
        s = ctx.settings
        self.delivered = _DaysField(
            s.keep_delivered_days, "keep_delivered_days", DEFAULTS.keep_delivered_days
        )
        self.failed = _DaysField(s.keep_failed_days, "keep_failed_days", DEFAULTS.keep_failed_days)
        self.delivered.spin.setAccessibleName("Keep delivered and cancelled items")
        self.failed.spin.setAccessibleName("Keep failed items")
        self.purge_button = QPushButton("Purge now…")
        self.purge_button.setObjectName("purge_now")
        self.purge_button.setToolTip("Count what is past the periods above, then delete it now if you agree")
        if not ctx.may(Capability.EDIT_SETTINGS):
            self.purge_button.setEnabled(False)
            self.purge_button.setToolTip("Only an admin can delete data now.")
        self.purge_message = QLabel()
        self.purge_message.setObjectName("purge_message")
        self.purge_message.setWordWrap(True)
        note = QLabel(RETENTION_NOTE)
        note.setWordWrap(True)
        note.setStyleSheet(style("color: #555;"))
        purge_row = QHBoxLayout()
        purge_row.addWidget(self.purge_button)
        purge_row.addWidget(self.purge_message, 1)
        form = QFormLayout(self)
        form.addRow("Delivered and cancelled items", self.delivered)
        form.addRow("Failed items", self.failed)
        form.addRow(note)
        form.addRow(purge_row)
        for row, field in ((0, self.delivered.spin), (1, self.failed.spin)):
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
            if isinstance(label, QLabel):
                label.setBuddy(field)
        self.form = form
        self.purge_button.clicked.connect(self.count_then_purge)

    def days(self) -> tuple[int, int]:
        """(keep_delivered_days, keep_failed_days) as entered; 0 keeps forever."""
        return self.delivered.days(), self.failed.days()

    def _rules(self) -> str:
        delivered, failed = self.days()
        parts = [
            f"delivered and cancelled items older than {delivered} days" if delivered else None,
            f"failed items older than {failed} days" if failed else None,
        ]
        return " and ".join(p for p in parts if p)

    # -- purge now --------------------------------------------------------------------------------------
    def count_then_purge(self) -> None:
        if self.busy:
            return
        delivered, failed = self.days()
        cut = cutoffs(datetime.now(UTC), delivered, failed)
        if not cut.any:
            self._say("Both kinds are kept forever: there is nothing to purge.")
            return
        db, user = self.ctx.db, self.ctx.identity.user

        def count() -> Purged:
            try:
                with db.sessions() as session:
                    return count_due(session, cut)
            except Exception as exc:
                raise _in_words(exc, user) from None

        self._start("Counting what is past its retention…")
        run_in_background(
            count,
            self._on_counted,
            lambda message: self._on_failed(f"Nothing was deleted: {message}"),
            owner=self,
        )

    def _on_counted(self, due: Purged) -> None:
        self.busy = False
        self.purge_button.setEnabled(True)
        if due.nothing:
            self._say(f"Nothing is past its retention now ({self._rules()}).")
            return
        self.due = due
        self._say(f"Past its retention now: {purged_words(due)}.")
        question = (
            f"Delete {purged_words(due)} now?\n\nThese are {self._rules()}. "
            "Deleted items cannot be retried or resent. This cannot be undone."
        )
        if ask(self, "Purge now", question, "Delete now", "Keep them"):
            self.purge()

    def purge(self) -> None:
        """Delete what is due with the periods shown, batch by batch, on a worker thread."""
        delivered, failed = self.days()
        settings = replace(self.ctx.settings, keep_delivered_days=delivered, keep_failed_days=failed)
        db, user = self.ctx.db, self.ctx.identity.user

        def run() -> Purged:
            try:
                return purge_once(db, settings, datetime.now(UTC))
            except Exception as exc:
                raise _in_words(exc, user) from None

        self._start("Deleting…")
        run_in_background(
            run,
            self._on_purged,
            lambda message: self._on_failed(
                f"The purge stopped: {message}. What was deleted before stays deleted; the engine carries on "
                "at its next turn."
            ),
            owner=self,
        )

    def _on_purged(self, done: Purged) -> None:
        self.busy = False
        self.purge_button.setEnabled(True)
        self._say(f"Deleted {purged_words(done)}.")

    def _on_failed(self, message: str) -> None:
        self.busy = False
        self.purge_button.setEnabled(True)
        self._say(message, error=True)

    def _start(self, text: str) -> None:
        self.busy = True
        self.purge_button.setEnabled(False)
        self._say(text)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.purge_message.setText(text)
        self.purge_message.setStyleSheet(style("color: #a61b1b;") if error else "")


def _in_words(exc: Exception, user: str) -> Exception:
    words = refusal_message(exc, user)
    return RuntimeError(words[:1].upper() + words[1:]) if words else exc
