"""Offline awareness (SPEC §11, docs/endpoints.md "Offline"): is this workstation's network gone? Pure: plain
values in, time passed in (``now``, monotonic seconds), so it is tested without clocks or sockets.

Two sources say so:

* **a burst of unreachable hosts**: within ``policy.window`` seconds, attempts to ``policy.hosts`` different
  hosts failed without any connection (:func:`reach_of`: refused, DNS lookup failed, network unreachable),
  and no attempt connected meanwhile. One dead receiver is not "offline" (the circuit breaker handles it);
  several hosts at once are. HTTP answers (any status) and timeouts after connecting say nothing against it:
  an HTTP answer means the network works, a timeout is ambiguous.
* **the operating system** (the desktop app's ``QNetworkInformation``): :meth:`OfflineDetector.reported`.

While offline no new item goes out except one **probe** at growing intervals (``first_probe`` doubling up to
``max_probe``); an attempt that fails unreachable meanwhile is given back to the queue without counting (the
workstation, not the receiver, is at fault). Any connection (an HTTP answer of any status), or the operating
system reporting the network back, ends it: deliveries resume at once.

So that a few receivers that are really down (while the network works) cannot hold everything back, each probe
skips the hosts whose probe failed unreachable (:meth:`OfflineDetector.probe_skips`); when every host with a
due item was tried, the round starts again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from shopctrl_desktop.domain.outcome import AttemptResult


class Reach(Enum):
    CONNECTED = "connected"  # an HTTP answer arrived: the network works
    UNREACHABLE = "unreachable"  # no connection at all: refused, DNS, network or host unreachable
    UNKNOWN = "unknown"  # timeouts, resets, TLS, configuration errors: says nothing either way


class Change(Enum):
    OFFLINE = "offline"
    ONLINE = "online"


def reach_of(result: AttemptResult) -> Reach:
    """What one attempt says about the network (the sender classifies its exception: ``unreachable``)."""
    if result.status_code is not None:
        return Reach.CONNECTED
    if result.unreachable:
        return Reach.UNREACHABLE
    return Reach.UNKNOWN


def machine_of(host: str) -> str:
    """The machine of a queue item's ``host`` ("erp.example.com:8443" -> "erp.example.com", "[::1]:80" ->
    "[::1]"): three receivers down on one server are that server, not this workstation being offline."""
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() and not name.endswith(":") else host


@dataclass(frozen=True, slots=True)
class OfflinePolicy:
    hosts: int = 3  # distinct unreachable hosts within the window: offline
    window: float = 10.0  # seconds
    first_probe: float = 5.0  # seconds offline before the first probe
    max_probe: float = 60.0  # the wait between probes doubles up to this

    def __post_init__(self) -> None:
        if self.hosts < 2:
            raise ValueError("offline detection needs at least 2 unreachable hosts (one is a dead receiver)")
        if self.window <= 0 or self.first_probe <= 0 or self.max_probe < self.first_probe:
            raise ValueError(
                "the offline window and probe waits must be positive, the longest at least the first"
            )

    @classmethod
    def from_settings(
        cls, hosts: float, window: float, first_probe: float, max_probe: float
    ) -> OfflinePolicy:
        """From settings.json as written by hand: out-of-range values are brought into range, never refused
        (a typo must not stop deliveries)."""
        first = max(0.05, float(first_probe))
        return cls(max(2, int(hosts)), max(0.05, float(window)), first, max(first, float(max_probe)))


class OfflineDetector:
    """The engine's one view of "offline"; every call passes the current monotonic time."""

    def __init__(self, policy: OfflinePolicy | None = None) -> None:
        self.policy = policy or OfflinePolicy()
        self._unreachable: dict[
            str, float
        ] = {}  # host -> last unreachable attempt (since the last connection)
        self._burst = False  # offline by the burst rule
        self._reported = False  # offline by the operating system
        self.since: float | None = None  # when it went offline
        self._next_probe = 0.0
        self._wait = 0.0
        self._probing = False
        self._skips: set[str] = set()  # hosts whose probe failed in this round

    @property
    def offline(self) -> bool:
        return self._burst or self._reported

    @property
    def watching(self) -> bool:
        """Whether a connection would change anything (offline, or unreachable hosts counted)."""
        return bool(self._unreachable) or self.offline

    @property
    def reported_by_system(self) -> bool:
        return self._reported

    # ------------------------------------------------------------------ what happened
    def note(self, host: str, reach: Reach, now: float, *, probe: bool = False) -> Change | None:
        """One attempt's outcome (``probe``: it was the offline probe) for a machine (:func:`machine_of`; the
        probe skips use the whole ``host``). Returns the change it caused."""
        if probe:
            self._probing = False
        if reach is Reach.CONNECTED:
            self._unreachable.clear()
            return self._online() if self.offline else None
        if reach is not Reach.UNREACHABLE:
            return None
        if probe:
            self._skips.add(host)
        self._unreachable[machine_of(host)] = now
        horizon = now - self.policy.window
        for name in [name for name, at in self._unreachable.items() if at < horizon]:
            del self._unreachable[name]
        if self._burst or len(self._unreachable) < self.policy.hosts:
            return None
        was_offline = self.offline
        self._burst = True
        return None if was_offline else self._offline(now)

    def reported(self, online: bool, now: float) -> Change | None:
        """The operating system's reachability: False when it says the network is gone."""
        if online:
            return self._online() if self.offline else None
        if self._reported:
            return None
        was_offline = self.offline
        self._reported = True
        return None if was_offline else self._offline(now)

    # ------------------------------------------------------------------ probing
    def probe_due(self, now: float) -> bool:
        return self.offline and not self._probing and now >= self._next_probe

    def probe_in(self, now: float) -> float | None:
        """Seconds until the next probe may go (None while online or while a probe is under way)."""
        if not self.offline or self._probing:
            return None
        return max(0.0, self._next_probe - now)

    def probe_taken(self, now: float) -> None:
        """A probe item goes now; the next one may go after the doubled wait."""
        self._probing = True
        self._plan_next(now)

    def nothing_to_probe(self, now: float, skipped: bool) -> None:
        """The probe claim found no item: try later; when hosts were skipped, the next round tries them all."""
        self._probing = False
        if skipped:
            self._skips.clear()
        self._plan_next(now)

    def probe_skips(self) -> frozenset[str]:
        """Hosts the next probe avoids (their probe failed unreachable in this round)."""
        return frozenset(self._skips)

    # ------------------------------------------------------------------ internals
    def _plan_next(self, now: float) -> None:
        self._wait = min(self.policy.max_probe, self._wait * 2) if self._wait else self.policy.first_probe
        self._next_probe = now + self._wait

    def _offline(self, now: float) -> Change:
        self.since = now
        self._wait = self.policy.first_probe
        self._next_probe = now + self._wait
        self._probing = False
        self._skips.clear()
        return Change.OFFLINE

    def _online(self) -> Change:
        self._burst = False
        self._reported = False
        self._unreachable.clear()
        self.since = None
        self._probing = False
        self._skips.clear()
        self._wait = 0.0
        return Change.ONLINE
