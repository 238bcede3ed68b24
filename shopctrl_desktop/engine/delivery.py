"""The delivery engine: claim due items, sign and send them, record the outcomes (SPEC 5.2-5.4).

One asyncio loop runs claim -> schedule -> send -> record:

* the **database loop** records finished attempts and claims due items (highest priority first, then
  oldest) in one transaction per turn — whenever sends finish, on ``wake()`` (new items), when a retry
  comes due (a timer) and on a periodic poll (items made due by another process, expired leases of a
  killed engine). Outcomes that finish during a turn go into the next one, so the groups grow with load;
* the **scheduler** (domain/scheduler.py, pure) holds the claimed items and decides how many to claim and
  when, and which item takes a free slot: the highest waiting one whose host is below
  ``per_host_concurrency`` — unless the database may hold a higher one, then it is claimed first;
* ``concurrency`` **workers** take the scheduler's next item, build the request (auth, signature over the
  exact body bytes, client certificate; engine/outgoing.py) and send it without following redirects;
* a **heartbeat** extends the leases of every item in hand, so a lease only runs out when the process is
  gone.

Database work (engine/delivery_db.py) runs on one dedicated thread (a Session never crosses threads). Each
hop to that thread costs a GIL hand-over while the loop thread is busy sending, which is why one turn does
both jobs (the process's switch interval is set once at entry, shopctrl_desktop/runtime.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.breaker import LocalWatch, endpoint_key, host_variants, verdict
from shopctrl_desktop.domain.model import ItemStatus, WebhookAction
from shopctrl_desktop.domain.offline import OfflineDetector, OfflinePolicy
from shopctrl_desktop.domain.outcome import AttemptResult
from shopctrl_desktop.domain.queue import ItemChange
from shopctrl_desktop.domain.scheduler import ClaimPlan, DeliveryScheduler
from shopctrl_desktop.domain.tls import CertificateError
from shopctrl_desktop.engine.delivery_db import DeliveryDatabase
from shopctrl_desktop.engine.fault_log import RepeatingFault, reason_of
from shopctrl_desktop.engine.offline_pause import OfflineAwareness
from shopctrl_desktop.engine.outgoing import USER_AGENT, build_request, config_failure
from shopctrl_desktop.engine.progress import EngineObserver, NullObserver
from shopctrl_desktop.engine.senders import AiohttpSender, Sender
from shopctrl_desktop.engine.tlsconfig import TLSContextCache
from shopctrl_desktop.store import claim as claims
from shopctrl_desktop.store.circuits import TurnNews
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import utcnow
from shopctrl_desktop.store.secrets import SecretBox

__all__ = ["USER_AGENT", "AttemptResult", "DeliveryEngine", "build_request"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def owner_prefix(pid: int) -> str:
    """How the lease owners of the delivery engines in process ``pid`` on this machine begin."""
    return f"{socket.gethostname()}:{pid}:"


class DeliveryEngine(OfflineAwareness):
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
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._observer: EngineObserver = observer or NullObserver()
        owner = owner or f"{owner_prefix(os.getpid())}{uuid.uuid4().hex[:8]}"
        self._store = DeliveryDatabase(db, box, settings, owner, lease_margin, clock)
        self._sender: Sender = sender or AiohttpSender()
        self._tls = TLSContextCache()
        self._poll_interval = poll_interval
        self._concurrency = max(1, int(settings.concurrency))
        self._per_host = max(1, int(settings.per_host_concurrency))
        self._schedule: DeliveryScheduler[claims.ClaimedItem] = DeliveryScheduler(
            self._concurrency, self._per_host
        )
        self._actions: dict[int, WebhookAction | None] = {}  # item id -> its action, until it is sent
        self._watch = LocalWatch(int(settings.circuit_failures))  # failures seen here, between database turns
        self._releasing: set[asyncio.Task[None]] = set()  # items withdrawn from the hand, being given back
        self._offline = OfflineDetector(
            OfflinePolicy.from_settings(
                settings.offline_hosts,
                settings.offline_window_seconds,
                settings.offline_first_probe_seconds,
                settings.offline_max_probe_seconds,
            )
        )
        self._probe_id: int | None = None  # the offline probe item, while it is under way
        self.offline_since: datetime | None = None  # deliveries paused because this workstation is offline
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._running = False  # claiming and sending
        self._recover_due = True
        self._db_failing = False
        self._db_fault = RepeatingFault(log, "recording attempts and claiming items")
        self._recovered_at = float("-inf")  # monotonic time of the last recovery of expired leases
        self._idle: list[asyncio.Future[None]] = []
        self._workers: list[asyncio.Task[None]] = []
        self._records: list[tuple[claims.ClaimedItem, AttemptResult]] = []
        self._loops: list[asyncio.Task[None]] = []
        self._event: asyncio.Event | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._rate_timer: asyncio.TimerHandle | None = None  # wakes workers when a rate-limited item may go
        self._rate_timer_at = float("inf")
        self.delivered = 0
        self.attempted = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self._running:
            return
        self._observer.state_changed("delivery", "starting", "")
        self._loop = asyncio.get_running_loop()
        self._schedule = DeliveryScheduler(self._concurrency, self._per_host)
        self._store.reread_rate_limits()  # the new scheduler has none yet: read them in the first turn
        self._actions.clear()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="delivery-db")
        self._event = asyncio.Event()
        recovered = await self._db_call(self._store.recover)
        if recovered:
            log.info("%d item(s) left in 'sending' by a stopped engine are due again", recovered)
        self._running = True
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
        assert self._event is not None
        self._event.set()
        if self._timer is not None:
            self._timer.cancel()
        if self._rate_timer is not None:
            self._rate_timer.cancel()
            self._rate_timer, self._rate_timer_at = None, float("inf")
        db_loop, heartbeat = self._loops
        self._wake_workers(len(self._idle))
        _, pending = await asyncio.wait(self._workers, timeout=max(0.0, drain_timeout))
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._event.set()
        # the last records; bounded, whatever the database is doing (a full disk, a lock): stop means stop
        _, late = await asyncio.wait([db_loop], timeout=max(1.0, drain_timeout))
        if late:
            log.warning(
                "the database did not answer within %.0f s while stopping; stopping anyway", drain_timeout
            )
            db_loop.cancel()
        await asyncio.gather(db_loop, return_exceptions=True)
        heartbeat.cancel()
        await asyncio.gather(heartbeat, *self._releasing, return_exceptions=True)
        leftover = self._schedule.drop_all()
        self._actions.clear()
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
            except Exception as exc:  # noqa: BLE001 - lease recovery will bring them back
                log.warning(
                    "could not give %d item(s) back (%s); their leases bring them back",
                    len(leftover),
                    reason_of(exc),
                )
        await self._sender.close()
        assert self._executor is not None
        self._executor.shutdown(wait=True)
        self._observer.state_changed("delivery", "stopped", "")

    def wake(self) -> None:
        """New items are due (intake calls this after a commit). Safe from any thread."""
        self._on_engine_loop(self._on_wake)

    def _on_engine_loop(self, call: Callable[..., None], *args: object) -> None:
        """``call(*args)`` on the engine's loop: at once from it, scheduled from any other thread; nothing
        once the engine has stopped."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            call(*args)
        else:
            loop.call_soon_threadsafe(call, *args)

    @property
    def owner(self) -> str:
        """This engine's name on the leases it holds."""
        return self._store.owner

    @property
    def in_hand(self) -> int:
        return self._schedule.in_hand

    # ------------------------------------------------------------------ database (one thread)
    async def _db_call(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._loop is not None and self._executor is not None
        return await self._loop.run_in_executor(self._executor, fn, *args)

    # ------------------------------------------------------------------ the loop
    def _on_wake(self) -> None:
        self._schedule.wake()
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

    async def _db_loop(self) -> None:
        """Each turn: record the attempts that finished and make the claim the scheduler asks for, in one
        transaction. Outcomes that finish while a turn runs are batched into the next one."""
        assert self._event is not None
        while True:
            self._event.clear()
            plan = self._schedule.claim_plan(self._running)
            probe = False
            if self._offline.offline:  # no claims, but a probe now and then (domain/offline.py)
                plan, probe = self._offline_plan()
            if not self._records and plan is None:
                if not self._running and all(w.done() for w in self._workers):
                    return
                try:
                    await asyncio.wait_for(self._event.wait(), self._poll_interval)
                except TimeoutError:
                    self._schedule.wake()  # items may have come due elsewhere (another process, a lease)
                    self._recover_due = True
                continue
            batch, self._records = self._records, []
            recover = self._recovery_now(plan)
            want, cap, in_hand = (plan.want, plan.host_cap, plan.host_in_hand) if plan else (0, 0, {})
            try:
                record, items, actions, news = await self._db_call(
                    self._store.cycle, batch, want, cap, in_hand, recover
                )
            except Exception as exc:  # noqa: BLE001 - database busy or gone: keep the outcomes, try again
                if not self._running:  # stopping: stop means stop, the leases bring these items back
                    self._db_fault.failed(
                        exc, retry=f"giving up on recording {len(batch)} attempt(s) to stop"
                    )
                    return
                self._db_fault.failed(exc)
                self._database_failed(exc)
                self._records[:0] = batch
                self._recover_due = self._recover_due or recover
                await asyncio.sleep(0.5)
                continue
            self._db_fault.recovered()
            if self._db_failing:
                self._db_failing = False
                if self.offline_since is not None:  # still offline: the window keeps saying so
                    self._observer.state_changed("delivery", "offline", self.offline_since.isoformat())
                else:
                    self._observer.state_changed("delivery", "running", "database available again")
            if batch or record.changes:  # changes without a batch: items failed at claim (unreadable secrets)
                self._after_record(batch, record)
            if plan is not None:
                self._after_claim(plan, items, actions)
                if probe:
                    self._probe_claimed(items)
                elif self._offline.offline:  # claimed while going offline: back to the queue unsent
                    self._withdraw_matching(lambda _item: True)
            self._watch.turn_done()
            self._after_circuits(news)
            if news.rate_limits is not None:
                self._apply_rate_limits(news.rate_limits)

    def _after_circuits(self, news: TurnNews) -> None:
        """Endpoints whose circuit opened (or that were paused): their items waiting in hand go back to the
        queue unsent — the next claim holds them without an attempt. Held items leave room: claim again now.
        A probe that comes due wakes the loop."""
        blocked = news.blocked | self._watch.suspect.keys()
        if blocked:
            news.held += self._withdraw(blocked)
        if news.held and self._running:
            self._on_wake()
        if news.probe_in is not None and news.probe_in > 0 and self._running:
            self._wake_in(news.probe_in)

    def _apply_rate_limits(self, limits: dict[str, float]) -> None:
        """Limits read from the database (a person may have changed one): the scheduler spaces those
        endpoints' sends from now on; idle workers look again (a limit raised or taken off)."""
        current = self._schedule.rate_limits
        if (current.limits() if current is not None else {}) == limits:
            return
        assert self._loop is not None
        self._schedule.set_rate_limits(
            limits, lambda item: endpoint_key(item.url), host_variants, self._loop.time()
        )
        self._wake_workers(len(self._idle))

    def _rate_timer_for_waiting(self) -> None:
        """Items wait only for their endpoint's rate limit: wake the workers when the first may go (one timer,
        the earliest; no polling)."""
        assert self._loop is not None
        now = self._loop.time()
        delay = self._schedule.rate_wait(now)
        if delay is None:
            return
        when = now + delay
        if self._rate_timer is not None and self._rate_timer_at <= when:
            return
        if self._rate_timer is not None:
            self._rate_timer.cancel()
        self._rate_timer_at = when
        self._rate_timer = self._loop.call_at(when, self._on_rate_timer)

    def _on_rate_timer(self) -> None:
        self._rate_timer = None
        self._rate_timer_at = float("inf")
        self._wake_workers(len(self._idle))

    def _withdraw(self, keys: set[str] | frozenset[str]) -> int:
        """Items waiting in hand for these endpoints leave it unsent and go back to the queue (no attempt)."""
        return self._withdraw_matching(lambda item: endpoint_key(item.url) in keys)

    def _withdraw_matching(self, leaves: Callable[[claims.ClaimedItem], bool]) -> int:
        gone = self._schedule.withdraw(leaves)
        if not gone:
            return 0
        for item in gone:
            self._actions.pop(item.id, None)
        self._release_later(gone)
        return len(gone)

    def _release_later(self, gone: list[claims.ClaimedItem]) -> None:
        task = asyncio.get_running_loop().create_task(self._release(gone))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _release(self, gone: list[claims.ClaimedItem]) -> None:
        try:
            await self._db_call(self._store.release, [item.id for item in gone])
        except Exception as exc:  # noqa: BLE001 - lease recovery will bring them back
            self._db_fault.failed(
                exc, retry=f"{len(gone)} item(s) not given back: their leases bring them back"
            )
            return
        self._observer.items_changed(
            [
                ItemChange(it.id, ItemStatus.RETRYING if it.attempts else ItemStatus.QUEUED, it.attempts)
                for it in gone
            ]
        )
        if self._running:
            self._on_wake()  # room in hand again

    def _watch_result(self, item: claims.ClaimedItem, result: AttemptResult) -> None:
        """This engine's own run of failures for the item's endpoint (domain/breaker.py LocalWatch): when it
        reaches the breaker's threshold, the endpoint's items waiting in hand stop going out now rather than
        after the next database turn."""
        key = endpoint_key(item.url)
        if self._watch.note(key, verdict(result)):
            self._withdraw({key})

    def _recovery_now(self, plan: ClaimPlan | None) -> bool:
        """Whether this claim also brings back expired leases (at most every poll interval, also while
        busy: other engines' leases)."""
        clock = time.monotonic()
        if clock - self._recovered_at >= self._poll_interval:
            self._recover_due = True
        if not (self._recover_due and plan is not None):
            return False
        self._recover_due = False
        self._recovered_at = clock
        return True

    def _database_failed(self, exc: Exception) -> None:
        if not self._db_failing:
            self._db_failing = True
            first_line = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            self._observer.state_changed("delivery", "error", f"database unavailable: {first_line}")

    def _after_claim(
        self, plan: ClaimPlan, items: list[claims.ClaimedItem], actions: dict[int, WebhookAction]
    ) -> None:
        self._schedule.claimed(plan, items)  # a stopping engine keeps them in hand: stop() gives them back
        if items:
            for item in items:
                self._actions[item.id] = actions.get(item.action_id) if item.action_id is not None else None
            self._observer.items_changed([ItemChange(it.id, ItemStatus.SENDING, it.attempts) for it in items])
        self._wake_workers(self._schedule.waiting)  # new items, or a lower ceiling lets waiting ones go

    def _wake_workers(self, n: int) -> None:
        while n > 0 and self._idle:
            waiter = self._idle.pop()
            if not waiter.done():
                waiter.set_result(None)
                n -= 1

    async def _worker(self) -> None:
        """``concurrency`` workers are the global limit; the scheduler applies the per-host one and the
        priority order. A slow host holds at most ``per_host_concurrency`` workers."""
        assert self._loop is not None and self._event is not None
        while True:
            limited = self._schedule.rate_limits is not None
            item = (
                self._schedule.next_to_send(self._loop.time() if limited else 0.0) if self._running else None
            )
            if item is None:
                if not self._running:
                    return
                if limited:
                    self._rate_timer_for_waiting()
                waiter = self._loop.create_future()
                self._idle.append(waiter)
                await waiter
                continue
            action = self._actions.pop(item.id, None)
            try:
                result = await self._attempt(item, action)
            except Exception as exc:  # noqa: BLE001 - a bug must not strand the item or lose a worker
                log.exception("sending queue item %d failed unexpectedly", item.id)
                result = AttemptResult(started_at=utcnow(), duration_ms=0.0, error=f"internal error: {exc!r}")
            finally:
                self._schedule.sent(item)
                if self._schedule.waiting and self._idle:
                    self._wake_workers(1)  # a host may have room again
            if self._note_reach(item, result):
                continue  # given back uncounted: offline
            if self._watch.counts or not result.ok:
                self._watch_result(item, result)
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
        self._schedule.recorded(item.id for item, _ in batch)
        self.delivered += sum(1 for change in result.changes if change.status == ItemStatus.DELIVERED)
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
            ids = self._schedule.in_hand_ids()
            if ids:
                try:
                    await self._db_call(self._store.extend, ids)
                except Exception as exc:  # noqa: BLE001 - a database that fails now and then: said once
                    self._db_fault.failed(exc, retry="the leases are extended again at the next heartbeat")
