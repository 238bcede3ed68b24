#!/usr/bin/env python3
"""Grab every page and the main dialogs of ShopCtrl Desktop, offscreen, for docs/screenshots/.

    python3 scripts/screenshots.py [OUT_DIR] [--seconds 25] [--sizes 1024x768,1920x1080] [--themes light,dark]

A throwaway data folder gets the demo's data: the headless demo (receiver, triggers, engine, event stream —
demo/main.py) runs for ``--seconds``, so the queue has real deliveries, retries, failures, 410 alerts and
an audit trail; the endpoints get 24 hours of per-minute history so their chart is not empty. Then the
window opens on that database (no engine: nothing changes while the pictures are taken) and each page is
grabbed at each window size in each appearance, named ``<page>-<width>-<theme>.png`` (``queue-1024-light.png``);
dialogs are grabbed as ``<dialog>-<width>-<theme>.png`` at a size that fits that screen. Secrets stay masked
(the token and the HMAC secrets are password fields; the demo's secrets are demo values anyway). Last, the
recovery dialog ("Retry everything that failed since the outage began…" with its count) as recovery-dialog.png.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QSize  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialog, QWidget  # noqa: E402

PAGES = ("triggers", "queue", "alerts", "activity", "endpoints")  # in the navigation's order


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument(
        "out", nargs="?", default=str(Path(__file__).resolve().parents[1] / "docs" / "screenshots")
    )
    parser.add_argument("--seconds", type=float, default=25.0, help="how long the demo runs first")
    parser.add_argument("--sizes", default="1024x768,1920x1080")
    parser.add_argument("--themes", default="light,dark")
    return parser.parse_args(argv)


# -- the data ---------------------------------------------------------------------------------------------
def run_demo(paths, seconds: float) -> None:  # type: ignore[no-untyped-def]
    from shopctrl_desktop.demo.main import DemoOptions, headless_demo

    async def main() -> None:
        async with headless_demo(paths, DemoOptions(interval=0.2, seed=7)):
            await asyncio.sleep(seconds)

    asyncio.run(main())


def add_history(db, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """24 hours of per-minute deliveries for each endpoint the demo used, busy by day, quiet at night."""
    from sqlalchemy import select

    from shopctrl_desktop.domain.outcome import AttemptResult
    from shopctrl_desktop.store.endpoint_stats import add_attempts
    from shopctrl_desktop.store.models import QueueItemRow, utcnow

    with db.sessions() as s:
        urls = list(s.scalars(select(QueueItemRow.url).distinct()))
    now = utcnow()
    for n, url in enumerate(sorted(urls)):
        fail_share = 0.4 if "/fail" in url or "/gone" in url else (0.08 if "/flaky" in url else 0.004)
        outcomes = []
        for minute in range(24 * 60, 2, -1):
            t = now - timedelta(minutes=minute)
            hour = t.astimezone().hour + t.astimezone().minute / 60
            mean = (1 + 6 * math.exp(-((hour - 11) ** 2) / 8) + 8 * math.exp(-((hour - 20) ** 2) / 6)) / (
                1 + n
            )
            for _ in range(max(0, round(rng.gauss(mean, math.sqrt(mean))))):
                failed = rng.random() < fail_share
                ms = rng.lognormvariate(math.log(900 if "/slow" in url else 160), 0.4)
                outcomes.append((SimpleNamespace(url=url), AttemptResult(t, ms, 503 if failed else 200)))
        with db.session() as s:
            add_attempts(s.connection(), outcomes)


# -- grabbing ---------------------------------------------------------------------------------------------
def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait_until(app: QApplication, condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return False


class Grabber:
    def __init__(self, app: QApplication, out: Path) -> None:
        self.app, self.out, self.written = app, out, []  # type: list[Path]

    def save(self, widget: QWidget, name: str) -> None:
        pump(self.app, 0.4)
        picture = widget.grab()
        path = self.out / f"{name}.png"
        if picture.isNull() or not picture.save(str(path)):
            raise SystemExit(f"could not write {path}")
        self.written.append(path)


def dialog_size(dialog: QDialog, screen: QSize) -> QSize:
    """The dialog's natural size, but never more than fits the screen (a window frame and a taskbar off)."""
    hint = dialog.sizeHint().expandedTo(dialog.size())
    return QSize(min(hint.width(), screen.width() - 40), min(hint.height(), screen.height() - 80))


def grab_pages(grab: Grabber, window, size: QSize, theme: str) -> None:  # type: ignore[no-untyped-def]
    from shopctrl_desktop.gui.main_window import PAGE_ACTIVITY, PAGE_ALERTS, PAGE_ENDPOINTS, PAGE_QUEUE

    app = grab.app
    window.resize(size)
    suffix = f"{size.width()}-{theme}"
    for row, name in enumerate(PAGES):
        window.nav.setCurrentRow(row)
        pump(app, 0.6)
        if row == PAGE_QUEUE:
            select_failed_item(app, window.queue_page)
        elif row in (PAGE_ALERTS, PAGE_ACTIVITY, PAGE_ENDPOINTS):
            page = {PAGE_ALERTS: window.alerts_page, PAGE_ACTIVITY: window.activity_page}.get(row)
            page = page or window.endpoints_page
            wait_until(app, lambda p=page: p.model.rowCount() > 0, 5)
            if page.table.selectionModel() is not None and not page.table.selectionModel().hasSelection():
                page.table.selectRow(0)
        grab.save(window, f"{name}-{suffix}")
    window.nav.setCurrentRow(PAGE_QUEUE)
    pump(app, 0.4)
    grab.save(window.queue_page.detail_pane, f"queue-detail-{suffix}")


def select_failed_item(app: QApplication, page) -> None:  # type: ignore[no-untyped-def]
    """A failed item with a few attempts: the detail pane shows the outcome line and the attempts table."""
    model = page.model
    wait_until(app, lambda: model.is_complete, 10)
    for row in range(min(model.rowCount(), 300)):
        if wait_until(app, lambda r=row: model.index(r, 3).data() not in (None, "…"), 2) and (
            model.index(row, 3).data() == "Failed"
        ):
            page.select_row(row)
            wait_until(app, lambda: page.detail_pane.detail is not None, 5)
            page.detail_pane.tabs.setCurrentIndex(1)  # the attempts
            return
    if model.rowCount():
        page.select_row(0)


def grab_dialogs(grab: Grabber, window, ctx, screen: QSize, theme: str) -> None:  # type: ignore[no-untyped-def]
    from shopctrl_desktop.gui.first_run import DatabaseChoiceDialog
    from shopctrl_desktop.gui.triggers.editor import TriggerEditorDialog
    from shopctrl_desktop.gui.triggers.shops_dialog import ShopsDialog
    from shopctrl_desktop.gui.webhook.editor import TAB_TITLES, WebhookEditorDialog
    from shopctrl_desktop.paths import resolve_paths
    from shopctrl_desktop.store.triggers import list_triggers

    app = grab.app
    suffix = f"{screen.width()}-{theme}"
    with ctx.db.session() as s:
        triggers = list_triggers(s, ctx.box)
    trigger = next((t for t in triggers if t.actions and t.actions[0].hmac_secret), triggers[0])

    def show(dialog: QDialog, name: str, natural: QSize | None = None) -> None:
        if natural is not None:
            dialog.resize(natural)
        dialog.show()
        pump(app, 0.3)
        dialog.resize(dialog_size(dialog, screen))
        grab.save(dialog, f"{name}-{suffix}")

    big = screen.width() >= 1600
    editor = TriggerEditorDialog(ctx, trigger, window)
    show(editor, "trigger-editor", QSize(900, 600) if big else None)
    editor.reject()

    action = trigger.actions[0]
    if not action.headers:  # the Headers tab with a header or two, as most receivers ask for one
        action = replace(action, headers={"X-Shop": "webshop-nl", "X-Api-Version": "2"})
    webhook = WebhookEditorDialog(ctx, action, trigger, window)
    webhook.resize(QSize(900, 720) if big else webhook.size())
    webhook.show()
    pump(app, 1.0)  # the sample event for the merge fields
    for index, title in enumerate(TAB_TITLES):
        webhook.tabs.setCurrentIndex(index)
        show(webhook, f"webhook-{title.lower()}")
    webhook.reject()

    settings = window.open_settings()
    show(settings, "settings")
    settings.reject()

    shops = ShopsDialog(ctx, window)
    show(shops, "shops")
    shops.reject()

    # as a new user sees it: their own data folder, not this script's throwaway one (nothing is written)
    first_run = DatabaseChoiceDialog(resolve_paths("/home/anna/.local/share/shopctrl-desktop"))
    first_run.adjustSize()
    show(first_run, "first-run")
    first_run.reject()


def grab_first_start(grab: Grabber, size: QSize, theme: str) -> None:
    """An empty data folder: the queue page's first-start panel instead of an empty table."""
    from shopctrl_desktop.app_context import AppContext
    from shopctrl_desktop.config import Settings
    from shopctrl_desktop.gui.main_window import MainWindow
    from shopctrl_desktop.paths import resolve_paths
    from shopctrl_desktop.store.db import Database
    from shopctrl_desktop.store.secrets import load_secret_box

    paths = resolve_paths(tempfile.mkdtemp(prefix="shopctrl-shots-empty-")).ensure()
    db = Database(f"sqlite:///{paths.database_file}")
    ctx = AppContext(
        paths=paths, settings=Settings(), db=db, box=load_secret_box(paths.data_dir, use_keyring=False)
    )
    window = MainWindow(ctx)
    window.resize(size)
    window.show()
    window.start()
    wait_until(grab.app, lambda: window.queue_page.first_start.isVisible(), 10)
    grab.save(window, f"first-start-{size.width()}-{theme}")
    window.close()
    db.dispose()


def grab_recovery(grab: Grabber, window, ctx) -> None:  # type: ignore[no-untyped-def]
    """The Endpoints page's "Retry everything that failed since the outage began…" with its count, before
    confirming (recovery-dialog.png), for an endpoint whose circuit is open. The demo's short run rarely lets
    an item spend all its retries, so — for this picture only, after every other one was taken — a few of
    that endpoint's waiting items are marked failed now, as they would be after their last retry."""
    from sqlalchemy import select, update

    from shopctrl_desktop.domain.breaker import endpoint_key
    from shopctrl_desktop.gui.main_window import PAGE_ENDPOINTS
    from shopctrl_desktop.gui.theme import apply_appearance
    from shopctrl_desktop.store.models import QueueItemRow, utcnow

    app, page = grab.app, window.endpoints_page
    apply_appearance("light")
    window.resize(QSize(1024, 768))
    window.nav.setCurrentRow(PAGE_ENDPOINTS)
    wait_until(app, lambda: page.model.rowCount() > 0, 10)
    rows = [page.model.row_at(r) for r in range(page.model.rowCount())]
    outage = next((e for e in rows if e.summary.state in ("circuit open", "probing")), None)
    if outage is None:
        print("no endpoint with an open circuit: recovery-dialog.png not taken", flush=True)
        return
    with ctx.db.session() as s:
        waiting = s.execute(
            select(QueueItemRow.id, QueueItemRow.url).where(QueueItemRow.status.in_(("queued", "retrying")))
        ).all()
        ids = [i for i, url in waiting if endpoint_key(url) == outage.key][:7]
        s.execute(
            update(QueueItemRow)
            .where(QueueItemRow.id.in_(ids))
            .values(status="failed", finished_at=utcnow(), next_attempt_at=None)
        )
    page.reload()
    wait_until(app, lambda: page.select_endpoint(outage.key), 10)
    pump(app, 0.5)
    page.retry_box = None
    page.retry_since_outage()
    wait_until(app, lambda: page.retry_box is not None and page.retry_box.isVisible(), 10)
    box = page.retry_box
    if box is None:
        print("the recovery dialog did not open: recovery-dialog.png not taken", flush=True)
        return
    print("recovery dialog:", box.text().replace("\n", " "), flush=True)
    grab.save(box, "recovery-dialog")
    box.done(0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = [QSize(*(int(v) for v in s.split("x"))) for s in args.sizes.split(",")]
    themes = [t.strip() for t in args.themes.split(",")]

    from shopctrl_desktop.paths import resolve_paths

    paths = resolve_paths(tempfile.mkdtemp(prefix="shopctrl-shots-")).ensure()
    print(f"demo data in {paths.data_dir} ({args.seconds:g} s of the headless demo)…", flush=True)
    run_demo(paths, args.seconds)

    app = QApplication([sys.argv[0]])
    from shopctrl_desktop.app_context import AppContext
    from shopctrl_desktop.config import load_settings, save_settings
    from shopctrl_desktop.gui.background import wait_for_background
    from shopctrl_desktop.gui.main_window import MainWindow
    from shopctrl_desktop.gui.theme import apply_appearance
    from shopctrl_desktop.store.db import Database
    from shopctrl_desktop.store.secrets import load_secret_box

    db = Database(f"sqlite:///{paths.database_file}")
    add_history(db, random.Random(7))
    settings = replace(load_settings(paths, environ={}), listen_port=8765)  # the default, not the demo's port
    save_settings(paths, settings)
    ctx = AppContext(
        paths=paths, settings=settings, db=db, box=load_secret_box(paths.data_dir, use_keyring=False)
    )
    grab = Grabber(app, out)
    window = MainWindow(ctx)
    window.show()
    window.start()
    window.listener_address = "127.0.0.1:8765"  # the default address, not the demo's random port
    window._states = {"listener": "running", "delivery": "running"}  # noqa: SLF001 - as a running engine shows
    window._show_states()  # noqa: SLF001
    wait_until(app, lambda: window.queue_page.model.is_complete, 10)
    for theme in themes:
        apply_appearance(theme)
        pump(app, 0.5)
        for size in sizes:
            grab_pages(grab, window, size, theme)
            grab_dialogs(grab, window, ctx, size, theme)
            grab_first_start(grab, size, theme)
    grab_recovery(grab, window, ctx)  # last: it marks a few items failed for its picture
    window.close()
    wait_for_background(30_000)
    db.dispose()
    for path in grab.written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
