"""The demo, headless, end to end: within seconds items are delivered, one endpoint keeps failing
(retrying, then failed) and alerts appear — through the real listener, dispatcher and delivery engine."""

from __future__ import annotations

import asyncio

import pytest

from shopctrl_desktop.demo.main import DemoOptions, demo_paths, headless_demo
from shopctrl_desktop.domain.queue import ItemChange
from shopctrl_desktop.domain.retry import RetryPolicy
from shopctrl_desktop.engine.progress import NullObserver
from shopctrl_desktop.store.alerts import list_alerts
from shopctrl_desktop.store.queue import queue_counts

FAST = DemoOptions(
    interval=0.05,
    retry=RetryPolicy(kind="custom", delays=(0.8,), max_retries=2),
    receiver_delay=(0.01, 0.05),
    receiver_slow=(0.05, 0.1),
    seed=7,
)


class Watcher(NullObserver):
    """Collects what the engine reports and wakes the test when everything it waits for was seen."""

    def __init__(self) -> None:
        self.statuses: set[str] = set()
        self.alerts: list[str] = []
        self.changed = asyncio.Event()

    def items_changed(self, changes: list[ItemChange]) -> None:
        self.statuses.update(c.status for c in changes)
        self.changed.set()

    def alert_raised(self, alert_id: int, severity: str, title: str) -> None:
        self.alerts.append(title)
        self.changed.set()

    async def wait_for(self, condition, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


@pytest.mark.timeout(60)
async def test_headless_demo_delivers_retries_and_alerts(tmp_path):
    watcher = Watcher()
    paths = demo_paths(tmp_path)

    def alive() -> bool:
        return {"delivered", "retrying"} <= watcher.statuses and bool(watcher.alerts)

    async with headless_demo(paths, FAST, observer=watcher) as demo:
        await watcher.wait_for(alive, timeout=40)
        assert demo.stream is not None and demo.stream.stats.accepted > 0
        assert demo.receiver is not None and demo.receiver.stats.bad_signatures == 0
        with demo.db.session() as session:
            counts = queue_counts(session)
            alerts = list_alerts(session)
    assert counts.delivered >= 1
    assert alerts
    assert paths.database_file.is_file() and paths.database_file.is_relative_to(tmp_path)


@pytest.mark.timeout(60)
async def test_demo_log_file_holds_no_secret_even_at_debug_level(tmp_path):
    """The demo triggers carry HMAC secrets and a basic-auth password; none may reach the log file."""
    import logging

    from shopctrl_desktop.demo.triggers import load_demo_triggers
    from shopctrl_desktop.engine.token import read_token
    from shopctrl_desktop.logging_setup import setup_logging

    paths = demo_paths(tmp_path)
    root = logging.getLogger()
    before = list(root.handlers), root.level
    log_file = setup_logging(paths, verbose=True, stderr=False)
    watcher = Watcher()
    try:
        async with headless_demo(paths, FAST, observer=watcher):
            await watcher.wait_for(lambda: {"delivered", "retrying"} <= watcher.statuses, timeout=40)
    finally:
        for handler in list(root.handlers):
            if handler not in before[0]:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(before[1])
    secrets = {a.hmac_secret for t in load_demo_triggers("http://x") for a in t.actions if a.hmac_secret}
    secrets |= {a.password for t in load_demo_triggers("http://x") for a in t.actions if a.password}
    secrets.add(read_token(paths) or "no token?")
    text = log_file.read_text("utf-8")
    assert "listening for events" in text  # the log is really written, at debug level
    assert len(secrets) >= 3
    for secret in secrets:
        assert secret not in text, f"a secret reached {log_file.name}"
