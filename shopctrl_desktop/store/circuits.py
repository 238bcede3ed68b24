"""The circuit breaker on the delivery path (SPEC §11): what the engine's database turn does with endpoints.

In the turn's one transaction (engine/delivery_db.py):

* :meth:`Circuits.after_record` feeds the recorded attempts to each endpoint's breaker (domain/breaker.py) —
  only attempts that failed, and successes of endpoints that are counting failures or not closed: while
  everything answers, nothing is read or written here. An opening holds the endpoint's waiting items until
  the probe time and raises ONE Warning alert; a recovery releases them and raises ONE Information alert; an
  endpoint open for days whose probe fails again is paused with ONE Error alert.
* :meth:`Circuits.gate` takes the items just claimed: those of a blocked endpoint go back to waiting in the
  same transaction, without an attempt (their ``next_attempt_at`` is the probe time, or NULL while paused) —
  except the one probe item when a probe is due. A crash rolls it all back; a second engine on PostgreSQL
  waits for the endpoint's row lock and then sees the new state.

Which endpoints are blocked is read every few seconds (and after each change this engine makes), so a claim
only looks at endpoints when one is blocked; the decision itself is made on the locked row.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from shopctrl_desktop.domain.breaker import (
    BreakerEvent,
    BreakerPolicy,
    Circuit,
    Verdict,
    endpoint_key,
    hold_until,
    record,
    short_name,
    take_probe,
    verdict,
)
from shopctrl_desktop.domain.model import AlertSeverity
from shopctrl_desktop.domain.outcome import AttemptResult
from shopctrl_desktop.store import claim as claims
from shopctrl_desktop.store import endpoints
from shopctrl_desktop.store.alerts import create_alert
from shopctrl_desktop.store.ingest import begin_write
from shopctrl_desktop.store.models import QueueItemRow

#: How long the list of endpoints needing attention is reused before it is read again.
REFRESH_SECONDS = 2.0


@dataclass
class TurnNews:
    """What the engine must know after a turn: endpoints that became blocked (items in hand must go back),
    how many claimed items were held (claim again at once), when the next probe is due."""

    blocked: set[str] = field(default_factory=set)
    held: int = 0
    probe_in: float | None = None
    rate_limits: dict[str, float] | None = (
        None  # read this turn (store/endpoints.py rate_limits); None: not read
    )


def _clock_time(value: datetime | None, now: datetime | None = None) -> str:
    """``10:42`` (local time), with the date when it is not today's."""
    if value is None:
        return "now"
    local = value.astimezone()
    same_day = now is None or local.date() == now.astimezone().date()
    return local.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


class Circuits:
    """The engine's view of the endpoints' breakers; used on the engine's one database thread only."""

    def __init__(self, policy: BreakerPolicy, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._monotonic = monotonic
        self._attention: dict[str, Circuit] = {}  # endpoints counting failures, open, probing or paused
        self._blocked: set[str] = set()
        self._read_at = -math.inf

    @property
    def blocked(self) -> frozenset[str]:
        return frozenset(self._blocked)

    def _put(self, key: str, circuit: Circuit) -> None:
        if circuit.needs_attention:
            self._attention[key] = circuit
        else:
            self._attention.pop(key, None)
        if circuit.blocked:
            self._blocked.add(key)
        else:
            self._blocked.discard(key)

    def refresh(self, session: Session, news: TurnNews, force: bool = False) -> None:
        """Re-read the endpoints needing attention every few seconds (another engine, or a person, may have
        opened, paused or resumed one)."""
        clock = self._monotonic()
        if not force and clock - self._read_at < REFRESH_SECONDS:
            return
        self._read_at = clock
        begin_write(session)  # SQLite: this turn writes next; a read first would make it a deferred one
        before = set(self._blocked)
        self._attention.clear()
        self._blocked.clear()
        for row in endpoints.attention_rows(session):
            self._put(row.url, endpoints.circuit_of(row))
        news.blocked |= self._blocked - before

    def probe_in(self, now: datetime) -> float | None:
        """Seconds until the earliest probe of a blocked endpoint (None: none is waiting for one)."""
        times = [
            c.next_probe_at for k in self._blocked if (c := self._attention[k]).next_probe_at and not c.paused
        ]
        return max(0.0, min(t - now for t in times).total_seconds()) if times else None

    # ------------------------------------------------------------------------------------ after recording
    def after_record(
        self,
        session: Session,
        outcomes: Sequence[tuple[claims.ClaimedItem, AttemptResult]],
        now: datetime,
        result: claims.RecordResult,
        news: TurnNews,
    ) -> None:
        attention = self._attention
        seen: list[tuple[str, Verdict, AttemptResult, claims.ClaimedItem]] = []
        for item, res in outcomes:
            if res.ok and not attention:
                continue  # the hot path: a success while every endpoint is healthy
            v = verdict(res)
            if v is Verdict.NONE:
                continue
            key = endpoint_key(item.url)
            if v is Verdict.UP and key not in attention:
                continue
            seen.append((key, v, res, item))
        if not seen:
            return
        known_blocked = set(self._blocked)
        failing = {key for key, v, _, _ in seen if v is Verdict.DOWN}
        rows = endpoints.lock_rows(session, {key for key, *_ in seen}, create=bool(failing), now=now)
        before = {key: endpoints.circuit_of(row) for key, row in rows.items()}
        after = dict(before)
        events: list[tuple[str, BreakerEvent, claims.ClaimedItem]] = []
        for key, v, res, item in seen:
            if key not in after:
                continue
            circuit, event = record(after[key], v, now, self.policy, res.summary(160))
            after[key] = circuit
            if event is not None:
                events.append((key, event, item))
            if item.trigger_title:
                rows[key].last_action = item.trigger_title[:300]
        for key, circuit in after.items():
            if circuit != before[key]:
                endpoints.store_circuit(rows[key], circuit, now)
            self._put(key, circuit)
        session.flush()
        news.blocked |= self._blocked - known_blocked  # opened here, or by another engine: learnt now
        alerted: set[str] = set()
        for key, event, item in _net_events(events, before, after):
            alerted.add(key)
            self._alert(session, key, event, after[key], item, now, result)
            if event != BreakerEvent.RECOVERED:
                news.blocked.add(key)
            else:
                news.held += 1  # its items are due again: claim at once
        for key, circuit in after.items():  # a failed probe: the items wait for the next one
            if key not in alerted and circuit.blocked and circuit.next_probe_at != before[key].next_probe_at:
                endpoints.hold_waiting(session, key, hold_until(circuit))

    def _alert(
        self,
        session: Session,
        key: str,
        event: BreakerEvent,
        circuit: Circuit,
        item: claims.ClaimedItem,
        now: datetime,
        result: claims.RecordResult,
    ) -> None:
        name = short_name(key)
        used_by = f' (trigger "{item.trigger_title}")' if item.trigger_title else ""
        since = _clock_time(circuit.failing_since, now)
        if event == BreakerEvent.OPENED:
            endpoints.hold_waiting(session, key, hold_until(circuit))
            waiting = endpoints.pending_count(session, key)
            severity = AlertSeverity.WARNING
            title = f"Endpoint failing: {name}"
            message = (
                f"The endpoint {name}{used_by} is failing since {since}: {circuit.last_error}; "
                f"{_plural(waiting, 'item')} waiting. Its items wait without spending attempts; a test delivery "
                f"goes in {int(circuit.wait_seconds)} s (the wait doubles up to "
                f"{int(self.policy.max_wait // 60)} min) and deliveries resume by themselves when it answers."
            )
        elif event == BreakerEvent.RECOVERED:
            waiting = endpoints.release_waiting(session, key, now)
            severity = AlertSeverity.INFORMATION
            title = f"Endpoint recovered: {name}"
            message = (
                f"The endpoint {name}{used_by} answers again (its circuit was open since "
                f"{_clock_time(circuit.opened_at, now)}); "
                f"{_plural(waiting, 'waiting item')} are being delivered."
            )
        else:
            endpoints.hold_waiting(session, key, None)
            waiting = endpoints.pending_count(session, key)
            severity = AlertSeverity.ERROR
            days = self.policy.pause_after / 86400
            title = f"Endpoint paused: {name}"
            message = (
                f"The endpoint {name}{used_by} has been failing since {_clock_time(circuit.opened_at, now)} "
                f"({days:g} days): {circuit.last_error}. Deliveries to it are paused; its "
                f"{_plural(waiting, 'item')} are kept. Resume it with 'shopctrl-desktop endpoints resume "
                f"{key}' once it works again."
            )
        alert_id = create_alert(session, severity, title, message, None, item.trigger_id, created_at=now)
        result.alerts.append((alert_id, severity.value, title))

    # ------------------------------------------------------------------------------------ after claiming
    def gate(
        self,
        session: Session,
        owner: str,
        items: list[claims.ClaimedItem],
        now: datetime,
        probe_lease: float,
        news: TurnNews,
    ) -> list[claims.ClaimedItem]:
        """The claimed items that may be sent; the others wait again (no attempt counted)."""
        blocked = self._blocked
        if not blocked or not items:
            return items
        groups: dict[str, list[claims.ClaimedItem]] = {}
        for item in items:
            key = endpoint_key(item.url)
            if key in blocked:
                groups.setdefault(key, []).append(item)
        if not groups:
            return items
        rows = endpoints.lock_rows(session, groups, create=False, now=now)
        held: dict[datetime | None, list[int]] = {}
        for key, group in groups.items():
            row = rows.get(key)
            circuit = endpoints.circuit_of(row)
            if row is None or not circuit.blocked:
                self._put(key, circuit)
                continue
            probing = take_probe(circuit, now, self.policy, probe_lease)
            if probing is not None:  # the first (highest priority, oldest) goes as the probe
                endpoints.store_circuit(row, probing, now)
                circuit, group = probing, group[1:]
                session.flush()
                endpoints.hold_waiting(session, key, hold_until(probing))
            self._put(key, circuit)
            if group:
                held.setdefault(hold_until(circuit), []).extend(item.id for item in group)
        if not held:
            return items
        for until, ids in held.items():
            claims.release_items(session, owner, ids, until or now)
            if until is None:
                session.query(QueueItemRow).filter(QueueItemRow.id.in_(ids)).update(
                    {QueueItemRow.next_attempt_at: None}, synchronize_session=False
                )
        gone = {item_id for ids in held.values() for item_id in ids}
        news.held += len(gone)
        return [item for item in items if item.id not in gone]


def _net_events(
    events: list[tuple[str, BreakerEvent, claims.ClaimedItem]],
    before: dict[str, Circuit],
    after: dict[str, Circuit],
) -> list[tuple[str, BreakerEvent, claims.ClaimedItem]]:
    """One event per endpoint for a turn, from where it was to where it is: a turn whose outcomes opened and
    closed a circuit again (an item sent earlier answered) raises nothing; closed -> open raises its opening,
    open -> closed its recovery; an automatic pause always."""
    last: dict[str, tuple[BreakerEvent, claims.ClaimedItem]] = {}
    paused: dict[str, claims.ClaimedItem] = {}
    for key, event, item in events:
        last[key] = (event, item)
        if event == BreakerEvent.AUTO_PAUSED:
            paused[key] = item
    net = []
    for key, (_event, item) in last.items():
        was, now = before[key].blocked, after[key].blocked
        if key in paused and after[key].paused:
            net.append((key, BreakerEvent.AUTO_PAUSED, paused[key]))
        elif not was and now:
            net.append((key, BreakerEvent.OPENED, item))
        elif was and not now:
            net.append((key, BreakerEvent.RECOVERED, item))
    return net
