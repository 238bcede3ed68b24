"""The queue's risky actions ask first, in words that name the items: Cancel (bound to Del, beside Retry)
and retrying an item whose receiver answered 410 Gone. A cancelled item is not lost — Retry now sends it
again — so a confirmation that names what is about to stop is enough (no separate Undo)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QMessageBox, QWidget

from shopctrl_desktop.gui.queue.columns import status_label
from shopctrl_desktop.store.browse import QueueRow

NAMED = 5  # items listed by name; more are counted


def item_line(item_id: int, row: QueueRow | None) -> str:
    """ "#12 Order to ERP · Order ORD-1012 (Retrying)"; the id alone when the row is not loaded."""
    if row is None:
        return f"#{item_id}"
    parts = [p for p in (row.trigger_title, row.entity) if p]
    return f"#{item_id} {' · '.join(parts)} ({status_label(row.status)})"


def items_text(ids: Sequence[int], rows: dict[int, QueueRow | None]) -> str:
    lines = [item_line(i, rows.get(i)) for i in ids[:NAMED]]
    if len(ids) > NAMED:
        lines.append(f"… and {len(ids) - NAMED:,} more")
    return "\n".join(lines)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def cancel_question(ids: Sequence[int], rows: dict[int, QueueRow | None]) -> str:
    return (
        f"Cancel {_plural(len(ids), 'waiting item') if len(ids) != 1 else 'this waiting item'}? "
        f"{'They are' if len(ids) != 1 else 'It is'} not sent unless you retry "
        f"{'them' if len(ids) != 1 else 'it'}.\n\n{items_text(ids, rows)}"
    )


def gone_question(ids: Sequence[int], rows: dict[int, QueueRow | None]) -> str:
    them = "these items" if len(ids) != 1 else "this item"
    return (
        f"The receiver answered 410 Gone for {them}: the address no longer exists, so ShopCtrl stopped "
        f"retrying. Check the URL with the receiver first. Retry anyway?\n\n{items_text(ids, rows)}"
    )


def ask(parent: QWidget, title: str, text: str, yes: str, no: str) -> bool:
    """A question with buttons that say what they do; the safe answer is the default (Enter, Esc)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("queue_confirm")
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    no_button = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(no_button)
    box.setEscapeButton(no_button)
    box.exec()
    return box.clickedButton() is yes_button


def confirm_cancel(parent: QWidget, ids: Sequence[int], rows: dict[int, QueueRow | None]) -> bool:
    title = "Cancel items" if len(ids) != 1 else f"Cancel item #{ids[0]}"
    yes = f"Cancel {_plural(len(ids), 'item')}" if len(ids) != 1 else "Cancel the item"
    return ask(parent, title, cancel_question(ids, rows), yes, "Keep waiting")


def confirm_retry_gone(parent: QWidget, ids: Sequence[int], rows: dict[int, QueueRow | None]) -> bool:
    return ask(parent, "Retry a 410 Gone item", gone_question(ids, rows), "Retry anyway", "Don't retry")
