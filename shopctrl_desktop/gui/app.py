"""The desktop application: QApplication on a qasync loop, the engine thread and the main window.

``shopctrl-desktop`` without a subcommand calls :func:`main` with the parsed global options
(``data_dir``, ``database_url``, ``listen``) as a namespace or as keyword arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import Any

from shopctrl_desktop.config import ConfigError, Settings, database_url_for, load_settings
from shopctrl_desktop.gui.theme import style
from shopctrl_desktop.paths import AppPaths, resolve_paths
from shopctrl_desktop.runtime import settle_heap, tune_process
from shopctrl_desktop.store.db import Database, DatabaseError
from shopctrl_desktop.store.secrets import SecretKeyError, load_secret_box

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The application cannot start; the message is for a person (shown in a dialog)."""


def resolve_startup(
    data_dir: str | None = None,
    database_url: str | None = None,
    listen: str | None = None,
    *,
    paths: AppPaths | None = None,
    settings: Settings | None = None,
) -> tuple[AppPaths, Settings]:
    """The data folder (created) and the settings; StartupError with plain words on failure."""
    try:
        paths = (paths or resolve_paths(data_dir)).ensure()
    except OSError as exc:
        raise StartupError(f"The data folder cannot be created: {exc}") from exc
    try:
        settings = settings or load_settings(paths, database_url=database_url, listen=listen)
    except ConfigError as exc:
        raise StartupError(f"The settings cannot be used: {exc}") from exc
    return paths, settings


def build_context(
    data_dir: str | None = None,
    database_url: str | None = None,
    listen: str | None = None,
    *,
    paths: AppPaths | None = None,
    settings: Settings | None = None,
    database_password: str | None = None,
) -> Any:
    """Paths, settings, database (migrated) and secret box; StartupError with plain words on failure.

    ``paths`` / ``settings`` already resolved by the CLI are used as they are. A shared database's password:
    ``database_password`` (typed at sign-in), else SHOPCTRL_DATABASE_PASSWORD or the OS keyring."""
    from shopctrl_desktop.app_context import AppContext
    from shopctrl_desktop.store.shared_login import with_password, with_stored_password

    paths, settings = resolve_startup(data_dir, database_url, listen, paths=paths, settings=settings)
    url = database_url_for(paths, settings)
    url = with_password(url, database_password) if database_password else with_stored_password(url)
    try:
        db = Database(url)
    except DatabaseError as exc:
        raise StartupError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - driver missing, permissions, disk full …
        raise StartupError(f"The database cannot be opened: {exc}") from exc
    try:
        box = load_secret_box(paths.data_dir)
    except (SecretKeyError, OSError) as exc:
        db.dispose()
        raise StartupError(f"The secret key cannot be loaded: {exc}") from exc
    return AppContext(paths=paths, settings=settings, db=db, box=box)


def build_context_signing_in(paths: AppPaths, settings: Settings, password: str | None) -> Any:
    """``build_context``; when a shared database refuses the password at hand (a stale keyring entry, a
    changed password), the sign-in dialog asks once more. SignInCancelled when the person quits there."""
    from shopctrl_desktop.gui.first_run import sign_in_after_refusal

    try:
        return build_context(paths=paths, settings=settings, database_password=password)
    except StartupError as exc:
        typed = sign_in_after_refusal(settings, str(exc))
        if typed is None:
            raise
        return build_context(paths=paths, settings=settings, database_password=typed)


def _options(argv: Sequence[str] | None, options: object | None, overrides: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"data_dir": None, "database_url": None, "listen": None}
    if options is not None:
        for key in values:
            values[key] = getattr(options, key, None)
    elif argv:
        parser = argparse.ArgumentParser(prog="shopctrl-desktop", add_help=False)
        parser.add_argument("--data-dir", dest="data_dir")
        parser.add_argument("--database-url", dest="database_url")
        parser.add_argument("--listen", dest="listen")
        known, _rest = parser.parse_known_args(list(argv))
        values.update(vars(known))
    values.update({k: v for k, v in overrides.items() if k in values and v is not None})
    return values


def main(
    argv: Sequence[str] | None = None,
    options: object | None = None,
    *,
    ctx: Any = None,
    paths: AppPaths | None = None,
    settings: Settings | None = None,
    **kwargs: Any,
) -> int:
    """Run the desktop application until the window closes; returns the exit code.

    The global options come as a namespace (``options.data_dir/database_url/listen``), as keyword
    arguments, as ``paths`` + ``settings`` resolved by the CLI, or as a ready ``AppContext`` (``ctx``).
    Without ``ctx`` the database is opened here, so a failure is shown in a dialog, not a traceback.
    """
    from PySide6.QtWidgets import QApplication, QMessageBox
    from qasync import QEventLoop

    from shopctrl_desktop.gui.first_run import SignInCancelled
    from shopctrl_desktop.gui.help import APP_TITLE, app_icon

    given_ctx = ctx  # an AppContext already built (the demo)
    values = _options(argv if argv is not None else sys.argv[1:], options, kwargs)
    tune_process()  # before the engine thread and the GUI's garbage collector start (runtime.py)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "shopctrl-desktop"])
    assert isinstance(app, QApplication)
    app.setApplicationName("ShopCtrl Desktop")
    app.setOrganizationName("ShopCtrl")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(True)
    from shopctrl_desktop.gui.quit_signals import quit_on_signals

    quit_on_signals(app)  # SIGINT/SIGTERM close the windows and stop the engine cleanly

    try:
        ctx = given_ctx
        if ctx is None:
            paths, settings = resolve_startup(
                values["data_dir"], values["database_url"], values["listen"], paths=paths, settings=settings
            )
            from shopctrl_desktop.gui.first_run import prepare_database
            from shopctrl_desktop.gui.theme import apply_appearance

            apply_appearance(settings.appearance)  # the first-run and sign-in dialogs in the chosen look

            # the first-run choice (no settings.json, no database yet) and the shared database's sign-in
            prepared = prepare_database(paths, settings)
            if prepared is None:  # the person chose Quit: nothing written
                return 0
            settings, password = prepared
            ctx = build_context_signing_in(paths, settings, password)
    except SignInCancelled:
        return 0
    except StartupError as exc:
        log.error("cannot start: %s", exc)
        from shopctrl_desktop.gui.restore_offer import Offer, offer_latest_backup

        # a damaged database file with an automatic backup: the dialog offers it (gui/restore_offer.py)
        offer = offer_latest_backup(paths, settings, str(exc)) if paths and settings else Offer.NONE
        if offer is Offer.NONE:
            QMessageBox.critical(None, f"{APP_TITLE} cannot start", str(exc))
        if offer is not Offer.RESTORED:
            return 2
        try:
            ctx = build_context(paths=paths, settings=settings)
        except StartupError as again:
            QMessageBox.critical(None, f"{APP_TITLE} cannot start", str(again))
            return 2
    try:
        from shopctrl_desktop.logging_setup import setup_logging

        setup_logging(ctx.paths, stderr=True)
    except Exception:  # noqa: BLE001 - logging trouble must not stop the app
        log.warning("log file unavailable", exc_info=True)

    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    from shopctrl_desktop.gui.restore_offer import hold_database

    in_use = hold_database(ctx.db.url)  # `restore` is refused while the window has the database open
    try:
        return run_application(app, loop, ctx)
    finally:
        ctx.db.dispose()
        if in_use is not None:
            in_use.release()


def build_window(ctx: Any, *, listen: bool = True, deliver: bool = True) -> tuple[Any, Any, Any]:
    """The main window, its engine (None when "Deliver from this workstation" is off) and its live watcher
    (what other workstations' engines do), wired; nothing started yet."""
    from shopctrl_desktop.gui.engine_thread import EngineThread
    from shopctrl_desktop.gui.live import LiveWatcher
    from shopctrl_desktop.gui.main_window import MainWindow

    engine = EngineThread(ctx, listen=listen, deliver=deliver) if ctx.settings.deliver_here else None
    window = MainWindow(ctx, engine)
    live = LiveWatcher(ctx)
    window.attach_live(live)
    return window, engine, live


def run_application(app: Any, loop: Any, ctx: Any, *, listen: bool = True, deliver: bool = True) -> int:
    from shopctrl_desktop.gui.background import wait_for_background
    from shopctrl_desktop.gui.garbage import GuiThreadGarbageCollector
    from shopctrl_desktop.gui.theme import apply_appearance

    apply_appearance(ctx.settings.appearance)  # System, Light or Dark (Settings)
    window, engine, live = build_window(ctx, listen=listen, deliver=deliver)
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    window.show()
    show_key_warning(window, ctx)
    from shopctrl_desktop.logging_setup import log_ready

    # logs "main window shown; ready" once the loop runs; the bundle smoke test waits for that line
    loop.call_soon(log_ready, str(ctx.paths.data_dir))
    window.start()
    settle_heap()  # runtime.py
    collector = GuiThreadGarbageCollector(window)  # cycles are collected on this thread only
    live.start()
    if engine is not None:
        from shopctrl_desktop.gui.network_watch import NetworkWatch

        window.network_watch = NetworkWatch(engine, window)  # the system's reachability: pause while offline
        engine.start()
    try:
        with loop:
            loop.run_until_complete(closed.wait())
    finally:
        live.stop()
        if engine is not None and not engine.stop(60_000):
            log.error("the engine did not stop within 60 s")
        wait_for_background(30_000)
        collector.stop()
    return 0


def show_key_warning(window: Any, ctx: Any) -> str | None:
    """When this workstation's key is not the one the database's secrets need: a red, permanent note in
    the main window's status bar (the whole message with the fix as its tooltip and as the status message)
    and a log warning. Returns the message, None when the key is right."""
    from PySide6.QtWidgets import QLabel

    from shopctrl_desktop.store.keys import check_database_key

    try:
        check = check_database_key(ctx.db, ctx.box)
        message = check.message
    except Exception:  # noqa: BLE001 - database trouble is shown by the engine and the pages
        log.warning("cannot compare this workstation's key with the database's", exc_info=True)
        return None
    if message is None:
        return None
    log.warning("secret key: %s", message)
    text = message[:1].upper() + message[1:]
    if check.sealed:  # an admin workstation without the engine key: secrets can be replaced, not read
        label = QLabel(
            "No engine key: secrets can be replaced here, not read; they fail if this one delivers", window
        )
        label.setStyleSheet(style("color: #8a5a00; font-weight: bold;"))
    else:
        label = QLabel("Wrong secret key: webhooks with secrets fail on this workstation", window)
        label.setStyleSheet(style("color: #b00020; font-weight: bold;"))
    label.setObjectName("key_warning")
    label.setToolTip(text)
    window.statusBar().insertPermanentWidget(0, label)
    window.statusBar().showMessage(text)
    return text


if __name__ == "__main__":
    sys.exit(main())
