"""File → Erase customer data…: a customer's erasure request in the window, as ``erase`` does it on the command
line (domain/erasure.py says what is erased, store/erasure.py does it in one transaction with its audit entry).

The admin chooses an e-mail address or an entity (type and id), **Preview** counts in words what would be
erased (the dry run), **Erase…** asks once more with those counts and then erases on a worker thread, so the
window keeps painting; the outcome is said in the dialog. Changing the request after a preview asks for a new
preview first. Other roles see the dialog read-only, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.erasure import ErasureError, ErasureRequest, parse_request
from shopctrl_desktop.domain.events import CATALOGUE
from shopctrl_desktop.domain.roles import Capability
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.permissions import make_read_only, read_only_line, read_only_reason
from shopctrl_desktop.gui.queue.confirm import ask
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.store.erasure import Erased, erase
from shopctrl_desktop.store.roles import refusal_message

INTRO = (
    "Erase everything stored about one customer: event snapshots, webhook payloads, response bodies and alert "
    "texts that hold their data. Items still waiting to be sent for them are cancelled. Ids, times and "
    "statuses stay, so the queue's history still adds up. The audit trail records the erasure and its counts, "
    "never the address. Backups taken before still hold the data until they age out."
)
#: Entity types offered first (any other can be typed).
COMMON_ENTITY_TYPES = ("Customer", "Order", "Invoice", "CustomerAddress")


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _list(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def erased_words(result: Erased, *, dry_run: bool) -> str:
    """``Erasing would blank 1 event snapshot and 2 webhook payloads, remove 1 response body … and cancel 1
    waiting item.`` — what an erasure touches (or touched), in a sentence."""
    if not (result.events or result.items or result.attempts or result.alerts):
        return (
            "Nothing stored holds this customer's data: there is nothing to erase."
            if dry_run
            else "Nothing was erased: nothing stored holds this customer's data."
        )
    blank = [
        _count(result.events, "event snapshot"),
        _count(result.items, "webhook payload"),
    ]
    actions = [
        f"blank {_list(blank)}",
        f"remove {_count(result.attempts, 'response body', 'response bodies')}",
        f"replace {_count(result.alerts, 'alert text')}",
        f"cancel {_count(result.cancelled, 'waiting item')}",
    ]
    if dry_run:
        return f"Erasing would {_list(actions)}."
    done = [a.replace("blank", "Blanked", 1) for a in actions[:1]] + [
        a.replace("remove", "removed", 1).replace("replace", "replaced", 1).replace("cancel", "cancelled", 1)
        for a in actions[1:]
    ]
    return f"{_list(done)}. The erasure is recorded in the audit trail."


class EraseDialog(QDialog):
    erased = Signal(object)  # Erased

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("erase_dialog")
        self.setWindowTitle("Erase customer data")
        self.ctx = ctx
        self._previewed: ErasureRequest | None = None
        self._preview: Erased | None = None
        self.busy = False

        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.email_radio = QRadioButton("E-mail address")
        self.email_radio.setObjectName("erase_by_email")
        self.entity_radio = QRadioButton("Entity")
        self.entity_radio.setObjectName("erase_by_entity")
        group = QButtonGroup(self)
        group.addButton(self.email_radio)
        group.addButton(self.entity_radio)
        self.email_radio.setChecked(True)
        self.email_edit = QLineEdit()
        self.email_edit.setObjectName("erase_email")
        self.email_edit.setPlaceholderText("e.g. ann@example.com (compared without regard to case)")
        self.email_edit.setAccessibleName("E-mail address")
        self.type_combo = QComboBox()
        self.type_combo.setObjectName("erase_entity_type")
        self.type_combo.setEditable(True)
        self.type_combo.setAccessibleName("Entity type")
        others = sorted({e.entity_type for e in CATALOGUE} - set(COMMON_ENTITY_TYPES))
        self.type_combo.addItems([*COMMON_ENTITY_TYPES, *others])
        self.id_edit = QLineEdit()
        self.id_edit.setObjectName("erase_entity_id")
        self.id_edit.setPlaceholderText("id, e.g. 42")
        self.id_edit.setAccessibleName("Entity id")
        entity_row = QHBoxLayout()
        entity_row.addWidget(self.type_combo, 1)
        id_label = QLabel("&Id")
        id_label.setBuddy(self.id_edit)
        entity_row.addWidget(id_label)
        entity_row.addWidget(self.id_edit, 1)
        choice_row = QHBoxLayout()
        choice_row.addWidget(self.email_radio)
        choice_row.addWidget(self.entity_radio)
        choice_row.addStretch(1)
        form = QFormLayout()
        form.addRow("Erase by", choice_row)
        email_label = QLabel("E-&mail address")
        email_label.setBuddy(self.email_edit)
        form.addRow(email_label, self.email_edit)
        type_label = QLabel("Entity &type")
        type_label.setBuddy(self.type_combo)
        form.addRow(type_label, entity_row)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)

        self.message = QLabel("Choose the customer, then Preview to see what would be erased.")
        self.message.setObjectName("erase_message")
        self.message.setWordWrap(True)
        self.message.setMinimumHeight(60)
        self._style_message("note")
        self.preview_button = QPushButton("Preview")
        self.preview_button.setObjectName("erase_preview")
        self.preview_button.setDefault(True)
        self.erase_button = QPushButton("Erase…")
        self.erase_button.setObjectName("erase_run")
        self.erase_button.setEnabled(False)
        self.erase_button.setToolTip("Preview first: the erasure is confirmed with the counts it will touch")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.addButton(self.preview_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.erase_button, QDialogButtonBox.ButtonRole.ActionRole)

        lay = QVBoxLayout(self)
        reason = read_only_reason(ctx, Capability.ERASE_DATA, "erase customer data")
        if reason is not None:
            lay.addWidget(read_only_line(reason, self))
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(600)

        self.buttons.rejected.connect(self.reject)
        self.preview_button.clicked.connect(self.preview)
        self.erase_button.clicked.connect(self._on_erase_button_clicked)
        for radio in (self.email_radio, self.entity_radio):
            radio.toggled.connect(self._on_request_changed)
        self.email_edit.textChanged.connect(self._on_request_changed)
        self.id_edit.textChanged.connect(self._on_request_changed)
        self.type_combo.currentTextChanged.connect(self._on_request_changed)
        self._on_request_changed()
        if reason is not None:
            make_read_only(self, keep=[self.buttons.button(QDialogButtonBox.StandardButton.Close)])
            self.read_only = True
        else:
            self.read_only = False

    # -- the request ------------------------------------------------------------------------------------
    def request(self) -> ErasureRequest:
        """The request as entered; ErasureError in words when it is not one."""
        if self.email_radio.isChecked():
            if not self.email_edit.text().strip():
                raise ErasureError("Enter the customer's e-mail address.")
            return parse_request(None, self.email_edit.text())
        kind, ident = self.type_combo.currentText().strip(), self.id_edit.text().strip()
        if not kind or not ident:
            raise ErasureError("Enter the entity's type and id, e.g. Customer and 42.")
        return parse_request(f"{kind}:{ident}", None)

    def _on_request_changed(self, *_args: object) -> None:
        by_email = self.email_radio.isChecked()
        self.email_edit.setEnabled(by_email)
        self.type_combo.setEnabled(not by_email)
        self.id_edit.setEnabled(not by_email)
        if self._previewed is not None and not self.busy:
            self._previewed = None
            self._preview = None
            self.erase_button.setEnabled(False)
            self._say("The request changed: Preview again before erasing.", "note")

    def _who(self, request: ErasureRequest) -> str:
        if request.email is not None:
            return request.email
        return f"{request.entity_type} {request.entity_id}"

    # -- preview ----------------------------------------------------------------------------------------
    def preview(self) -> None:
        if self.busy or self.read_only:
            return
        try:
            request = self.request()
        except ErasureError as exc:
            self._say(_sentence(str(exc)), "error")
            return
        db = self.ctx.db

        user = self.ctx.identity.user

        def count() -> Erased:
            with _in_words(user), db.sessions() as session:
                return erase(session, request, dry_run=True)

        self._start("Counting what holds this customer's data…")
        run_in_background(
            count,
            lambda result: self._on_previewed(request, result),
            self._on_failed,
            owner=self,
        )

    def _on_previewed(self, request: ErasureRequest, result: Erased) -> None:
        self._finish()
        self._previewed = request
        self._preview = result
        self._say(f"{self._who(request)}: {erased_words(result, dry_run=True)}", "note")
        has_data = bool(result.events or result.items or result.attempts or result.alerts)
        self.erase_button.setEnabled(has_data)

    # -- erase ------------------------------------------------------------------------------------------
    def _on_erase_button_clicked(self) -> None:
        if self._previewed is None or self._preview is None:
            return
        question = (
            f"Erase the data of {self._who(self._previewed)}?\n\n"
            f"{erased_words(self._preview, dry_run=True)}\n\nThis cannot be undone."
        )
        if ask(self, "Erase customer data", question, "Erase the data", "Keep it"):
            self.run_erase()

    def run_erase(self) -> None:
        """Erase what was previewed, on a worker thread (one transaction, with the audit entry)."""
        request = self._previewed
        if request is None or self.busy:
            return
        db = self.ctx.db

        user = self.ctx.identity.user

        def run() -> Erased:
            with _in_words(user), db.session() as session:
                return erase(session, request)

        self._start("Erasing…")
        run_in_background(run, lambda result: self._on_erased(request, result), self._on_failed, owner=self)

    def _on_erased(self, request: ErasureRequest, result: Erased) -> None:
        self._finish()
        self._previewed = None
        self._preview = None
        self.erase_button.setEnabled(False)
        self._say(f"{self._who(request)}: {erased_words(result, dry_run=False)}", "done")
        self.erased.emit(result)

    # -- state ------------------------------------------------------------------------------------------
    def _on_failed(self, message: str) -> None:
        self._finish()
        self.erase_button.setEnabled(self._previewed is not None)
        self._say(f"Nothing was erased: {message}", "error")

    def _start(self, text: str) -> None:
        self.busy = True
        for widget in (self.preview_button, self.erase_button):
            widget.setEnabled(False)
        self._say(text, "note")

    def _finish(self) -> None:
        self.busy = False
        self.preview_button.setEnabled(True)

    def _say(self, text: str, kind: str) -> None:
        self.message.setText(text)
        self._style_message(kind)

    def _style_message(self, kind: str) -> None:
        colours = {
            "note": "background: #eef3fb; border: 1px solid #c5d5ee; color: #1d2b44;",
            "done": "background: #e6f4ea; border: 1px solid #a8d5b5; color: #1d6b32;",
            "error": "background: #fdecea; border: 1px solid #f0b4ae; color: #a61b1b;",
        }
        self.message.setStyleSheet(style(colours[kind] + " padding: 6px; border-radius: 3px;"))


@contextmanager
def _in_words(user: str) -> Iterator[None]:
    """A statement the database refused for lack of privilege becomes the words the CLI uses too."""
    try:
        yield
    except Exception as exc:
        words = refusal_message(exc, user)
        if words is None:
            raise
        raise RuntimeError(words[:1].upper() + words[1:]) from None


def _sentence(text: str) -> str:
    text = text.replace("--entity TYPE:ID", "an entity").replace("--email ADDRESS", "an e-mail address")
    text = text.replace("--entity takes", "An entity is")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
