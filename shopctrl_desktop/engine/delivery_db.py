"""The delivery engine's database work (engine/delivery.py): every method runs on the engine's one
database thread, each in its own short Session, and returns plain values.

It also keeps what that thread reads and reuses for a few seconds: the lease length and the decrypted
webhook actions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.breaker import BreakerPolicy
from shopctrl_desktop.domain.model import WebhookAction
from shopctrl_desktop.domain.outcome import AttemptResult
from shopctrl_desktop.store import claim as claims
from shopctrl_desktop.store import endpoints as endpoint_rows
from shopctrl_desktop.store import unreadable as unreadable_secrets
from shopctrl_desktop.store.circuits import REFRESH_SECONDS, Circuits, TurnNews
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import utcnow
from shopctrl_desktop.store.secrets import SecretBox

#: How long decrypted actions and the lease length are reused before they are read again.
ACTION_CACHE_SECONDS = 2.0


class DeliveryDatabase:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        settings: Settings,
        owner: str,
        lease_margin: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._clock = clock  # "now" of claims, records and circuit breakers (tests move it on)
        self.circuits = Circuits(
            BreakerPolicy(
                failures=max(1, int(settings.circuit_failures)),
                pause_after=float(settings.circuit_pause_days) * 86400.0,
            )
        )
        self._box = box
        self._settings = settings
        self.owner = owner
        self._lease_margin = lease_margin
        self.lease_seconds = 35.0
        self._lease_read_at = float("-inf")  # monotonic time; only the database thread touches these two
        self._actions: dict[int, tuple[float, WebhookAction | None]] = {}  # None: secrets not decryptable
        self._limits_read_at = float("-inf")  # monotonic time the rate limits were last read

    def recover(self) -> int:
        with self._db.session() as session:
            self.lease_seconds = claims.lease_seconds_for(session, self._lease_margin)
            self._lease_read_at = time.monotonic()
            return claims.recover_expired_leases(session, self._clock())

    def cycle(
        self,
        batch: list[tuple[claims.ClaimedItem, AttemptResult]],
        want: int,
        per_host: int,
        host_active: dict[str, int],
        recover: bool,
    ) -> tuple[claims.RecordResult, list[claims.ClaimedItem], dict[int, WebhookAction], TurnNews]:
        """One transaction: record what finished (and what it means for the endpoints' circuit breakers),
        then claim what fits and may go (one commit, one thread hop)."""
        items: list[claims.ClaimedItem] = []
        actions: dict[int, WebhookAction] = {}
        news = TurnNews()
        now = self._clock()
        with self._db.session() as session:
            record = claims.record_outcomes(session, self.owner, batch, self._settings.retry, now)
            self.circuits.refresh(session, news)
            self._read_rate_limits(session, news)
            if batch:
                self.circuits.after_record(session, batch, now, record, news)
            if want > 0:
                clock = time.monotonic()
                if clock - self._lease_read_at > ACTION_CACHE_SECONDS:
                    self.lease_seconds = claims.lease_seconds_for(session, self._lease_margin)
                    self._lease_read_at = clock
                items = claims.claim_due(
                    session,
                    self.owner,
                    want,
                    now,
                    self.lease_seconds,
                    per_host=per_host,
                    host_in_hand=host_active,
                    recover=recover,
                )
                items = self.circuits.gate(session, self.owner, items, now, self.lease_seconds, news)
                actions, unreadable = self._actions_for(session, items, clock)
                if unreadable:
                    items = self._fail_unreadable(session, items, unreadable, record)
            news.probe_in = self.circuits.probe_in(now)
        return record, items, actions, news

    def reread_rate_limits(self) -> None:
        """Read the rate limits in the next turn (a starting engine)."""
        self._limits_read_at = float("-inf")

    def _read_rate_limits(self, session: Any, news: TurnNews) -> None:
        """The endpoints' rate limits, every few seconds (a person may change one while the engine runs)."""
        clock = time.monotonic()
        if clock - self._limits_read_at >= REFRESH_SECONDS:
            self._limits_read_at = clock
            news.rate_limits = endpoint_rows.rate_limits(session)

    def _fail_unreadable(
        self,
        session: Any,
        items: list[claims.ClaimedItem],
        unreadable: set[int],
        record: claims.RecordResult,
    ) -> list[claims.ClaimedItem]:
        """Items of actions whose secrets this key cannot decrypt fail here, in the claim's transaction
        (they never reach a sender); the others are returned to be sent."""
        bad = [it for it in items if it.action_id in unreadable]
        unreadable_secrets.fail_unreadable_items(session, bad, unreadable, self._box, self._clock(), record)
        return [it for it in items if it.action_id not in unreadable]

    def _actions_for(
        self, session: Any, items: list[claims.ClaimedItem], clock: float
    ) -> tuple[dict[int, WebhookAction], set[int]]:
        """Actions (secrets decrypted) cached for a few seconds: edits apply to the next claims. Also the
        ids of actions whose secrets this workstation's key cannot decrypt."""
        wanted = {it.action_id for it in items if it.action_id is not None}
        stale = {
            i for i in wanted if i not in self._actions or clock - self._actions[i][0] > ACTION_CACHE_SECONDS
        }
        if stale:
            loaded, unreadable = unreadable_secrets.load_actions_isolated(session, self._box, stale)
            for action_id in stale:
                if action_id in loaded:
                    self._actions[action_id] = (clock, loaded[action_id])
                elif action_id in unreadable:
                    self._actions[action_id] = (clock, None)
                else:
                    self._actions.pop(action_id, None)
        actions: dict[int, WebhookAction] = {}
        bad: set[int] = set()
        for i in wanted:
            if i in self._actions:
                action = self._actions[i][1]
                if action is None:
                    bad.add(i)
                else:
                    actions[i] = action
        return actions, bad

    def release(self, ids: list[int]) -> int:
        with self._db.session() as session:
            return claims.release_items(session, self.owner, ids, self._clock())

    def extend(self, ids: list[int]) -> int:
        with self._db.session() as session:
            until = self._clock() + timedelta(seconds=self.lease_seconds)
            return claims.extend_leases(session, self.owner, ids, until)
