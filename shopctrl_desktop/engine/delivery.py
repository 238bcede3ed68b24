"""The delivery engine: claim due items, sign and send them, record the outcomes (SPEC 5.2-5.4).

Flow on one asyncio loop:

* the **database loop** records finished attempts and claims due items (highest priority first, then
  oldest) in one transaction per turn — whenever sends finish, on ``wake()`` (new items), when a retry
  comes due (a timer) and on a periodic poll (items made due by another process, expired leases of a
  killed engine). Outcomes that finish during a turn go into the next one, so the groups grow with load;
* ``concurrency`` **workers** take claimed items in claim order, skipping items whose host already has
  ``per_host_concurrency`` requests running (so a hanging host holds only that many workers), build the
  request (auth, signature over the exact body bytes, client certificate; engine/outgoing.py) and send it
  without following redirects;
* a **heartbeat** extends the leases of every item in hand, so a lease only runs out when the process is
  gone.

Database work (engine/delivery_db.py) runs on one dedicated thread (a Session never crosses threads). Each
hop to that thread costs a GIL hand-over while the loop thread is busy sending, which is why one turn does
both jobs.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import sys
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.model import ItemStatus, WebhookAction
from shopctrl_desktop.domain.outcome import AttemptResult
from shopctrl_desktop.domain.queue import ItemChange
from shopctrl_desktop.domain.tls import CertificateError
from shopctrl_desktop.engine.delivery_db import DeliveryDatabase
from shopctrl_desktop.engine.outgoing import USER_AGENT, build_request, config_failure
from shopctrl_desktop.engine.progress import EngineObserver, NullObserver
from shopctrl_desktop.engine.senders import AiohttpSender, Sender
from shopctrl_desktop.engine.tlsconfig import TLSContextCache
from shopctrl_desktop.store import claim as claims
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import utcnow
from shopctrl_desktop.store.secrets import SecretBox

__all__ = ["USER_AGENT", "AttemptResult", "DeliveryEngine", "build_request"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Items in hand (sending or waiting for a slot) per slot: enough that a database turn never leaves the
#: workers idle and each turn moves a large group (benchmarks/delivery.py: 2 -> 0.50, 4 -> 0.56 of the
#: bare-client ceiling), few enough that a waiting item is sent soon after its claim.
PREFETCH = 4
SWITCH_INTERVAL = 0.001


def _shorten_gil_switch_interval() -> float | None:
    """Shorten the interpreter's GIL switch interval while the engine runs; returns the old value.

    The database thread gives the GIL up around every SQLite call. While the loop thread is busy sending,
    it takes the GIL straight back after each socket call, and the database thread only gets it when the
    switch interval (5 ms by default) forces a hand-over: ~5 ms per statement, ~40 ms per database turn,
    measured in benchmarks/delivery.py. At 1 ms the turns keep up with the workers.
    """
    old = sys.getswitchinterval()
    if old <= SWITCH_INTERVAL:
        return None
    sys.setswitchinterval(SWITCH_INTERVAL)
    return old


#: Gen-0 threshold of the cyclic garbage collector while the engine runs (Python's default: 700).
GC_GEN0_THRESHOLD = 10_000


def _raise_gc_threshold() -> tuple[int, int, int] | None:
    """Collect young objects every 10,000 net allocations instead of every 700 while the engine runs;
    returns the old thresholds.

    Each request allocates a few hundred short-lived objects, and with the default threshold a
    collection ran every couple of requests, each walking the items in hand: 42k instructions per
    delivered item went to the collector (valgrind) against 23k for the bare client. Cyclic garbage
    still gets collected, later. (The desktop app collects on its GUI thread only, gui/garbage.py.)
    """
    old = gc.get_threshold()
    if old[0] >= GC_GEN0_THRESHOLD:
        return None
    gc.set_threshold(GC_GEN0_THRESHOLD, *old[1:])
    return old


class DeliveryEngine:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        settings: Settings,
        observer: EngineObserver | None = None,
        *,
        sender: Sender | None = None,
        owner: str | None = None,
        poll_interval: float = 2.0,
        lease_margin: float = 5.0,
    ) -> None:
        self._observer: EngineObserver = observer or NullObserver()
        owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._store = DeliveryDatabase(db, box, settings, owner, lease_margin)
        self._sender: Sender = sender or AiohttpSender()
        self._tls = TLSContextCache()
        self._poll_interval = poll_interval
        self._concurrency = max(1, int(settings.concurrency))
        self._per_host = max(1, int(settings.per_host_concurrency))
        # Items in hand may wait for a slot: up to twice the limits, so the pipe never runs dry.
        self._max_active = PREFETCH * self._concurrency
        self._host_cap = PREFETCH * self._per_host
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._running = False
        self._sending_allowed = False
        self._more_due = True
        self._capped_hosts: set[str] = set()
        self._wakes = 0  # counts wake-ups, so one that arrives while a claim runs is not lost
        self._recover_due = True
        self._db_failing = False
        self._recovered_at = float("-inf")  # monotonic time of the last recovery of expired leases
        self._in_hand: dict[int, claims.ClaimedItem] = {}  # claimed, not yet recorded
        self._active: set[int] = set()  # claimed, not yet sent
        self._host_active: Counter[str] = Counter()
        self._ready: deque[tuple[claims.ClaimedItem, WebhookAction | None]] = deque()  # claim order
        self._host_sending: Counter[str] = Counter()
        self._idle: list[asyncio.Future[None]] = []
        self._workers: list[asyncio.Task[None]] = []
        self._records: list[tuple[claims.ClaimedItem, AttemptResult]] = []
        self._loops: list[asyncio.Task[None]] = []
        self._event: asyncio.Event | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._switch_interval: float | None = None
        self._gc_threshold: tuple[int, int, int] | None = None
        self.delivered = 0
        self.attempted = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self._running:
            return
        self._observer.state_changed("delivery", "starting", "")
        self._loop = asyncio.get_running_loop()
        self._switch_interval = _shorten_gil_switch_interval()
        self._gc_threshold = _raise_gc_threshold()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="delivery-db")
        self._event = asyncio.Event()
        recovered = await self._db_call(self._store.recover)
        if recovered:
            log.info("%d item(s) left in 'sending' by a stopped engine are due again", recovered)
        self._running = self._sending_allowed = True
        self._more_due = True
        self._workers = [
            asyncio.create_task(self._worker(), name=f"delivery-worker-{n}") for n in range(self._concurrency)
        ]
        self._loops = [
            asyncio.create_task(self._db_loop(), name="delivery-db"),
            asyncio.create_task(self._heartbeat_loop(), name="delivery-heartbeat"),
        ]
        self._observer.state_changed("delivery", "running", f"concurrency {self._concurrency}")

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Stop claiming, let sends in flight finish for up to ``drain_timeout`` seconds, record them, and
        give every other item in hand back to the queue (due at once; a cancelled send may already have
        reached the receiver, which is why delivery is at-least-once)."""
        if not self._running:
            await self._sender.close()
            return
        self._running = False
        self._sending_allowed = False
        assert self._event is not None
        self._event.set()
        if self._timer is not None:
            self._timer.cancel()
        db_loop, heartbeat = self._loops
        self._wake_workers(len(self._idle))
        _, pending = await asyncio.wait(self._workers, timeout=max(0.0, drain_timeout))
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._event.set()
        await asyncio.gather(db_loop, return_exceptions=True)
        heartbeat.cancel()
        await asyncio.gather(heartbeat, return_exceptions=True)
        leftover = list(self._in_hand.values())
        if leftover:
            try:
                await self._db_call(self._store.release, [item.id for item in leftover])
                self._observer.items_changed(
                    [
                        ItemChange(
                            it.id, ItemStatus.RETRYING if it.attempts else ItemStatus.QUEUED, it.attempts
                        )
                        for it in leftover
                    ]
                )
            except Exception:  # noqa: BLE001 - lease recovery will bring them back
                log.exception("could not give %d item(s) back; lease recovery will", len(leftover))
            self._in_hand.clear()
        await self._sender.close()
        assert self._executor is not None
        self._executor.shutdown(wait=True)
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None
        if self._gc_threshold is not None:
            if gc.get_threshold()[0] == GC_GEN0_THRESHOLD:  # unless someone else changed it meanwhile
                gc.set_threshold(*self._gc_threshold)
            self._gc_threshold = None
        self._observer.state_changed("delivery", "stopped", "")

    def wake(self) -> None:
        """New items are due (the dispatcher calls this after a commit). Safe from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._on_wake()
        else:
            loop.call_soon_threadsafe(self._on_wake)

    @property
    def owner(self) -> str:
        """This engine's name on the leases it holds."""
        return self._store.owner

    @property
    def in_hand(self) -> int:
        return len(self._in_hand)

    # ------------------------------------------------------------------ database (one thread)
    async def _db_call(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._loop is not None and self._executor is not None
        return await self._loop.run_in_executor(self._executor, fn, *args)

    # ------------------------------------------------------------------ the loop
    def _on_wake(self) -> None:
        self._more_due = True
        self._wakes += 1
        if self._event is not None:
            self._event.set()

    def _wake_in(self, seconds: float) -> None:
        assert self._loop is not None
        when = self._loop.time() + max(0.0, seconds)
        if self._timer is not None and self._timer_at <= when:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = float("inf")
        self._on_wake()

    def _room(self) -> int:
        return self._max_active - len(self._active)

    async def _db_loop(self) -> None:
        """Record finished attempts and claim new items, in one transaction per turn. Outcomes that
        finish while a turn runs are batched into the next one."""
        assert self._event is not None
        threshold = max(1, self._max_active // 4)
        while True:
            self._event.clear()
            room = self._room()
            want = 0
            if self._running and self._more_due and room > 0 and (room >= threshold or not self._active):
                want = room
            if not self._records and want == 0:
                if not self._running and all(w.done() for w in self._workers):
                    return
                try:
                    await asyncio.wait_for(self._event.wait(), self._poll_interval)
                except TimeoutError:
                    self._more_due = self._recover_due = True
                continue
            batch, self._records = self._records, []
            clock = time.monotonic()
            if clock - self._recovered_at >= self._poll_interval:  # also while busy: other engines' leases
                self._recover_due = True
            recover = self._recover_due and want > 0
            if recover:
                self._recover_due = False
                self._recovered_at = clock
            try:
                in_hand_at_claim = dict(self._host_active)
                wakes_at_claim = self._wakes
                record, items, actions = await self._db_call(
                    self._store.cycle, batch, want, self._host_cap, in_hand_at_claim, recover
                )
            except Exception as exc:  # noqa: BLE001 - database busy or gone: keep the outcomes, try again
                log.exception("recording %d attempt(s) / claiming failed; trying again", len(batch))
                if not self._db_failing:
                    self._db_failing = True
                    first_line = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
                    self._observer.state_changed("delivery", "error", f"database unavailable: {first_line}")
                self._records[:0] = batch
                self._recover_due = self._recover_due or recover
                await asyncio.sleep(0.5)
                continue
            if self._db_failing:
                self._db_failing = False
                self._observer.state_changed("delivery", "running", "database available again")
            if batch:
                self._after_record(batch, record)
            if want:
                if len(items) < want and self._wakes == wakes_at_claim:
                    self._more_due = False  # nothing more due, unless a wake-up came in meanwhile
                if items and not self._running:
                    self._in_hand.update((it.id, it) for it in items)  # stop() gives them back
                elif items:
                    self._start_items(items, actions)
                if len(items) < want:
                    # A host that hit its cap in this claim may still have items due: claim again as soon
                    # as one of its items ends (some may have ended while the claim ran).
                    claimed = Counter(it.host for it in items)
                    capped = {
                        h
                        for h in {*in_hand_at_claim, *claimed}
                        if in_hand_at_claim.get(h, 0) + claimed[h] >= self._host_cap
                    }
                    self._capped_hosts = {h for h in capped if self._host_active.get(h, 0) >= self._host_cap}
                    if capped - self._capped_hosts:
                        self._more_due = True

    def _start_items(self, items: list[claims.ClaimedItem], actions: dict[int, WebhookAction]) -> None:
        changes = []
        sending = ItemStatus.SENDING  # once: an enum member look-up costs more than the rest of a loop turn
        for item in items:
            self._in_hand[item.id] = item
            self._active.add(item.id)
            self._host_active[item.host] += 1
            action = actions.get(item.action_id) if item.action_id is not None else None
            self._ready.append((item, action))
            changes.append(ItemChange(item.id, sending, item.attempts))
        self._wake_workers(len(items))
        self._observer.items_changed(changes)

    def _wake_workers(self, n: int) -> None:
        while n > 0 and self._idle:
            waiter = self._idle.pop()
            if not waiter.done():
                waiter.set_result(None)
                n -= 1

    def _take(self) -> tuple[claims.ClaimedItem, WebhookAction | None] | None:
        """The first ready item (claim order) whose host is below its limit."""
        if not self._sending_allowed:
            return None
        for index, job in enumerate(self._ready):
            host = job[0].host
            if self._host_sending[host] < self._per_host:
                del self._ready[index]
                self._host_sending[host] += 1
                return job
        return None

    async def _worker(self) -> None:
        """``concurrency`` workers are the global limit; ``_take`` applies the per-host one. A slow host
        holds at most ``per_host_concurrency`` workers, the others keep serving the other hosts."""
        assert self._loop is not None and self._event is not None
        while True:
            job = self._take()
            if job is None:
                if not self._sending_allowed:
                    return
                waiter = self._loop.create_future()
                self._idle.append(waiter)
                await waiter
                continue
            item, action = job
            try:
                result = await self._attempt(item, action)
            except Exception as exc:  # noqa: BLE001 - a bug must not strand the item or lose a worker
                log.exception("sending queue item %d failed unexpectedly", item.id)
                result = AttemptResult(started_at=utcnow(), duration_ms=0.0, error=f"internal error: {exc!r}")
            finally:
                self._host_sending[item.host] -= 1
                self._active.discard(item.id)
                self._host_active[item.host] -= 1
                if item.host in self._capped_hosts:
                    self._capped_hosts.discard(item.host)
                    self._more_due = True
                if self._host_active[item.host] <= 0:
                    del self._host_active[item.host]
                    del self._host_sending[item.host]
                if self._ready and self._idle:
                    self._wake_workers(1)  # a host may have room again
            self._records.append((item, result))
            self._event.set()

    async def _attempt(self, item: claims.ClaimedItem, action: WebhookAction | None) -> AttemptResult:
        self.attempted += 1
        if action is None:
            return config_failure(
                "the webhook action of this item no longer exists (its trigger was deleted)"
            )
        try:
            outgoing = build_request(
                action,
                item.method,
                item.url,
                item.headers,
                item.body,
                str(item.id),
                item.attempts + 1,
                self._tls,
            )
        except (CertificateError, ValueError) as exc:
            return config_failure(f"invalid configuration: {exc}")
        return await self._sender.send(outgoing)

    def _after_record(
        self, batch: list[tuple[claims.ClaimedItem, AttemptResult]], result: claims.RecordResult
    ) -> None:
        for item, _ in batch:
            self._in_hand.pop(item.id, None)
        delivered = ItemStatus.DELIVERED
        self.delivered += sum(1 for change in result.changes if change.status is delivered)
        if result.retry_delays and self._running:
            self._wake_in(min(result.retry_delays.values()))
        if result.changes:
            self._observer.items_changed(result.changes)
        for alert_id, severity, title in result.alerts:
            self._observer.alert_raised(alert_id, severity, title)
        if result.lost:
            log.warning(
                "%d item(s) were taken over by another engine after their lease ran out", len(result.lost)
            )

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(max(0.2, self._store.lease_seconds / 3))
            ids = list(self._in_hand)
            if ids:
                try:
                    await self._db_call(self._store.extend, ids)
                except Exception:  # noqa: BLE001
                    log.exception("extending leases failed")
