"""GUI mode of the demo: the receiver and event stream run beside the GUI's engine thread and feed it."""

from __future__ import annotations

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.demo.main import DemoOptions, background_demo, demo_paths
from shopctrl_desktop.domain.retry import RetryPolicy
from shopctrl_desktop.gui.engine_thread import EngineThread

FAST = DemoOptions(
    interval=0.05,
    retry=RetryPolicy(kind="custom", delays=(1.0,), max_retries=1),
    receiver_delay=(0.01, 0.05),
    receiver_slow=(0.05, 0.1),
    seed=3,
)


def test_demo_stream_feeds_the_gui_engine(qtbot, tmp_path):
    paths = demo_paths(tmp_path)
    with background_demo(paths, FAST) as session:
        assert session.settings is not None and session.db is not None and session.box is not None
        ctx = AppContext(paths=paths, settings=session.settings, db=session.db, box=session.box)
        engine = EngineThread(ctx)
        counts = []
        engine.signals.counts_changed.connect(counts.append)
        try:
            with qtbot.waitSignal(engine.engine_started, timeout=15_000) as started:
                engine.start()
            assert started.args == [session.settings.listen_address]
            qtbot.waitUntil(
                lambda: (
                    bool(counts)
                    and counts[-1].delivered >= 3
                    and counts[-1].retrying + counts[-1].failed >= 1
                ),
                timeout=30_000,
            )
        finally:
            assert engine.stop(30_000)
        assert session.stream is not None and session.stream.stats.accepted >= 3


def test_demo_gui_opens_the_demo_data_dir_never_the_real_one(qapp, tmp_path, monkeypatch):
    """``demo`` hands its own context to gui.app.main; the app must use it (not resolve the default dir)."""
    import asyncio
    import logging
    import sys

    from shopctrl_desktop.demo import main as demo
    from shopctrl_desktop.gui import app as gui_app
    from shopctrl_desktop.gui import quit_signals

    seen = []

    def fake_run_application(app, loop, ctx, **_kw):
        seen.append((ctx.paths.data_dir, ctx.settings.listen_address, ctx.settings.retry))
        loop.close()  # the real run_application closes its qasync loop too
        asyncio.set_event_loop(None)
        return 0

    monkeypatch.setattr(gui_app, "run_application", fake_run_application)
    monkeypatch.setattr(quit_signals, "quit_on_signals", lambda app: None)
    interval = sys.getswitchinterval()
    root_handlers = list(logging.getLogger().handlers)
    paths = demo_paths(tmp_path)
    try:
        assert demo.run_gui(paths, FAST, []) == 0
    finally:
        sys.setswitchinterval(interval)
        for handler in list(logging.getLogger().handlers):
            if handler not in root_handlers:
                logging.getLogger().removeHandler(handler)
                handler.close()
    assert len(seen) == 1
    data_dir, listen, retry = seen[0]
    assert data_dir == paths.data_dir and data_dir.is_relative_to(tmp_path)
    assert listen.startswith("127.0.0.1:") and retry == FAST.retry
