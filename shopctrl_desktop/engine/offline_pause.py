"""Offline awareness on the delivery path (docs/endpoints.md "Offline"; the rule: domain/offline.py).

A part of :class:`~shopctrl_desktop.engine.delivery.DeliveryEngine` kept in its own module: when this
workstation is offline — the system says so (:meth:`set_network_online`, the desktop app's QNetworkInformation)
or attempts to several hosts fail unreachable at once — the items in hand go back to the queue unsent (the
circuit breaker's withdraw path), no new items are claimed, an attempt that fails unreachable meanwhile is given
back uncounted, and one probe item is claimed now and then. A connection ends it and deliveries resume at once.
The engine reports it as the delivery state ``offline`` (detail: since when, ISO 8601 UTC) and logs one line when
it starts and one when it ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from shopctrl_desktop.domain.offline import Change, OfflineDetector, Reach, reach_of
from shopctrl_desktop.domain.outcome import AttemptResult, in_words
from shopctrl_desktop.domain.scheduler import ClaimPlan, DeliveryScheduler
from shopctrl_desktop.engine.progress import EngineObserver
from shopctrl_desktop.store import claim as claims
from shopctrl_desktop.store.models import utcnow

log = logging.getLogger("shopctrl_desktop.engine.delivery")


class OfflineAwareness:
    """Mixed into the delivery engine; uses its scheduler, loop, timer and withdraw path."""

    _offline: OfflineDetector
    _probe_id: int | None
    offline_since: datetime | None
    _event: asyncio.Event | None
    _running: bool
    _observer: EngineObserver
    _schedule: DeliveryScheduler[claims.ClaimedItem]

    if TYPE_CHECKING:  # the engine's own, used here

        def _withdraw_matching(self, leaves: Callable[[claims.ClaimedItem], bool]) -> int: ...
        def _release_later(self, gone: list[claims.ClaimedItem]) -> None: ...
        def _wake_in(self, seconds: float) -> None: ...
        def _on_wake(self) -> None: ...
        def _on_engine_loop(self, call: Callable[..., None], *args: object) -> None: ...

    def set_network_online(self, online: bool) -> None:
        """The operating system's reachability (the desktop app's QNetworkInformation). Safe from any thread."""
        self._on_engine_loop(self._on_network, online)

    @property
    def offline(self) -> bool:
        return self._offline.offline

    def _on_network(self, online: bool) -> None:
        self._apply_offline(self._offline.reported(online, time.monotonic()), "the system reports no network")

    def _note_reach(self, item: claims.ClaimedItem, result: AttemptResult) -> bool:
        """Feed the offline rule; True when the attempt is given back uncounted (it failed unreachable while
        offline: the workstation's fault, not the receiver's)."""
        probe = item.id == self._probe_id
        if result.ok and not probe and not self._offline.watching:
            return False  # the common case, kept cheap (benchmarks/delivery.py)
        reach = reach_of(result)
        if probe:
            self._probe_id = None
        if reach is Reach.UNKNOWN and not probe:
            return False
        change = self._offline.note(item.host, reach, time.monotonic(), probe=probe)
        if change is not None:
            policy = self._offline.policy
            self._apply_offline(
                change,
                f"{policy.hosts} hosts unreachable within {policy.window:g} s ({result.error})",
            )
        if reach is Reach.UNREACHABLE and self._offline.offline:
            self._schedule.recorded([item.id])
            self._release_later([item])
            return True
        return False

    def _apply_offline(self, change: Change | None, reason: str) -> None:
        if change is Change.OFFLINE:
            self.offline_since = utcnow()
            log.warning(
                "offline: %s; deliveries paused (no attempts spent), probing from %g s",
                reason,
                self._offline.policy.first_probe,
            )
            self._observer.state_changed("delivery", "offline", self.offline_since.isoformat())
            self._withdraw_matching(lambda _item: True)
            if self._event is not None:
                self._event.set()  # plans the first probe
        elif change is Change.ONLINE:
            since = self.offline_since
            self.offline_since = None
            lasted = f" after {in_words((utcnow() - since).total_seconds())}" if since is not None else ""
            log.info("online again%s: deliveries resume", lasted)
            self._observer.state_changed("delivery", "running", "network available again")
            if self._running:
                self._on_wake()

    def _offline_plan(self) -> tuple[ClaimPlan | None, bool]:
        """While offline: the claim of one probe item when it is due and nothing is in hand, else none (and a
        timer for the probe)."""
        now = time.monotonic()
        if not self._running:
            return None, False
        if self._schedule.in_hand == 0 and self._offline.probe_due(now):
            return self._schedule.probe_plan(self._offline.probe_skips()), True
        wait = self._offline.probe_in(now)
        if wait is not None:
            self._wake_in(wait)
        return None, False

    def _probe_claimed(self, items: list[claims.ClaimedItem]) -> None:
        now = time.monotonic()
        if items:
            self._probe_id = items[0].id
            self._offline.probe_taken(now)
            return
        self._offline.nothing_to_probe(now, skipped=bool(self._offline.probe_skips()))
        wait = self._offline.probe_in(now)
        if wait is not None and self._running:
            self._wake_in(wait)
