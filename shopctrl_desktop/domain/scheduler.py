"""Which claimed item is sent next, and when to claim more: the delivery engine's rules without I/O.

The engine (engine/delivery.py) claims due items from the database, sends them and records the outcomes;
this class decides everything in between, on plain values:

* **slots**: at most ``concurrency`` requests at once, at most ``per_host`` of them to one host;
* **claim-ahead**: up to ``PREFETCH`` items per slot are held (waiting for a slot or sending), so a
  database turn never leaves the slots idle and each turn moves a large group; the engine claims when at
  least a quarter of that room is free (or nothing is in hand), and never more than ``PREFETCH x per_host``
  items of one host (a slow host cannot fill the hand); a host that hit that cap is claimed for again as
  soon as one of its items ends;
* **strict priority**: waiting items are sent highest priority first, then oldest (id) — not in claim
  order. The scheduler also keeps a *ceiling*: the highest priority the database may still hold due for a
  host with room. After a full claim it is the lowest priority claimed (the claim takes the top items);
  after a short claim nothing is left; after a wake-up (new items, a retry timer, a poll) it is unknown.
  A waiting item below the ceiling is not sent: the engine claims first (even beyond the claim-ahead
  room), so a higher item that is still in the database overtakes the items claimed ahead.

* **circuit breakers**: items of an endpoint whose circuit is open or that is paused are not sent
  (domain/breaker.py decides, on the database's row; the claim gives them back in its transaction and
  :meth:`DeliveryScheduler.withdraw` takes those already in hand out when a circuit opens).

* **rate limits** (optional, per endpoint; domain/rate_limit.py): an item whose endpoint has no token left
  stays waiting in hand (no attempt spent) and lower items of other endpoints go first;
  :meth:`DeliveryScheduler.rate_wait` tells the engine when the next one may go. Without any limit
  (``rate_limits`` is None) the sending path is the plain one.

Items are anything with ``id``, ``host`` and ``priority`` (the store's ``ClaimedItem``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from shopctrl_desktop.domain.rate_limit import RateLimits

#: Items in hand (sending or waiting for a slot) per slot: enough that a database turn never leaves the
#: slots idle and each turn moves a large group (benchmarks/delivery.py: 2 -> 0.50, 4 -> 0.56 of the
#: bare-client ceiling), few enough that a waiting item is sent soon after its claim.
PREFETCH = 4

#: The ceiling when the database may hold anything (after a wake-up): every waiting item waits for a claim.
UNKNOWN = float("inf")
#: The ceiling when nothing more is due for a host with room.
NOTHING = float("-inf")


class Schedulable(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def host(self) -> str: ...
    @property
    def priority(self) -> int: ...


Item = TypeVar("Item", bound=Schedulable)


@dataclass(frozen=True, slots=True)
class ClaimPlan:
    """What to ask the database for: ``want`` items, no host beyond ``host_cap`` in hand."""

    want: int
    host_cap: int
    host_in_hand: dict[str, int]
    wakes: int  # wake-ups seen when the claim started: a later one makes its result incomplete


def _order(item: Schedulable) -> tuple[int, int]:
    return (-item.priority, item.id)


class DeliveryScheduler(Generic[Item]):
    def __init__(self, concurrency: int, per_host: int, prefetch: int = PREFETCH) -> None:
        self.concurrency = max(1, int(concurrency))
        self.per_host = max(1, int(per_host))
        self.max_active = prefetch * self.concurrency
        self.host_cap = prefetch * self.per_host
        self._threshold = max(1, self.max_active // 4)
        self._waiting: list[Item] = []  # claimed, not sent yet; priority DESC, then id
        self._sending = 0
        self._host_sending: Counter[str] = Counter()
        self._host_active: Counter[str] = Counter()  # waiting + sending, per host
        self._in_hand: dict[int, Item] = {}  # claimed, outcome not recorded yet
        self._capped: set[str] = set()  # hosts at their cap with items possibly left in the database
        self._wakes = 0
        self._recheck = False  # a wake-up came in while the last claim ran
        self.more_due = True
        self.ceiling = UNKNOWN
        self.rate_limits: RateLimits | None = None  # None: no endpoint is limited (the plain path)

    # ------------------------------------------------------------------ what is in hand
    @property
    def active(self) -> int:
        """Items waiting for a slot or being sent."""
        return len(self._waiting) + self._sending

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def sending(self) -> int:
        return self._sending

    @property
    def in_hand(self) -> int:
        """Items claimed whose outcome is not recorded yet (their leases are ours)."""
        return len(self._in_hand)

    def in_hand_ids(self) -> list[int]:
        return list(self._in_hand)

    # ------------------------------------------------------------------ claiming
    def wake(self) -> None:
        """Items may have come due (new ones, a retry's time, another process): claim before sending
        anything the database might outrank."""
        self._wakes += 1
        self.more_due = True
        self.ceiling = UNKNOWN

    def blocked(self) -> bool:
        """A slot is free and an item could use it, but the database may hold a higher one."""
        candidate = self._first_sendable()
        return candidate is not None and candidate.priority < self.ceiling

    def claim_plan(self, running: bool = True) -> ClaimPlan | None:
        """The claim to make now, or None. Claims ahead in groups (a quarter of the room at least); at
        once, beyond that room if need be, when an item waits only because of the ceiling or a wake-up
        came in while the last claim ran."""
        if not running or not self.more_due:
            return None
        room = self.max_active - self.active
        if self.rate_limits is not None:
            room += self._rate_limited_waiting()  # they wait for their limit: they leave room for others
        free = self.concurrency - self._sending
        if self.blocked() or (self._recheck and max(room, free) > 0):
            want = max(room, free, 1)
        elif room > 0 and (room >= self._threshold or self.active == 0):
            want = room
        else:
            return None
        return ClaimPlan(want, self.host_cap, dict(self._host_active), self._wakes)

    def claimed(self, plan: ClaimPlan, items: Sequence[Item]) -> None:
        """The claim of ``plan`` returned ``items`` (claim order: priority DESC, then id).

        A wake-up that came in while the claim ran is settled by the next claim, made at once; meanwhile
        the ceiling this claim found applies (keeping the wake-up's unknown ceiling until a claim without
        one returns would stop every send under a steady stream of new items)."""
        self.add(items)
        self._recheck = self._wakes != plan.wakes
        if len(items) >= plan.want:
            self.ceiling = min(item.priority for item in items)
            return
        self.ceiling = NOTHING
        if not self._recheck:
            self.more_due = False
        # A host that hit its cap in this claim may still have items due: claim again as soon as one of its
        # items ends (some may have ended while the claim ran).
        claimed = Counter(item.host for item in items)
        capped = {
            host
            for host in {*plan.host_in_hand, *claimed}
            if plan.host_in_hand.get(host, 0) + claimed[host] >= plan.host_cap
        }
        self._capped = {host for host in capped if self._host_active.get(host, 0) >= self.host_cap}
        if capped - self._capped:
            self.more_due = True

    def add(self, items: Iterable[Item]) -> None:
        """Items in hand to send (claimed, or kept by a stopping engine)."""
        fresh = list(items)
        if not fresh:
            return
        for item in fresh:
            self._in_hand[item.id] = item
            self._host_active[item.host] += 1
        self._waiting.extend(fresh)
        self._waiting.sort(key=_order)  # both runs already sorted: a merge

    # ------------------------------------------------------------------ sending
    def _first_sendable(self) -> Item | None:
        if self._sending >= self.concurrency:
            return None
        per_host = self.per_host
        host_sending = self._host_sending
        limits = self.rate_limits
        for item in self._waiting:
            if host_sending[item.host] < per_host:
                if limits is not None and not limits.had_token(item):
                    continue  # waits for its rate limit, not for a claim
                return item
        return None

    def next_to_send(self, now: float = 0.0) -> Item | None:
        """The highest waiting item (priority, then id) whose host has a free slot, taking that slot;
        None when no slot is free, nothing can go, or the database may hold a higher item (claim first).
        ``now`` (monotonic seconds) matters only while an endpoint is rate-limited."""
        if self._sending >= self.concurrency:
            return None
        if self.rate_limits is not None:
            return self._next_within_rate(self.rate_limits, now)
        per_host = self.per_host
        host_sending = self._host_sending
        for index, item in enumerate(self._waiting):
            if host_sending[item.host] < per_host:
                if item.priority < self.ceiling:
                    return None
                del self._waiting[index]
                host_sending[item.host] += 1
                self._sending += 1
                return item
        return None

    def _next_within_rate(self, limits: RateLimits, now: float) -> Item | None:
        """:meth:`next_to_send` while some endpoint is rate-limited: an item whose endpoint has no token now
        is passed over (it keeps its place and spends nothing); the one taken spends a token."""
        per_host = self.per_host
        host_sending = self._host_sending
        for index, item in enumerate(self._waiting):
            if host_sending[item.host] < per_host:
                bucket = limits.bucket_of(item)
                if bucket is not None and not bucket.ready(now):
                    continue
                if item.priority < self.ceiling:
                    return None
                if bucket is not None:
                    bucket.take(now)
                del self._waiting[index]
                host_sending[item.host] += 1
                self._sending += 1
                return item
        return None

    def set_rate_limits(
        self,
        limits: dict[str, float],
        key_of: Callable[[Any], str],
        host_variants: Callable[[str], tuple[str, ...]],
        now: float,
    ) -> None:
        """Requests per second per endpoint key (none: no limit). An endpoint whose limit changes keeps its
        bucket (a running engine picks a change up without a restart)."""
        if not limits:
            self.rate_limits = None
        elif self.rate_limits is None:
            self.rate_limits = RateLimits(limits, key_of, host_variants, now)
        else:
            self.rate_limits.update(limits, now)

    def _rate_limited_waiting(self) -> int:
        """Waiting items of rate-limited endpoints: they do not count against the claim-ahead room, so a slow
        limit cannot fill the hand and hold up other endpoints (their host's cap still bounds them)."""
        limits = self.rate_limits
        if limits is None:
            return 0
        return sum(1 for item in self._waiting if limits.bucket_of(item) is not None)

    def rate_wait(self, now: float) -> float | None:
        """Seconds (> 0) until a waiting item held back by its endpoint's rate limit may go; None when no item
        waits for a token (nothing limited; its host has no free slot: :meth:`sent` frees it; or its token is
        there and it waits for a claim: the claim wakes the workers — a timer for it would spin)."""
        limits = self.rate_limits
        if limits is None:
            return None
        soonest: float | None = None
        host_sending = self._host_sending
        for item in self._waiting:
            if host_sending[item.host] < self.per_host:
                bucket = limits.bucket_of(item)
                if bucket is None:
                    continue
                wait = bucket.wait(now)
                if wait > 0 and (soonest is None or wait < soonest):
                    soonest = wait
        return soonest

    def sent(self, item: Item) -> None:
        """The request of ``item`` is over (answered, failed or cancelled): its slot is free."""
        host = item.host
        self._sending -= 1
        self._host_sending[host] -= 1
        self._host_active[host] -= 1
        if host in self._capped:
            self._capped.discard(host)
            self.more_due = True
        if self._host_active[host] <= 0:
            del self._host_active[host]
            del self._host_sending[host]

    def recorded(self, ids: Iterable[int]) -> None:
        """The outcomes of these items are in the database: they leave the hand."""
        for item_id in ids:
            self._in_hand.pop(item_id, None)

    def withdraw(self, leaves: Callable[[Item], bool]) -> list[Item]:
        """Waiting items for which ``leaves(item)`` is true leave the hand unsent (their endpoint's circuit
        opened or it was paused: domain/breaker.py); the caller gives them back to the queue. Items being sent
        stay."""
        gone = [item for item in self._waiting if leaves(item)]
        if not gone:
            return []
        ids = {item.id for item in gone}
        self._waiting = [item for item in self._waiting if item.id not in ids]
        for item in gone:
            self._in_hand.pop(item.id, None)
            host = item.host
            self._host_active[host] -= 1
            if self._host_active[host] <= 0:
                del self._host_active[host]
                self._host_sending.pop(host, None)
            if host in self._capped:
                self._capped.discard(host)
                self.more_due = True
        return gone

    def probe_plan(self, avoid: Iterable[str] = ()) -> ClaimPlan:
        """Offline (domain/offline.py): a claim of one probe item, from none of the hosts in ``avoid``."""
        in_hand = dict(self._host_active)
        for host in avoid:
            in_hand[host] = self.host_cap
        return ClaimPlan(1, self.host_cap, in_hand, self._wakes)

    def drop_all(self) -> list[Item]:
        """Everything still in hand (a stopping engine gives it back); the scheduler is empty after."""
        left = list(self._in_hand.values())
        self._in_hand.clear()
        self._waiting.clear()
        return left
