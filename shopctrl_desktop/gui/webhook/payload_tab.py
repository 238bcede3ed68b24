"""Payload tab: MIME type, the template editor (highlighting, validation as you type), merge fields,
Preview and Send test."""

from __future__ import annotations

import re

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from shopctrl_desktop.domain.mergefield_check import UnknownField, unknown_fields
from shopctrl_desktop.domain.model import MimeType, WebhookAction
from shopctrl_desktop.gui.webhook.payload_editor import PayloadEditor
from shopctrl_desktop.gui.widgets.accessibility import name_from_label
from shopctrl_desktop.gui.widgets.field_message import FieldMessage

VALIDATE_DELAY_MS = 350
LINE_RE = re.compile(r"\bline (\d+)", re.IGNORECASE)
MIME_LABELS = {
    MimeType.JSON: "application/json",
    MimeType.XML: "application/xml",
    MimeType.TEXT: "text/plain",
}
DEFAULT_PAYLOAD_HINT = (
    "Empty: the default JSON payload is sent —\n"
    '{"Trigger": "<event>", "TriggerActionId": <action id>, "entityData": {…}}\n\n'
    "Or write a template with merge fields, e.g.\n"
    '{"order": "$$Order.OrderCode$$", "total": {{ Order.TotalDue | json }}}'
)


def error_line(exc: Exception) -> int | None:
    line = getattr(exc, "line", None) or getattr(exc, "lineno", None)
    if isinstance(line, int):
        return line
    found = LINE_RE.search(str(exc))
    return int(found.group(1)) if found else None


LOOP_RE = re.compile(r"RangeStart:|\{%-?\s*(for|if)\b")


def check_template(body: str, mime: MimeType, sample: dict | None) -> tuple[str | None, int | None]:
    """(message, template line or None) when the template is broken, (None, None) when it is fine.

    The template is compiled (syntax errors carry their line) and rendered with ``sample`` — the newest
    stored event of the trigger's event, or empty data — so a payload that would not be well-formed JSON or
    XML is caught as you type. An output line is marked only where it is the same line of the template
    (no loops or conditions above it could have moved it).
    """
    from shopctrl_desktop.engine.render_pool import RenderJob, shared_pool

    # in a render worker with the engine's bounds: a template that runs for minutes or builds gigabytes
    # is refused after 2 s instead of freezing the window
    _, exc = shared_pool().run(RenderJob("validate", body, str(mime), sample if sample is not None else {}))
    if exc is not None:
        line = error_line(exc)
        if line is not None and getattr(exc, "where", "template") == "output":
            first_loop = LOOP_RE.search(body)
            if first_loop is not None and body.count("\n", 0, first_loop.start()) + 1 <= line:
                line = None  # a loop or condition above may have moved the output line
        return str(exc), line
    return None, None


def warning_text(unknown: list[UnknownField], limit: int = 3) -> str:
    """ "Unknown merge field Order.OrderCod — did you mean Order.OrderCode?" for the first few, one sentence."""
    text = "; ".join(f.message() for f in unknown[:limit])
    if len(unknown) > limit:
        text += f" (and {len(unknown) - limit} more)"
    return text if text.endswith("?") else text + "."


class PayloadTab(QWidget):
    changed = Signal()
    validated = Signal(bool)  # True when the template is fine
    mergefields_requested = Signal()
    preview_requested = Signal()
    send_test_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from shopctrl_desktop.engine.render_pool import shared_pool

        shared_pool()  # the checking worker starts now, in the background, not at the first keystroke
        self.mime_combo = QComboBox(self)
        for mime, label in MIME_LABELS.items():
            self.mime_combo.addItem(label, mime.value)
        self.mergefields_button = QPushButton("Available merge fields…", self)
        self.preview_button = QPushButton("Preview…", self)
        self.preview_button.setToolTip("Render this payload against a stored event")
        self.send_test_button = QPushButton("Send test…", self)
        self.send_test_button.setToolTip("Render against a stored event and deliver it once, now")
        self.editor = PayloadEditor(self)
        self.editor.setPlaceholderText(DEFAULT_PAYLOAD_HINT)
        self.message = FieldMessage(self)
        mime_label = QLabel("MIME &type:", self)
        name_from_label(mime_label, self.mime_combo)
        body_label = QLabel("Payload &body (empty: the default JSON payload):", self)
        name_from_label(body_label, self.editor)
        top = QHBoxLayout()
        top.addWidget(mime_label)
        top.addWidget(self.mime_combo)
        top.addStretch(1)
        top.addWidget(self.mergefields_button)
        top.addWidget(self.preview_button)
        top.addWidget(self.send_test_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(body_label)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.message)
        self.tab_chain: tuple[QWidget, ...] = (
            self.mime_combo,
            self.mergefields_button,
            self.preview_button,
            self.send_test_button,
            self.editor,  # Tab indents here; Ctrl+Tab moves on
        )
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(VALIDATE_DELAY_MS)
        self._timer.timeout.connect(self.validate_now)
        self._problem: str | None = None
        self._sample: dict | None = None
        self._sample_text = "empty data"
        self._event = ""
        #: merge-field paths the catalogue of the trigger's event lacks (a warning, never a blocker)
        self.unknown: list[UnknownField] = []
        self.editor.textChanged.connect(self._on_editor_text_changed)
        self.mime_combo.currentIndexChanged.connect(self._on_mime_combo_changed)
        self.mergefields_button.clicked.connect(self.mergefields_requested)
        self.preview_button.clicked.connect(self.preview_requested)
        self.send_test_button.clicked.connect(self.send_test_requested)

    def load(self, action: WebhookAction) -> None:
        self.mime_combo.setCurrentIndex(self.mime_combo.findData(MimeType(action.payload_mime_type).value))
        self.editor.setPlainText(action.payload_body or "")
        self.editor.set_mime_type(self.mime_type())
        self.validate_now()

    def mime_type(self) -> MimeType:
        return MimeType(self.mime_combo.currentData())

    def values(self) -> dict[str, object]:
        return {"payload_mime_type": self.mime_type(), "payload_body": self.editor.toPlainText()}

    def problems(self) -> list[str]:
        if self._timer.isActive():
            self.validate_now()
        return ["payload template"] if self._problem else []

    def set_sample(self, data: dict | None, description: str) -> None:
        """The event data the template is test-rendered with while typing."""
        self._sample = data
        self._sample_text = description
        if self.editor.toPlainText().strip():
            self.validate_now()

    def set_event(self, event: str) -> None:
        """The trigger's event: its merge-field catalogue decides which paths are known."""
        self._event = event

    def insert_merge_field(self, text: str) -> None:
        self.editor.insert_at_cursor(text)

    def validate_now(self) -> None:
        self._timer.stop()
        body = self.editor.toPlainText()
        if not body.strip():
            self._problem = None
            self.unknown = []
            self.editor.mark_error_line(None)
            self.editor.mark_unknown_fields([])
            self.message.show_info("Empty body: the default JSON payload is sent.")
            self.validated.emit(True)
            return
        problem, line = check_template(body, self.mime_type(), self._sample)
        self._problem = problem
        self.editor.mark_error_line(line)
        self.unknown = unknown_fields(body, self._event, self._sample) if self._event else []
        self.editor.mark_unknown_fields([(f.start, f.end) for f in self.unknown])
        if problem:
            where = f"Line {line}: " if line and f"line {line}" not in problem.lower() else ""
            self.message.show_error(
                f"{where}{problem[:1].upper()}{problem[1:]}\n(checked with {self._sample_text})"
            )
        elif self.unknown:
            self.message.show_warning(
                warning_text(self.unknown) + " An unknown field is sent as empty text; you can still save."
            )
        else:
            self.message.show_ok(
                f"The template renders to valid {self.mime_combo.currentText()} (checked with {self._sample_text})."
            )
        self.validated.emit(problem is None)

    def _on_editor_text_changed(self) -> None:
        self._timer.start()
        self.changed.emit()

    def _on_mime_combo_changed(self, _row: int) -> None:
        self.editor.set_mime_type(self.mime_type())
        self._timer.start()
        self.changed.emit()
