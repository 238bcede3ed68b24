"""The main window: pages (Triggers, Webhook Queue, Alerts, Activity, Endpoints), menus, status bar, tray — wiring only."""

from __future__ import annotations

import html
import logging

from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QFont, QFontMetrics, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QSystemTrayIcon,
    QWidget,
)

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.domain.queue import ItemChange, QueueCounts
from shopctrl_desktop.gui.activity.page import ActivityPage
from shopctrl_desktop.gui.alerts.page import AlertsPage
from shopctrl_desktop.gui.background import run_in_background
from shopctrl_desktop.gui.circuit_note import circuit_note_line
from shopctrl_desktop.gui.endpoints.page import EndpointsPage, offline_text
from shopctrl_desktop.gui.engine_thread import EngineSignals, EngineThread
from shopctrl_desktop.gui.erase_dialog import EraseDialog
from shopctrl_desktop.gui.help import APP_TITLE, app_icon, install_help_menu
from shopctrl_desktop.gui.live import LiveWatcher
from shopctrl_desktop.gui.permissions import identity_text
from shopctrl_desktop.gui.queue.page import QueuePage
from shopctrl_desktop.gui.settings.dialog import SettingsDialog
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.gui.triggers.page import TriggersPage
from shopctrl_desktop.store.queue import queue_counts

log = logging.getLogger(__name__)

PAGE_TRIGGERS, PAGE_QUEUE, PAGE_ALERTS, PAGE_ACTIVITY, PAGE_ENDPOINTS = 0, 1, 2, 3, 4
WINDOW_STATE_FILE = "window.ini"


def window_settings(ctx: AppContext) -> QSettings:
    """Window layout memory, kept in the data folder (not the registry), so a data dir is self-contained."""
    return QSettings(str(ctx.paths.data_dir / WINDOW_STATE_FILE), QSettings.Format.IniFormat)


#: From this window width the status bar shows the listener's address; below it only "Listener ●".
WIDE_STATUS_BAR = 1280


class MainWindow(QMainWindow):
    settings_saved = Signal(object)

    def __init__(
        self, ctx: AppContext, engine: EngineThread | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(app_icon())
        self.ctx = ctx
        self.engine = engine
        self.listener_address = ""
        self._states = {"listener": "stopped", "delivery": "stopped"}
        self.live: LiveWatcher | None = None
        self._unread = 0

        self.triggers_page = TriggersPage(ctx)
        self.queue_page = QueuePage(ctx)
        self.alerts_page = AlertsPage(ctx)
        self.activity_page = ActivityPage(ctx)
        self.endpoints_page = EndpointsPage(ctx)
        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        for title in ("Triggers", "Webhook Queue", "Alerts", "Activity", "Endpoints"):
            QListWidgetItem(title, self.nav)
        self.nav.setStyleSheet("QListWidget { font-size: 11pt; } QListWidget::item { padding: 8px 10px; }")
        self.nav.setFixedWidth(max(150, self.nav.sizeHintForColumn(0) + 24))
        self.pages = QStackedWidget()
        for page in (
            self.triggers_page,
            self.queue_page,
            self.alerts_page,
            self.activity_page,
            self.endpoints_page,
        ):
            self.pages.addWidget(page)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.nav)
        row.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)

        self._build_menus()
        self._build_status_bar()
        self.tray = self._build_tray()

        self.queue_page.items_requeued.connect(self._on_queue_page_items_requeued)
        self.queue_page.message_posted.connect(self._on_page_message_posted)
        self.queue_page.first_start.listener_address = lambda: (
            self.listener_address or ctx.settings.listen_address
        )
        self.queue_page.first_start.add_trigger_requested.connect(self._on_first_start_add_trigger_requested)
        self.alerts_page.item_requested.connect(self.show_queue_item)
        self.alerts_page.unread_changed.connect(self._on_alerts_page_unread_changed)
        self.activity_page.item_requested.connect(self.show_queue_item)
        self.activity_page.trigger_requested.connect(self.show_trigger)
        self.endpoints_page.items_requeued.connect(self._on_queue_page_items_requeued)
        self.endpoints_page.message_posted.connect(self._on_page_message_posted)
        self.endpoints_page.circuit_note_changed.connect(self.show_circuit_note)
        if hasattr(self.triggers_page, "triggers_changed"):
            self.triggers_page.triggers_changed.connect(self.queue_page.reload_choices)

        self._counts_timer = QTimer(self)  # items written by another process (shared database, CLI)
        self._counts_timer.setInterval(5000)
        self._counts_timer.timeout.connect(self._on_counts_timer_timeout)
        self._counts_timer.timeout.connect(self.endpoints_page.note_changes)  # another process's changes
        if engine is not None:
            self.attach_engine(engine.signals)
            engine.engine_started.connect(self._on_engine_started)
            engine.engine_failed.connect(self._on_engine_failed)
        self.restore_layout()
        if self.nav.currentRow() < 0:
            self.nav.setCurrentRow(PAGE_QUEUE)

    # -- construction -----------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.settings_action = QAction("&Settings…", self)
        self.settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
        self.settings_action.triggered.connect(self.open_settings)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(self.settings_action)
        self.erase_action = QAction("&Erase customer data…", self)
        self.erase_action.setStatusTip(
            "A customer's erasure request: preview what holds their data, then erase it"
        )
        self.erase_action.triggered.connect(self.open_erase)
        file_menu.addAction(self.erase_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)

        view_menu = bar.addMenu("&View")
        for row, (title, key) in enumerate(
            (
                ("Triggers", "Ctrl+1"),
                ("Webhook Queue", "Ctrl+2"),
                ("Alerts", "Ctrl+3"),
                ("Activity", "Ctrl+4"),
                ("Endpoints", "Ctrl+5"),
            )
        ):
            action = QAction(title, self)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(lambda _=False, r=row: self.nav.setCurrentRow(r))
            view_menu.addAction(action)

        queue_menu: QMenu = bar.addMenu("&Queue")
        q = self.queue_page
        for action in (q.retry_action, q.cancel_action, q.resend_action, q.curl_action):
            queue_menu.addAction(action)
        queue_menu.addSeparator()
        for action in (q.retry_failed_action, q.export_action, q.refresh_action):
            queue_menu.addAction(action)
        install_help_menu(
            self, self.ctx, listener_address=lambda: self.listener_address or self.ctx.settings.listen_address
        )

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.listener_label = QLabel()
        self.listener_label.setObjectName("listener_status")
        self.engine_label = QLabel()
        self.engine_label.setObjectName("engine_status")
        self.counts_label = QLabel()
        self.counts_label.setObjectName("counts_status")
        self.alerts_label = QLabel()
        self.alerts_label.setObjectName("alerts_status")
        self.circuit_label = QLabel()  # "ERP endpoint failing since 10:42 — 312 waiting": opens the page
        self.circuit_label.setObjectName("circuit_status")
        self.circuit_label.linkActivated.connect(lambda _link: self.nav.setCurrentRow(PAGE_ENDPOINTS))
        self.circuit_label.setVisible(False)
        self._circuit_text = ""  # the note in full, shortened to the room the status bar has
        self._circuit_name = ""
        bar.addWidget(self.circuit_label)
        self.offline_label = (
            QLabel()
        )  # "Offline — deliveries paused since 10:42" (docs/endpoints.md "Offline")
        self.offline_label.setObjectName("offline_status")
        self.offline_label.setVisible(False)
        bar.addWidget(self.offline_label)
        identity = self.ctx.identity  # who is signed in: what the pages let this login change (SPEC §10)
        self.identity_label = QLabel(identity_text(identity))
        self.identity_label.setObjectName("identity_status")
        self.identity_label.setToolTip(
            "Signed in to the database as "
            + identity_text(identity)
            + ". This role may: "
            + ", ".join(sorted(c.value for c in identity.capabilities))
        )
        self._permanent_labels = (
            self.identity_label,
            self.listener_label,
            self.engine_label,
            self.counts_label,
            self.alerts_label,
        )
        for label in self._permanent_labels:
            label.setContentsMargins(6, 0, 6, 0)
            bar.addPermanentWidget(label)
        self._show_states()
        self.show_counts(QueueCounts())
        self._show_unread(0)

    def _build_tray(self) -> QSystemTrayIcon | None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        tray = QSystemTrayIcon(app_icon(), self)
        tray.setToolTip(APP_TITLE)
        menu = QMenu(self)
        menu.addAction("Show window", self._raise_window)
        menu.addAction("Quit", self.close)
        tray.setContextMenu(menu)
        tray.activated.connect(lambda _reason: self._raise_window())
        tray.messageClicked.connect(lambda: (self._raise_window(), self.nav.setCurrentRow(PAGE_ALERTS)))
        tray.show()
        return tray

    def _raise_window(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # -- starting ---------------------------------------------------------------------------------------
    def start(self) -> None:
        """Load the pages' data (each in the background)."""
        if hasattr(self.triggers_page, "reload"):
            self.triggers_page.reload()
        self.queue_page.start()
        self.alerts_page.reload()
        self.endpoints_page.start()
        self.refresh_counts()
        self._counts_timer.start()

    def attach_engine(self, signals: EngineSignals) -> None:
        signals.items_changed.connect(self._on_engine_items_changed)
        signals.alert_raised.connect(self._on_engine_alert_raised)
        signals.counts_changed.connect(self.show_counts)
        signals.state_changed.connect(self._on_engine_state_changed)
        for signal in (signals.items_changed, signals.alert_raised, signals.counts_changed):
            signal.connect(self.endpoints_page.note_changes)  # reloads at most once a second

    def attach_live(self, live: LiveWatcher) -> None:
        """Other workstations' changes through the same slots; what our own engine relays is not repeated."""
        self.live = live
        self.attach_engine(live.signals)
        if self.engine is not None:
            self.engine.signals.items_changed.connect(live.note_relayed)
            self.engine.signals.alert_raised.connect(live.note_relayed_alert)

    # -- engine signals ---------------------------------------------------------------------------------
    def _on_engine_items_changed(self, changes: list[ItemChange]) -> None:
        self.queue_page.on_engine_items_changed(changes)

    def _on_engine_alert_raised(self, alert_id: int, severity: str, title: str) -> None:
        self.alerts_page.reload()
        if self.tray is not None and severity == "error":
            self.tray.showMessage(
                f"{APP_TITLE}: {title}",
                "A delivery failed for good. Open the Alerts page for details.",
                QSystemTrayIcon.MessageIcon.Critical,
                10_000,
            )

    def _on_engine_state_changed(self, component: str, state: str, detail: str) -> None:
        self._states[component] = state
        if component == "listener" and state == "running" and detail:
            self.listener_address = detail
        if state == "error" and detail:
            self.statusBar().showMessage(f"{component.capitalize()} error: {detail}", 15_000)
        if component == "delivery":
            self.show_offline(detail if state == "offline" else None)
        self._show_states()

    def show_offline(self, since_iso: str | None) -> None:
        """The engine reports this workstation offline since ``since_iso`` (UTC, ISO 8601); None: online."""
        label = self.offline_label
        self.endpoints_page.set_offline(since_iso)
        if since_iso is None:
            label.setVisible(False)
            return
        label.setText("⚠ " + offline_text(since_iso))
        label.setStyleSheet("color: #a61b1b; font-weight: bold;")
        label.setToolTip(
            "This workstation has no network. Items wait without spending attempts and are sent as soon as "
            "the network is back."
        )
        label.setVisible(True)

    def _on_engine_started(self, address: str) -> None:
        if address:
            self.listener_address = address
        self._show_states()

    def _on_engine_failed(self, message: str) -> None:
        self._states["delivery"] = "error" if self._states["delivery"] != "running" else "running"
        self._states["listener"] = "error"
        self.engine_error = message
        self._show_states()
        self.statusBar().showMessage(f"The engine could not start: {message}", 60_000)
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Events cannot be received",
            f"The listener and delivery did not start:\n\n{message}\n\nTriggers and the queue can still be "
            "viewed and edited. Change the listener address in File → Settings… and restart the application.",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("engine_failed_box")
        box.open()  # window-modal, does not block the event loop
        self.engine_failed_box = box

    def _show_states(self) -> None:
        if not self.ctx.settings.deliver_here:  # a support workstation: another one receives and delivers
            self.listener_label.setText("Listener: off on this workstation")
            self.listener_label.setStyleSheet(style("color: #555;"))
            self.engine_label.setText("Delivery: another workstation")
            self.engine_label.setToolTip(
                "“Deliver from this workstation” is off (File → Settings…): the queue shows what the "
                "delivering workstation does."
            )
            self.engine_label.setStyleSheet(style("color: #555;"))
            return
        listener = self._states["listener"]
        address = self.listener_address or self.ctx.settings.listen_address
        # a narrow window keeps the room for the notes (the circuit note); the address is in the tooltip
        wide = self.width() >= WIDE_STATUS_BAR
        if listener == "running":
            self.listener_label.setText(f"Listener: http://{address} ●" if wide else "Listener ●")
            self.listener_label.setToolTip(f"Receiving events at http://{address}/events")
            self.listener_label.setStyleSheet(style("color: #1d6b32;"))
        else:
            self.listener_label.setText(
                f"Listener {address}: {listener}" if wide else f"Listener: {listener}"
            )
            self.listener_label.setToolTip(f"The listener for http://{address}/events: {listener}")
            self.listener_label.setStyleSheet(
                style("color: #a61b1b;" if listener == "error" else "color: #555;")
            )
        delivery = self._states["delivery"]
        self.engine_label.setText(f"Delivery: {delivery}")
        self.engine_label.setStyleSheet(style("color: #a61b1b;" if delivery == "error" else ""))

    def show_counts(self, counts: QueueCounts) -> None:
        self.counts = counts
        self.counts_label.setText(
            f"Queued {counts.queued + counts.sending:,} · Retrying {counts.retrying:,} · Failed {counts.failed:,}"
        )
        self.counts_label.setStyleSheet(style("color: #a61b1b;" if counts.failed else ""))

    def show_circuit_note(self, note: object) -> None:
        """store/endpoint_stats.py CircuitNote while a circuit is open (None hides the note)."""
        label = self.circuit_label
        if note is None or not hasattr(note, "text"):
            label.setVisible(False)
            return
        self._circuit_text = note.text()
        self._circuit_name = str(getattr(note, "name", ""))
        self._fit_circuit_note()
        label.setToolTip(
            f"{note.text()}\nDeliveries to this endpoint are paused by its circuit breaker. "
            "Click for the Endpoints page."
        )
        label.setVisible(True)

    def _fit_circuit_note(self) -> None:
        """The circuit note in the room the status bar has, saying what it is: "⚠ Circuit open: …/crm/customers
        failing since 10:42 — 3 waiting". When short of room the endpoint loses its host first (the path's end
        names the service), then the line its end (the tooltip has it all)."""
        label = self.circuit_label
        text = self._circuit_text
        if not text:
            return
        bold = QFont(label.font())
        bold.setBold(True)
        metrics = QFontMetrics(bold)
        bar = self.statusBar()
        others = sum(w.sizeHint().width() + 12 for w in self._permanent_labels if w.isVisible())
        room = max(120, bar.width() - others - 40)
        line = circuit_note_line(text, self._circuit_name, room, metrics.horizontalAdvance)
        label.setText(
            style(
                f'<a href="endpoints" style="color: #a61b1b; font-weight: bold; text-decoration: none;">'
                f"{html.escape(line)}</a>"
            )
        )

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if (event.oldSize().width() >= WIDE_STATUS_BAR) != (event.size().width() >= WIDE_STATUS_BAR):
            self._show_states()  # the listener's address shown in full, or only in its tooltip
        if self.circuit_label.isVisible():
            self._fit_circuit_note()

    def refresh_counts(self) -> None:
        db = self.ctx.db

        def load() -> QueueCounts:
            with db.sessions() as s:
                return queue_counts(s)

        run_in_background(load, self.show_counts, owner=self)

    def _on_counts_timer_timeout(self) -> None:
        if self.live is not None:
            return  # the live watcher reports counts and new items as they change
        if self.engine is None or not self.engine.isRunning():
            self.refresh_counts()
        self.queue_page.model.note_new_items()

    def _on_alerts_page_unread_changed(self, unread: int) -> None:
        self._show_unread(unread)

    def _show_unread(self, unread: int) -> None:
        self._unread = unread
        self.alerts_label.setText(f"Alerts: {unread} unread" if unread else "No unread alerts")
        self.alerts_label.setStyleSheet(style("color: #a61b1b; font-weight: bold;" if unread else ""))
        item = self.nav.item(PAGE_ALERTS)
        item.setText(f"Alerts ({unread})" if unread else "Alerts")

    # -- actions ----------------------------------------------------------------------------------------
    def _on_queue_page_items_requeued(self) -> None:
        if self.engine is not None:
            self.engine.wake()
        self.refresh_counts()

    def _on_first_start_add_trigger_requested(self) -> None:
        self.nav.setCurrentRow(PAGE_TRIGGERS)
        self.triggers_page.add_action.trigger()

    def _on_page_message_posted(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def show_queue_item(self, item_id: int) -> None:
        self.nav.setCurrentRow(PAGE_QUEUE)
        self.queue_page.show_item(item_id)

    def show_trigger(self, trigger_id: int) -> None:
        """Switch to the Triggers page, select the trigger and open its editor (once this event returns)."""
        self.nav.setCurrentRow(PAGE_TRIGGERS)
        self.triggers_page.reload(select_id=trigger_id)
        trigger = self.triggers_page.selected_trigger()
        if trigger is None or trigger.id != trigger_id:
            self.statusBar().showMessage(f"Trigger #{trigger_id} no longer exists.", 8000)
            return
        if self.triggers_page.secrets_problem:  # no editor: saving would lose the secrets it cannot read
            self.statusBar().showMessage(self.triggers_page.secrets_problem, 15_000)
            return
        QTimer.singleShot(0, lambda: self.triggers_page.open_editor(trigger))

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.ctx, self)
        dialog.settings_saved.connect(self._on_settings_dialog_settings_saved)
        dialog.setModal(True)
        dialog.show()
        self.settings_dialog = dialog
        return dialog

    def open_erase(self) -> EraseDialog:
        dialog = EraseDialog(self.ctx, self)
        dialog.erased.connect(self._on_erase_dialog_erased)
        dialog.setModal(True)
        dialog.show()
        self.erase_dialog = dialog
        return dialog

    def _on_erase_dialog_erased(self, _result: object) -> None:
        self.refresh_counts()
        self.queue_page.refresh_action.trigger()

    def _on_settings_dialog_settings_saved(self, settings: object) -> None:
        from shopctrl_desktop.config import Settings
        from shopctrl_desktop.gui.theme import apply_appearance

        if isinstance(settings, Settings):
            apply_appearance(settings.appearance)  # at once, unlike the listener and database
        self.statusBar().showMessage(
            "Settings saved. Listener, database, delivery and retention changes apply after a restart.",
            15_000,
        )
        self.settings_saved.emit(settings)

    # -- layout memory ----------------------------------------------------------------------------------
    def save_layout(self) -> None:
        store = window_settings(self.ctx)
        store.setValue("window/geometry", self.saveGeometry())
        store.setValue("window/state", self.saveState())
        store.setValue("window/page", self.nav.currentRow())
        self.queue_page.save_state(store)
        self.alerts_page.save_state(store)
        self.activity_page.save_state(store)
        store.sync()

    def restore_layout(self) -> None:
        store = window_settings(self.ctx)
        geometry = store.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1360, 820)
        state = store.value("window/state")
        if state is not None:
            self.restoreState(state)
        self.queue_page.restore_state(store)
        self.alerts_page.restore_state(store)
        self.activity_page.restore_state(store)
        page = store.value("window/page")
        if page is not None:
            try:
                self.nav.setCurrentRow(min(max(int(page), 0), PAGE_ENDPOINTS))  # type: ignore[call-overload]
            except (TypeError, ValueError):
                pass

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self._counts_timer.stop()
        if self.tray is not None:
            self.tray.hide()
        super().closeEvent(event)
