"""The per-endpoint circuit breaker (SPEC §11) as a pure state machine: plain values in, plain values out,
time always passed in (``now``), so it is tested without clocks or I/O.

An **endpoint** is one destination URL without its query: scheme, host, port and path
(:func:`endpoint_key`). Two actions posting to the same URL share one endpoint.

States (docs/endpoints.md):

* **closed** — items go as usual. Each attempt that counts as a failure (:func:`verdict`: no answer,
  timeout, 5xx, 408, 429) adds one to ``consecutive_failures``; any other answer resets it. At
  ``policy.failures`` in a row the circuit **opens** (event ``OPENED``: one Warning alert).
* **open** — the endpoint's items wait without spending attempts until ``next_probe_at``.
* **half-open** — one item (the probe) is sent; everyone else keeps waiting. Its success closes the
  circuit (event ``RECOVERED``: one Information alert); its failure opens it again with the wait doubled
  (30 s, 60 s, … up to 5 min). Open for ``policy.pause_after`` seconds and a probe fails again: the
  endpoint is **paused** (event ``AUTO_PAUSED``: one Error alert); its items are kept.
* **paused** (a flag beside the state) — by a person or by the breaker: items wait until someone resumes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum, StrEnum
from functools import lru_cache
from urllib.parse import urlsplit

from shopctrl_desktop.domain.outcome import AttemptResult

_DEFAULT_PORTS = {"http": 80, "https": 443}


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Verdict(Enum):
    UP = "up"  # the endpoint answered (2xx, or an answer about the item: 3xx, 4xx other than 408/429)
    DOWN = "down"  # no answer, timeout, 5xx, 408, 429
    NONE = "none"  # no request was made (invalid configuration): says nothing about the endpoint


class BreakerEvent(StrEnum):
    OPENED = "opened"
    RECOVERED = "recovered"
    AUTO_PAUSED = "autoPaused"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failures: int = 5  # consecutive failed attempts that open the circuit
    first_wait: float = 30.0  # seconds before the first probe
    max_wait: float = 300.0  # the wait doubles up to this
    pause_after: float = 5 * 86400.0  # open this long (and the probe still fails): paused

    def __post_init__(self) -> None:
        if self.failures < 1:
            raise ValueError("the circuit breaker needs at least 1 failure to open")
        if self.first_wait <= 0 or self.max_wait < self.first_wait:
            raise ValueError("the probe waits must be positive, the longest at least the first")


@dataclass(frozen=True, slots=True)
class Circuit:
    """One endpoint's breaker state (the ``endpoints`` row, store/endpoints.py)."""

    state: CircuitState = CircuitState.CLOSED
    consecutive_failures: int = 0
    failing_since: datetime | None = None  # first failure of the current run of failures
    opened_at: datetime | None = None
    next_probe_at: datetime | None = None  # open: when a probe may go; half-open: when the probe is overdue
    wait_seconds: float = 0.0  # the wait before the current/last probe
    closed_at: datetime | None = None  # last recovery
    paused: bool = False
    paused_at: datetime | None = None
    last_error: str | None = None

    @property
    def blocked(self) -> bool:
        """Items of this endpoint wait (no attempt is spent)."""
        return self.paused or self.state != CircuitState.CLOSED

    @property
    def needs_attention(self) -> bool:
        """A success must be recorded for it (it is counting failures, or not closed)."""
        return self.blocked or self.consecutive_failures > 0

    @property
    def label(self) -> str:
        """What a person reads: healthy, failing, circuit open, probing, paused."""
        if self.paused:
            return "paused"
        if self.state == CircuitState.OPEN:
            return "circuit open"
        if self.state == CircuitState.HALF_OPEN:
            return "probing"
        return "failing" if self.consecutive_failures else "healthy"


def verdict(result: AttemptResult) -> Verdict:
    """What one attempt says about its endpoint (domain/outcome.py's AttemptResult)."""
    if result.permanent:
        return Verdict.NONE
    code = result.status_code
    if code is None:
        return Verdict.DOWN  # connection refused, DNS, TLS, timeout, reset
    if code >= 500 or code in (408, 429):
        return Verdict.DOWN
    return Verdict.UP


def _next_wait(circuit: Circuit, now: datetime, policy: BreakerPolicy) -> float:
    """The wait before the first probe of a new opening: 30 s, unless the circuit recovered less than
    ``max_wait`` ago (a flapping endpoint): then the last wait doubled."""
    recent = circuit.closed_at is not None and (now - circuit.closed_at).total_seconds() < policy.max_wait
    if recent and circuit.wait_seconds > 0:
        return min(circuit.wait_seconds * 2, policy.max_wait)
    return policy.first_wait


def record(
    circuit: Circuit, seen: Verdict, now: datetime, policy: BreakerPolicy, error: str | None = None
) -> tuple[Circuit, BreakerEvent | None]:
    """One attempt's verdict, in the order the attempts finished."""
    if seen is Verdict.NONE:
        return circuit, None
    if seen is Verdict.UP:
        if circuit.state == CircuitState.CLOSED:
            if circuit.consecutive_failures == 0:
                return circuit, None
            return replace(circuit, consecutive_failures=0, failing_since=None), None
        # half-open probe answered (or an item sent before the circuit opened): the endpoint is back
        closed = replace(
            circuit,
            state=CircuitState.CLOSED,
            consecutive_failures=0,
            failing_since=None,
            next_probe_at=None,
            closed_at=now,
        )
        return closed, (BreakerEvent.RECOVERED if not circuit.paused else None)
    failures = circuit.consecutive_failures + 1
    failed = replace(
        circuit,
        consecutive_failures=failures,
        failing_since=circuit.failing_since or now,
        last_error=error or circuit.last_error,
    )
    if circuit.state == CircuitState.CLOSED:
        if failures < policy.failures:
            return failed, None
        wait = _next_wait(circuit, now, policy)
        opened = replace(
            failed,
            state=CircuitState.OPEN,
            opened_at=now,
            wait_seconds=wait,
            next_probe_at=now + timedelta(seconds=wait),
        )
        return opened, (BreakerEvent.OPENED if not circuit.paused else None)
    if circuit.state == CircuitState.OPEN:
        return failed, None  # an item sent before the circuit opened: nothing new
    # half-open: the probe failed
    opened_at = circuit.opened_at or now
    if not circuit.paused and (now - opened_at).total_seconds() >= policy.pause_after:
        paused = replace(
            failed,
            state=CircuitState.OPEN,
            paused=True,
            paused_at=now,
            next_probe_at=None,
            opened_at=opened_at,
        )
        return paused, BreakerEvent.AUTO_PAUSED
    wait = min(max(circuit.wait_seconds, policy.first_wait) * 2, policy.max_wait)
    reopened = replace(
        failed,
        state=CircuitState.OPEN,
        opened_at=opened_at,
        wait_seconds=wait,
        next_probe_at=now + timedelta(seconds=wait),
    )
    return reopened, None


def probe_due(circuit: Circuit, now: datetime, policy: BreakerPolicy, probe_lease: float) -> bool:
    """Whether a probe may go now. A probe time further ahead than any wait this breaker sets means the
    clock went back (suspend/resume, a corrected clock): the probe is due at once rather than stuck."""
    if circuit.paused or circuit.state == CircuitState.CLOSED:
        return False
    at = circuit.next_probe_at
    if at is None or at <= now:
        return True
    return (at - now).total_seconds() > max(policy.max_wait, probe_lease) + 1.0


def take_probe(circuit: Circuit, now: datetime, policy: BreakerPolicy, probe_lease: float) -> Circuit | None:
    """The circuit with a probe under way (half-open until ``now + probe_lease``: if the probing engine
    dies, another probe goes after that), or None when no probe may go now."""
    if not probe_due(circuit, now, policy, probe_lease):
        return None
    return replace(circuit, state=CircuitState.HALF_OPEN, next_probe_at=now + timedelta(seconds=probe_lease))


def pause(circuit: Circuit, now: datetime) -> Circuit:
    return circuit if circuit.paused else replace(circuit, paused=True, paused_at=now)


def resume(circuit: Circuit, now: datetime) -> Circuit:
    """Resumed by a person: closed, counting from zero (the first failures will open it again)."""
    return replace(
        circuit,
        state=CircuitState.CLOSED,
        paused=False,
        paused_at=None,
        consecutive_failures=0,
        failing_since=None,
        opened_at=None,
        next_probe_at=None,
        wait_seconds=0.0,
        closed_at=now if circuit.blocked else circuit.closed_at,
    )


def hold_until(circuit: Circuit) -> datetime | None:
    """When the waiting items of a blocked endpoint are due again: the next probe time; None (no time, until
    resumed) when paused."""
    return None if circuit.paused else circuit.next_probe_at


@lru_cache(maxsize=4096)
def endpoint_key(url: str) -> str:
    """The endpoint of a URL: ``scheme://host[:port]/path`` — lower-case scheme and host, no credentials,
    no default port, no query or fragment; an empty path is ``/``. Unparsable URLs are their own key."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = parts.netloc.rpartition("@")[2].lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1]
    else:
        host = host.partition(":")[0]
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host += f":{port}"
    return f"{scheme}://{host}{parts.path or '/'}"


def host_variants(key: str) -> tuple[str, ...]:
    """The ``host`` values (domain/planner.py ``host_of``: ``netloc`` lower case) its items can carry."""
    try:
        parts = urlsplit(key)
    except ValueError:
        return (key,)
    netloc = parts.netloc
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is not None and not netloc.endswith("]") and ":" not in netloc:
        return (netloc, f"{netloc}:{default}")
    if default is not None and netloc.endswith("]"):
        return (netloc, f"{netloc}:{default}")
    return (netloc,)


def short_name(key: str) -> str:
    """``erp.example.com/api/orders`` — how alerts and lists name an endpoint."""
    return key.split("://", 1)[-1]


class LocalWatch:
    """One engine's own count of consecutive failures per endpoint, kept in memory between two database turns.

    The breaker's state lives in the database and is updated once per turn; meanwhile the engine's workers
    would go on sending the items it claimed ahead for a dying endpoint. When this engine alone has seen
    ``failures`` in a row, the endpoint is *suspect*: its items in hand go back unsent until the database turn
    that records these failures has decided (for at most ``turns`` turns — a suspicion never blocks on its
    own: the database's breaker does)."""

    def __init__(self, failures: int, turns: int = 2) -> None:
        self.failures = max(1, failures)
        self.turns = turns
        self.counts: dict[str, int] = {}
        self.suspect: dict[str, int] = {}  # key -> the turn it became suspect in
        self._turn = 0

    def note(self, key: str, seen: Verdict) -> bool:
        """One attempt's verdict; True when ``key`` just became suspect."""
        if seen is Verdict.NONE:
            return False
        if seen is Verdict.UP:
            self.counts.pop(key, None)
            self.suspect.pop(key, None)
            return False
        n = self.counts.get(key, 0) + 1
        self.counts[key] = n
        if n >= self.failures and key not in self.suspect:
            self.suspect[key] = self._turn
            return True
        return False

    def turn_done(self) -> None:
        """A database turn ended: suspicions older than ``turns`` turns lapse (the database has decided)."""
        self._turn += 1
        if self.suspect:
            self.suspect = {k: t for k, t in self.suspect.items() if self._turn - t < self.turns}
