"""The Activity page: the audit trail — who changed what, from which workstation, when — with filters by
who, what, text and time; double-click opens the trigger or the queue item an entry is about."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QModelIndex, QSettings, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.audit import SECRET_CHANGED, AuditAction, AuditEntry, SubjectKind
from shopctrl_desktop.domain.roles import Capability
from shopctrl_desktop.gui.activity.model import ENTRY_ID_ROLE, ActivityModel
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.table_model import log_table, table_over_detail
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.store import audit as audit_store

LIMIT = 1000
EVERYONE = "Everyone"
#: The "what" filter: a label and the action kinds it shows.
WHAT_CHOICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Everything", ()),
    ("Triggers", ("trigger",)),
    ("Queue actions", ("item", "items")),
    ("Alerts", ("alerts",)),
    ("Settings", ("settings",)),
    ("Shops", ("shop",)),
    ("Endpoints", ("endpoint",)),
    ("Keys, users and restores", ("key", "user", "database")),
)
#: The "since" filter: a label and how far back (None: any time; "today": since local midnight).
SINCE_CHOICES: tuple[tuple[str, Any], ...] = (
    ("Any time", None),
    ("Last hour", timedelta(hours=1)),
    ("Today", "today"),
    ("Last 7 days", timedelta(days=7)),
    ("Last 30 days", timedelta(days=30)),
)
EMPTY_TEXT = (
    "No activity yet. Every change to triggers, settings and shop names, and every retry, cancel, resend "
    "or alert marked read is recorded here — with who, from which workstation, and when."
)


@dataclass(frozen=True)
class Filters:
    who: str | None = None
    what: tuple[str, ...] = ()
    contains: str = ""
    since: datetime | None = None

    @property
    def active(self) -> bool:
        return bool(self.who or self.what or self.contains or self.since)


def since_moment(choice: Any, now: datetime | None = None) -> datetime | None:
    now = now or datetime.now(UTC)
    if choice is None:
        return None
    if choice == "today":
        local = now.astimezone()
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    return now - choice


class ActivityPage(QWidget):
    #: The user asked to open the trigger an entry is about.
    trigger_requested = Signal(int)
    #: The user asked to see the queue item an entry is about.
    item_requested = Signal(int)
    #: A load finished (for tests and the window).
    loaded = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activity_page")
        self.ctx = ctx
        self.model = ActivityModel(self)
        self.table = log_table(self, self.model, "activity_table", (150, 110, 120, 300))
        self.detail = QTextBrowser()
        self.detail.setObjectName("activity_detail")
        self.detail.setOpenLinks(False)
        self.detail.anchorClicked.connect(self._on_detail_anchorClicked)

        self.who_combo = QComboBox()
        self.who_combo.setObjectName("activity_who")
        self.who_combo.addItem(EVERYONE)
        self.who_combo.setMinimumContentsLength(12)
        self.what_combo = QComboBox()
        self.what_combo.setObjectName("activity_what")
        for label, kinds in WHAT_CHOICES:
            self.what_combo.addItem(label, kinds)
        self.since_combo = QComboBox()
        self.since_combo.setObjectName("activity_since")
        for label, choice in SINCE_CHOICES:
            self.since_combo.addItem(label, choice)
        self.search = QLineEdit()
        self.search.setObjectName("activity_search")
        self.search.setPlaceholderText("Search names, URLs, fields…")
        self.search.setClearButtonEnabled(True)
        # the bar must fit a 1,024 px window: long choices and the summary do not widen it
        self.search.setMinimumWidth(120)
        for combo, letters in ((self.who_combo, 9), (self.what_combo, 11)):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(letters)
        self.refresh_button = QPushButton("Refresh")
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Open the trigger or the queue item of the selected entry")
        self.summary = QLabel()
        self.summary.setObjectName("activity_summary")
        self.summary.setMinimumWidth(60)  # shrinks before the window has to grow
        for button in (self.open_button, self.refresh_button):  # may be narrower than the style's 80 px
            button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 24)
        bar = QHBoxLayout()
        for label, widget in (("Who", self.who_combo), ("What", self.what_combo), ("When", self.since_combo)):
            bar.addWidget(QLabel(label))
            bar.addWidget(widget)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.open_button)
        bar.addWidget(self.refresh_button)
        bar.addSpacing(6)
        bar.addWidget(self.summary)

        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet(style("color: #666; padding: 12px;"))
        self.splitter = table_over_detail("activity_splitter", self.table, self.detail, 2)

        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.empty_label)
        lay.addWidget(self.splitter, 1)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(300)
        self._search_timer.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        for combo in (self.who_combo, self.what_combo, self.since_combo):
            combo.activated.connect(lambda _index: self.reload())
        self.refresh_button.clicked.connect(self.reload)
        self.open_button.clicked.connect(self.open_selected)
        self.table.doubleClicked.connect(self._on_table_doubleClicked)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._update_buttons()

    # -- loading ----------------------------------------------------------------------------------------
    def filters(self) -> Filters:
        who = self.who_combo.currentText()
        return Filters(
            who=None if who == EVERYONE else who,
            what=tuple(self.what_combo.currentData() or ()),
            contains=self.search.text().strip(),
            since=since_moment(self.since_combo.currentData()),
        )

    def reload(self) -> None:
        if not self.ctx.may(
            Capability.VIEW_AUDIT
        ):  # the database grants the trail to admins only (SPEC §10): no query
            identity = self.ctx.identity
            role = identity.role.value if identity.role else "no role"
            self.empty_label.setText(
                f"You are signed in as {identity.user} ({role}). Only an admin can see the activity: "
                "who changed which trigger, setting or shop name, and when."
            )
            self.empty_label.setVisible(True)
            return
        db, chosen = self.ctx.db, self.filters()

        def load() -> tuple[list[AuditEntry], list[str]]:
            with db.sessions() as s:
                entries = audit_store.list_entries(
                    s,
                    who=chosen.who,
                    what=chosen.what or None,
                    since=chosen.since,
                    contains=chosen.contains or None,
                    limit=LIMIT,
                )
                return entries, audit_store.known_users(s)

        run_in_background(load, lambda result: self._on_loaded(result, chosen), owner=self)

    def _on_loaded(self, result: tuple[list[AuditEntry], list[str]], chosen: Filters) -> None:
        entries, users = result
        selected = self.selected_entry()
        self._set_users(users)
        self.model.set_rows(entries)
        row = self.model.row_of(selected.id) if selected is not None else None
        if row is not None:
            self.table.selectRow(row)
        else:
            self.detail.clear()
        self.empty_label.setVisible(not entries and not chosen.active)
        if not entries:
            self.summary.setText("No entries match" if chosen.active else "")
        elif len(entries) >= LIMIT:
            self.summary.setText(f"The newest {LIMIT:,} entries")
        else:
            self.summary.setText(f"{len(entries):,} entr{'y' if len(entries) == 1 else 'ies'}")
        self._update_buttons()
        self.loaded.emit(len(entries))

    def _set_users(self, users: list[str]) -> None:
        current = self.who_combo.currentText()
        wanted = [EVERYONE, *users]
        if [self.who_combo.itemText(i) for i in range(self.who_combo.count())] == wanted:
            return
        self.who_combo.blockSignals(True)
        self.who_combo.clear()
        self.who_combo.addItems(wanted)
        if current in wanted:
            self.who_combo.setCurrentText(current)
        self.who_combo.blockSignals(False)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.reload()  # what other pages, the CLI or another workstation changed meanwhile

    # -- selection and detail ---------------------------------------------------------------------------
    def selected_entry(self) -> AuditEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _on_selection_changed(self, *_: object) -> None:
        entry = self.selected_entry()
        self.detail.setHtml(style(detail_html(entry)) if entry is not None else "")
        self._update_buttons()

    def _update_buttons(self) -> None:
        entry = self.selected_entry()
        self.open_button.setEnabled(entry is not None and target_of(entry) is not None)

    # -- opening ----------------------------------------------------------------------------------------
    def open_selected(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self.open_entry(entry)

    def open_entry(self, entry: AuditEntry) -> bool:
        target = target_of(entry)
        if target is None:
            return False
        kind, ident = target
        (self.trigger_requested if kind == SubjectKind.TRIGGER else self.item_requested).emit(ident)
        return True

    def _on_table_doubleClicked(self, index: QModelIndex) -> None:
        row = self.model.row_of(int(index.data(ENTRY_ID_ROLE)))
        if row is not None:
            self.open_entry(self.model.row_at(row))

    def _on_detail_anchorClicked(self, _url: object) -> None:
        self.open_selected()

    # -- layout memory ----------------------------------------------------------------------------------
    def save_state(self, settings: QSettings) -> None:
        settings.setValue("activity/header", self.table.horizontalHeader().saveState())
        settings.setValue("activity/splitter", self.splitter.saveState())

    def restore_state(self, settings: QSettings) -> None:
        header = settings.value("activity/header")
        if header is not None:
            self.table.horizontalHeader().restoreState(header)
        splitter = settings.value("activity/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)


def target_of(entry: AuditEntry) -> tuple[str, int] | None:
    """What double-clicking the entry opens: ("trigger", id), ("item", id), or None (deleted trigger,
    settings, alerts, …). A bulk retry opens the first item it retried."""
    subject = entry.subject
    if subject.kind == SubjectKind.TRIGGER and subject.id is not None:
        return None if entry.action == AuditAction.TRIGGER_DELETED else (SubjectKind.TRIGGER, subject.id)
    if subject.kind == SubjectKind.ITEM and subject.id is not None:
        return (SubjectKind.ITEM, subject.id)
    if subject.kind == SubjectKind.ITEMS:
        for change in entry.changes:
            if change.field == "items" and isinstance(change.new, list) and change.new:
                return (SubjectKind.ITEM, int(change.new[0]))
    return None


def _cell(value: Any) -> str:
    if value is None:
        return "<span style='color:#888'>(none)</span>"
    if isinstance(value, dict):
        value = "\n".join(f"{k}: {v}" for k, v in value.items() if v not in (None, ""))
    elif isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = str(value)
    if text == "":
        return "<span style='color:#888'>(empty)</span>"
    if len(text) > 2000:
        text = text[:2000] + "…"
    return f"<span style='white-space:pre-wrap'>{html.escape(text)}</span>"


def detail_html(entry: AuditEntry) -> str:
    when = entry.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    parts = [
        f"<p><b>{html.escape(entry.headline)}</b></p>",
        f"<p style='color:#5f6368'>{html.escape(entry.who)} on {html.escape(entry.workstation)}, {when}</p>",
    ]
    if entry.changes:
        rows = []
        for change in entry.changes:
            if change.secret:
                secret = f"<i>{SECRET_CHANGED} (secret, not shown)</i>"
                rows.append(f"<tr><td>{html.escape(change.field)}</td><td colspan='2'>{secret}</td></tr>")
                continue
            rows.append(
                f"<tr><td>{html.escape(change.field)}</td><td>{_cell(change.old)}</td>"
                f"<td>{_cell(change.new)}</td></tr>"
            )
        parts.append(
            "<table cellspacing='0' cellpadding='4' border='1' style='border-collapse:collapse'>"
            "<tr><th align='left'>Field</th><th align='left'>Before</th><th align='left'>After</th></tr>"
            + "".join(rows)
            + "</table>"
        )
    target = target_of(entry)
    if target is not None:
        label = "Open the trigger" if target[0] == SubjectKind.TRIGGER else f"Open queue item #{target[1]}"
        parts.append(f"<p><a href='open:{target[0]}:{target[1]}'>{label}</a></p>")
    return "".join(parts)
