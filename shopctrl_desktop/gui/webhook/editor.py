"""The Call Webhook editor: tabs General, Authentication, Payload, Headers (SPEC 3.1)."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QHBoxLayout,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.model import SignatureScheme, StoredEvent, Trigger, WebhookAction
from shopctrl_desktop.engine.sample_events import sample_events
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.mergefields.browser import MergeFieldBrowser
from shopctrl_desktop.gui.permissions import (
    make_read_only,
    read_only_line,
    show_secret_state,
    trigger_read_only_reason,
)
from shopctrl_desktop.gui.webhook.auth_tab import AuthTab
from shopctrl_desktop.gui.webhook.general_tab import GeneralTab
from shopctrl_desktop.gui.webhook.headers_tab import HeadersTab
from shopctrl_desktop.gui.webhook.payload_tab import PayloadTab
from shopctrl_desktop.gui.webhook.preview import RequestPreviewDialog
from shopctrl_desktop.gui.webhook.rotate_dialog import RotateSecretDialog
from shopctrl_desktop.gui.widgets.accessibility import chain_tab_order
from shopctrl_desktop.gui.widgets.field_message import FieldMessage
from shopctrl_desktop.gui.widgets.unsaved import Answer, UnsavedChangesDialog, ask_unsaved_changes
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.events import recent_events

TAB_GENERAL, TAB_AUTH, TAB_PAYLOAD, TAB_HEADERS = range(4)
TAB_TITLES = ("General", "Authentication", "Payload", "Headers")


class WebhookEditorDialog(UnsavedChangesDialog):
    """Edit one Call Webhook action. ``exec()`` returns Accepted with ``action()`` holding the result.

    ``trigger`` is the (possibly unsaved) trigger the action belongs to: its event decides which merge
    fields are offered and which stored events the preview can use.
    """

    sample_loaded = Signal()  # the payload is now checked against the newest stored event (if any)

    def __init__(
        self,
        ctx: AppContext,
        action: WebhookAction | None,
        trigger: Trigger,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.trigger = trigger
        self._original = action or WebhookAction(url="")
        self._browser: MergeFieldBrowser | None = None
        self._marked = False  # problems() marked a field: changes re-check until all are fixed
        self.preview_dialog: RequestPreviewDialog | None = None
        self.setWindowTitle("Call Webhook")
        self.resize(820, 680)

        self.general_tab = GeneralTab()
        self.auth_tab = AuthTab()
        self.payload_tab = PayloadTab()
        self.headers_tab = HeadersTab()
        general_scroll = QScrollArea(self)
        general_scroll.setWidgetResizable(True)
        general_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        general_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        general_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the fields, not the frame
        general_scroll.setWidget(self.general_tab)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(general_scroll, TAB_TITLES[TAB_GENERAL])
        self.tabs.addTab(self.auth_tab, TAB_TITLES[TAB_AUTH])
        self.tabs.addTab(self.payload_tab, TAB_TITLES[TAB_PAYLOAD])
        self.tabs.addTab(self.headers_tab, TAB_TITLES[TAB_HEADERS])

        self.summary = FieldMessage(self)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary, 1)
        bottom.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        chain_tab_order(
            self.tabs.tabBar(),
            *self.general_tab.tab_chain,
            *self.auth_tab.tab_chain,
            *self.payload_tab.tab_chain,
            self.headers_tab.table,
            self.headers_tab.add_button,
            self.headers_tab.remove_button,
            self.ok_button,
            cancel,
        )

        self.payload_tab.set_event(trigger.event)
        self.general_tab.load(self._original)
        self.auth_tab.load(self._original)
        self.general_tab.show_rotation(self._original)
        self._rotate_overlap_hours: float | None = None  # "Rotate secret…" chosen: applied on save
        self.payload_tab.load(self._original)
        self.headers_tab.load(self._original)
        self._saved = self.action()
        for tab in (self.general_tab, self.auth_tab, self.payload_tab, self.headers_tab):
            tab.changed.connect(self._on_tab_changed)
        self.general_tab.rotation.rotate_requested.connect(self.rotate_secret)
        self.payload_tab.mergefields_requested.connect(self.show_merge_fields)
        self.payload_tab.preview_requested.connect(self.show_preview)
        self.payload_tab.send_test_requested.connect(self._on_payload_tab_send_test_requested)
        self.general_tab.url_edit.setFocus()
        #: why this login may not change webhooks (SPEC §10): then read-only, secrets only "set"/"not set"
        self.read_only = trigger_read_only_reason(ctx)
        if self.read_only:
            self._show_read_only(self.read_only, layout)
        self._load_sample()

    def _show_read_only(self, reason: str, layout: QVBoxLayout) -> None:
        """The line saying why on top, every input read-only, OK gone and Cancel become Close; the secrets are
        never fetched: whether each is set comes from the database's flags (store/triggers.py)."""
        self.read_only_label = read_only_line(reason, self)
        layout.insertWidget(0, self.read_only_label)
        flags: frozenset[str] = frozenset()
        if self._original.id is not None:
            with self.ctx.db.session() as session:
                flags = trigger_store.secrets_set(session).get(self._original.id, frozenset())
        show_secret_state(self.general_tab.secret_edit, "hmac_secret" in flags)
        show_secret_state(self.auth_tab.password_edit, "password" in flags)
        certificate = self.general_tab.certificate_box
        show_secret_state(certificate.passphrase_edit, "client_certificate_passphrase" in flags)
        certificate.pem_edit.setPlaceholderText(
            "Client certificate and private key: set (hidden)"
            if "client_certificate" in flags
            else "Client certificate: not set"
        )
        self.ok_button.hide()
        close = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        close.setText("Close")
        close.setDefault(True)
        make_read_only(self, keep=(close,))
        close.setFocus()

    # --- result ---------------------------------------------------------------------------------
    def action(self) -> WebhookAction:
        """The action as the tabs show it now (validation is separate: ``problems()``)."""
        values: dict[str, object] = {}
        for tab in (self.general_tab, self.auth_tab, self.payload_tab, self.headers_tab):
            values.update(tab.values())
        return WebhookAction(
            id=self._original.id,
            rotate_overlap_hours=self._rotate_overlap_hours,
            **values,  # type: ignore[arg-type]
        )

    def rotate_secret(self) -> RotateSecretDialog:
        """ "Rotate secret…": the new secret goes into the HMAC secret field and is rotated on save."""
        scheme = SignatureScheme(self.general_tab.scheme_combo.currentData())
        dialog = RotateSecretDialog(
            scheme,
            self.ctx.settings.secret_rotation_overlap_hours,
            self.general_tab.secret_edit.text() or None,
            self,
        )
        self.rotate_dialog = dialog
        dialog.accepted.connect(lambda: self._on_rotate_dialog_accepted(dialog))
        dialog.open()
        return dialog

    def _on_rotate_dialog_accepted(self, dialog: RotateSecretDialog) -> None:
        self._rotate_overlap_hours = dialog.overlap_hours()
        self.general_tab.secret_edit.setText(dialog.new_secret())
        self.general_tab.secret_edit.set_revealed(False)
        self.general_tab.rotation.show_pending_rotation(self._rotate_overlap_hours)

    def problems(self) -> dict[int, list[str]]:
        """Validate every tab (messages appear next to the fields); {tab index: problems}."""
        found = {
            TAB_GENERAL: self.general_tab.problems(),
            TAB_AUTH: self.auth_tab.problems(),
            TAB_PAYLOAD: self.payload_tab.problems(),
            TAB_HEADERS: self.headers_tab.problems(),
        }
        for index, title in enumerate(TAB_TITLES):
            self.tabs.setTabText(index, f"{title} ⚠" if found[index] else title)
        problems = {k: v for k, v in found.items() if v}
        self._marked = bool(problems)
        return problems

    def is_dirty(self) -> bool:
        return not getattr(self, "read_only", None) and self.action() != self._saved

    def accept(self) -> None:
        if self.read_only:  # nothing to take back: the action stays as stored
            super().reject()
            return
        problems = self.problems()
        if problems:
            self._show_summary(problems)
            self.tabs.setCurrentIndex(min(problems))
            return
        self.summary.clear_message()
        self._saved = self.action()
        super().accept()

    def reject(self) -> None:
        if self.is_dirty():
            answer = ask_unsaved_changes(self, "this Call Webhook action")
            if answer == Answer.Cancel:
                return
            if answer == Answer.Save:
                self.accept()
                return
        super().reject()

    # --- merge fields, preview, send test --------------------------------------------------------
    def _load_sample(self) -> None:
        """The newest stored event of the trigger's event, else the event's sample (the one ``triggers
        import`` checks templates against): the payload is test-rendered with its data."""
        db, name = self.ctx.db, self.trigger.event

        def load() -> StoredEvent | None:
            with db.session() as session:
                events = recent_events(session, event=name, limit=1)
            return events[0] if events else sample_events().get(name)

        run_in_background(load, self._on_sample_loaded, owner=self)

    def _on_sample_loaded(self, event: StoredEvent | None) -> None:
        if event is not None:
            what = event.entity_code or event.entity_id or ""
            described = f"event #{event.id}" if event.id else f"the sample {event.event} event"
            self.payload_tab.set_sample(event.data, f"{described}, {event.entity_type} {what}".rstrip())
        self.sample_loaded.emit()

    def show_merge_fields(self) -> MergeFieldBrowser:
        if self._browser is None:
            self._browser = MergeFieldBrowser(self.ctx, self.trigger.event, self)
            self._browser.field_chosen.connect(self.payload_tab.insert_merge_field)
        self._browser.show()
        self._browser.raise_()
        self._browser.activateWindow()
        return self._browser

    def show_preview(self, *, send: bool = False) -> RequestPreviewDialog:
        dialog = RequestPreviewDialog(self.ctx, self.trigger, self.action(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if send:
            dialog.send_when_rendered()
        self.preview_dialog = dialog
        dialog.show()
        return dialog

    def _on_payload_tab_send_test_requested(self) -> None:
        if self.problems():
            self.summary.show_error("Fix the marked fields before sending a test.")
            return
        sending = self.preview_dialog
        if sending is not None and shiboken6.isValid(sending) and sending.is_sending:
            sending.raise_()  # one test send at a time: show the one in flight
            sending.activateWindow()
            return
        self.show_preview(send=True)

    def _show_summary(self, problems: dict[int, list[str]]) -> None:
        parts = [f"{', '.join(p)} ({TAB_TITLES[i]})" for i, p in problems.items()]
        self.summary.show_error("Fix before saving: " + "; ".join(parts) + ".")

    def _on_tab_changed(self) -> None:
        """Once problems were marked, every change re-checks: a fixed field loses its ⚠ on the tab and
        its part of the summary, and the summary goes when nothing is left."""
        if not (self._marked or self.summary.has_error()):
            return
        problems = self.problems()
        if problems and self.summary.has_error():
            self._show_summary(problems)
        elif not problems:
            self.summary.clear_message()
