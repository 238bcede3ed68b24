"""``shopctrl-desktop demo``: the app with demo triggers, a built-in sample receiver and a stream of events.

Within seconds of the start the queue comes alive: items are delivered to the sample receiver on 127.0.0.1,
one endpoint always answers 500 (retries with a short demo policy — 5 s, 10 s, 20 s — then ``failed`` and an
Error alert), one answers 410 (an alert at once), one is flaky (visible retries that then succeed).

Everything lives in a data directory of its own, ``<data dir>/demo``, so the demo never mixes with real
data. ``--headless`` runs the same without a screen (the engine in this process), e.g. for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import logging
import random
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings, load_settings, save_settings
from shopctrl_desktop.demo.events import EventStream, event_pool, load_sample_events
from shopctrl_desktop.demo.receiver import SampleReceiver
from shopctrl_desktop.demo.triggers import import_demo_triggers, load_demo_triggers
from shopctrl_desktop.domain.retry import RetryPolicy
from shopctrl_desktop.engine.token import load_or_create_token
from shopctrl_desktop.paths import AppPaths, resolve_paths
from shopctrl_desktop.resources import ResourceNotFound
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secrets import SecretBox, load_secret_box

log = logging.getLogger(__name__)

DEMO_RETRY = RetryPolicy(kind="custom", delays=(5.0, 10.0, 20.0), max_retries=3)


@dataclass(frozen=True)
class DemoOptions:
    interval: float = 1.5  # seconds between two posted events (randomised by +-40 %)
    retry: RetryPolicy = DEMO_RETRY
    receiver_delay: tuple[float, float] = (0.05, 0.6)
    receiver_slow: tuple[float, float] = (1.0, 2.5)
    listen_port: int = 0  # 0: a free port is picked
    seed: int | None = None


def demo_paths(data_dir: str | Path | None = None) -> AppPaths:
    """``<data dir>/demo`` — a subfolder even when the real data dir is given, so nothing mixes."""
    base = resolve_paths(data_dir).data_dir / "demo"
    return AppPaths(data_dir=base, log_dir=base / "logs").ensure()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def demo_settings(paths: AppPaths, options: DemoOptions) -> Settings:
    """The demo's settings: loopback listener on a free port, its own SQLite file, the short retry policy."""
    settings = load_settings(paths, environ={})
    port = options.listen_port or free_port()
    settings = replace(
        settings,
        listen_host="127.0.0.1",
        listen_port=port,
        allow_remote=False,
        database_url=None,
        retry=options.retry,
    )
    save_settings(paths, settings)
    return settings


# -- one demo: receiver + triggers + stream (+ the engine when headless) --------------------------------
@dataclass
class DemoSession:
    """Set up with :meth:`prepare` (sync), then ``await start()`` / ``await stop()`` on one asyncio loop."""

    paths: AppPaths
    options: DemoOptions = field(default_factory=DemoOptions)
    settings: Settings | None = None
    db: Database | None = None
    box: SecretBox | None = None
    receiver: SampleReceiver | None = None
    stream: EventStream | None = None
    engine: Any = None
    trigger_events: set[str] = field(default_factory=set)
    failing_events: set[str] = field(default_factory=set)  # events of the endpoints that fail on purpose

    def prepare(self) -> None:
        self.paths.ensure()
        self.settings = demo_settings(self.paths, self.options)
        self.db = Database(f"sqlite:///{self.paths.database_file.as_posix()}")
        self.box = load_secret_box(self.paths.data_dir, use_keyring=False)
        load_or_create_token(self.paths)

    async def start_receiver(self) -> None:
        assert self.db is not None and self.box is not None
        rng = random.Random(self.options.seed)
        self.receiver = SampleReceiver(
            delay_range=self.options.receiver_delay, slow_range=self.options.receiver_slow, rng=rng
        )
        await self.receiver.start()
        triggers = load_demo_triggers(self.receiver.base_url)
        import_demo_triggers(self.db, self.box, triggers)
        for trigger in triggers:
            self.trigger_events.add(trigger.event)
            for action in trigger.actions:
                if any(f"/{kind}" in action.url for kind in ("fail", "gone")):
                    self.failing_events.add(trigger.event)
                if action.hmac_secret:
                    self.receiver.expect_signature(
                        httpx.URL(action.url).path, action.signature_scheme, action.hmac_secret
                    )
        log.info(
            "demo: %d triggers pointing at the sample receiver %s", len(triggers), self.receiver.base_url
        )

    async def start_engine(self, observer: Any = None) -> str:
        """Headless only: the engine (listener + delivery) on this loop. Returns the listener address."""
        from shopctrl_desktop.engine.service import Engine

        assert self.db is not None and self.box is not None and self.settings is not None, "prepare() first"
        self.engine = Engine(self.db, self.box, self.settings, self.paths, observer)
        await self.engine.start()
        return str(self.engine.listener_address)

    async def start_stream(self, listener_address: str) -> None:
        try:
            samples = load_sample_events()
        except ResourceNotFound as exc:
            log.warning("demo: %s", exc)
            samples = []
        self.stream = EventStream(
            listener_address,
            load_or_create_token(self.paths),
            event_pool(samples, self.trigger_events),
            interval=self.options.interval,
            rng=random.Random(self.options.seed),
            rare_events=self.failing_events,
        )
        self.stream.start()

    async def stop(self) -> None:
        if self.stream is not None:
            await self.stream.stop()
        if self.engine is not None:
            await self.engine.stop(drain_timeout=5.0)
            self.engine = None
        if self.receiver is not None:
            await self.receiver.stop()

    def close(self) -> None:
        if self.db is not None:
            self.db.dispose()
            self.db = None


@contextlib.asynccontextmanager
async def headless_demo(paths: AppPaths, options: DemoOptions | None = None, observer: Any = None):
    """The whole demo on the running loop: receiver, triggers, engine, event stream. Yields the session."""
    session = DemoSession(paths, options or DemoOptions())
    await asyncio.to_thread(session.prepare)
    try:
        await session.start_receiver()
        address = await session.start_engine(observer)
        await session.start_stream(address)
        yield session
    finally:
        await session.stop()
        session.close()


async def run_headless(paths: AppPaths, options: DemoOptions, duration: float | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with headless_demo(paths, options) as session:
        assert session.engine is not None and session.receiver is not None
        print(f"ShopCtrl Desktop demo (headless) — data in {paths.data_dir}")
        print(f"  listener  http://{session.engine.listener_address}/events")
        print(f"  receiver  {session.receiver.base_url}/   (GET it for a summary)")
        print("  Ctrl+C stops the demo.", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration)
    return 0


class _DemoThread(threading.Thread):
    """GUI mode: the receiver and the event stream on their own loop, next to the GUI's engine thread."""

    def __init__(self, session: DemoSession) -> None:
        super().__init__(name="demo", daemon=True)
        self.session = session
        self.receiver_ready = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        try:
            await self.session.start_receiver()
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self.error = exc
            self.receiver_ready.set()
            return
        self.receiver_ready.set()
        assert self.session.settings is not None
        try:
            await self.session.start_stream(self.session.settings.listen_address)
            await self._stop_event.wait()
        finally:
            await self.session.stop()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop_event is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop_event.set)
        self.join(timeout)


@contextlib.contextmanager
def background_demo(paths: AppPaths, options: DemoOptions | None = None) -> Iterator[DemoSession]:
    """GUI mode: receiver + triggers + stream in a thread; the caller runs the engine (the GUI does)."""
    session = DemoSession(paths, options or DemoOptions())
    session.prepare()
    thread = _DemoThread(session)
    thread.start()
    thread.receiver_ready.wait(30)
    if thread.error is not None:
        raise thread.error
    try:
        yield session
    finally:
        thread.stop()
        session.close()


def run_gui(paths: AppPaths, options: DemoOptions, argv: list[str]) -> int:
    try:
        if importlib.util.find_spec("PySide6") is None:
            raise ImportError("PySide6 is not installed")
        from shopctrl_desktop.gui.app import main as gui_main
    except (ImportError, ValueError) as exc:  # PySide6 missing (a server install)
        print(
            f"shopctrl-desktop demo: the desktop app is not available ({exc}); try --headless",
            file=sys.stderr,
        )
        return 2

    with background_demo(paths, options) as session:
        assert session.settings is not None and session.db is not None and session.box is not None
        ctx = AppContext(paths=paths, settings=session.settings, db=session.db, box=session.box)
        receiver = session.receiver.base_url if session.receiver is not None else "?"
        print(f"ShopCtrl Desktop demo — data in {paths.data_dir}; sample receiver {receiver}/", flush=True)
        return int(gui_main(argv, ctx=ctx) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopctrl-desktop demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="the demo uses DATA_DIR/demo (default: the user data dir's demo/)")
    parser.add_argument(
        "--headless", action="store_true", help="run without a screen (engine in this process)"
    )
    parser.add_argument("--duration", type=float, default=None, help="headless: stop after this many seconds")
    parser.add_argument("--interval", type=float, default=DemoOptions.interval, help="seconds between events")
    parser.add_argument("--verbose", action="store_true", help="log debug messages")
    return parser


def main(argv: list[str] | None = None) -> int:
    from shopctrl_desktop.logging_setup import setup_logging
    from shopctrl_desktop.runtime import tune_process

    tune_process()
    args, rest = build_parser().parse_known_args(argv)
    paths = demo_paths(args.data_dir)
    setup_logging(paths, verbose=args.verbose)
    options = DemoOptions(interval=max(0.05, args.interval))
    if args.headless:
        return asyncio.run(run_headless(paths, options, args.duration))
    return run_gui(paths, options, rest)


if __name__ == "__main__":
    raise SystemExit(main())
