"""Endpoint statistics as pure rules (SPEC §11, docs/endpoints.md "The Endpoints page"): which attempts count,
the latency buckets the per-minute rollup keeps, percentiles from those buckets, success rates.

The rollup (store/endpoint_stats.py) keeps, per endpoint and minute, how many attempts fell into each latency
bucket and how many of them failed. An attempt is **delivered** when the receiver answered 2xx; anything
else that made a request (no answer, timeout, 3xx, 4xx, 5xx) is a **failed** delivery. An attempt that made
no request (invalid configuration) is not counted: it says nothing about the endpoint.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

#: Upper bounds (ms) of the latency buckets; the last bucket holds everything slower. Roughly 1.5x apart, so
#: a percentile read from them is within about a quarter of the true value.
LATENCY_BOUNDS_MS: tuple[float, ...] = (
    5, 10, 15, 25, 40, 60, 100, 150, 250, 400, 600, 1000, 1500, 2500, 4000, 6000, 10000, 15000, 30000,
)  # fmt: skip
BUCKETS = len(LATENCY_BOUNDS_MS) + 1
#: The page looks back this far (the chart, the 24 h rate); the rollup keeps a little more.
DAY_MINUTES = 24 * 60
HOUR_MINUTES = 60
KEEP_MINUTES = 2 * DAY_MINUTES


def latency_bucket(duration_ms: float) -> int:
    """The bucket index of one attempt's duration."""
    return bisect_left(LATENCY_BOUNDS_MS, max(0.0, duration_ms))


def counts_as_attempt(permanent: bool) -> bool:
    """Only attempts that made a request count (``permanent``: invalid configuration, no request)."""
    return not permanent


def delivered(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def percentile(histogram: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of the durations counted in ``histogram`` (one count per bucket), read by
    linear interpolation inside its bucket; None when nothing was counted. The open last bucket reports its
    lower bound (``> 30 s`` is shown as 30 s)."""
    total = sum(histogram)
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            low = LATENCY_BOUNDS_MS[index - 1] if index > 0 else 0.0
            if index >= len(LATENCY_BOUNDS_MS):
                return float(low)
            high = LATENCY_BOUNDS_MS[index]
            return float(low + (high - low) * max(0.0, rank - seen) / count)
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])


@dataclass(frozen=True, slots=True)
class Rate:
    """Deliveries and failures over a window."""

    attempts: int = 0
    failures: int = 0

    @property
    def success(self) -> float | None:
        """Share of attempts delivered (0..1); None without attempts."""
        return None if self.attempts == 0 else (self.attempts - self.failures) / self.attempts

    def text(self) -> str:
        value = self.success
        if value is None:
            return "—"
        percent = value * 100
        # 99.96 % is not "100 %": a failure must never be rounded away
        shown = f"{percent:.0f}" if percent in (0.0, 100.0) or 1 <= percent <= 99 else f"{percent:.1f}"
        if shown == "100.0" or (shown == "100" and self.failures):
            shown = "99.9"
        return f"{shown} %"


def latency_text(ms: float | None) -> str:
    if ms is None:
        return "—"
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    return f"{ms:.0f} ms"


# ------------------------------------------------------------------------------------------- the state
#: The states a person reads (docs/endpoints.md "States"), most urgent first: the page and ``endpoints list``
#: sort by this order.
STATES: tuple[str, ...] = ("paused", "offline", "circuit open", "probing", "failing", "healthy")
#: "failing" from the success rate: fewer than this share of the last hour's attempts delivered ...
FAILING_BELOW = 0.5
#: ... counted once the hour has at least this many attempts (one failed test call is not an outage).
FAILING_MIN_ATTEMPTS = 3


def endpoint_state(
    circuit_label: str,
    last_hour: Rate,
    failed_last_hour: int,
    *,
    offline: bool = False,
    waiting: int = 0,
) -> str:
    """What the Endpoints page and ``endpoints list`` say about one endpoint.

    ``circuit_label`` is the breaker's view (domain/breaker.py ``Circuit.label``: healthy, failing, circuit
    open, probing, paused). The breaker only counts *consecutive* failures of the endpoint itself (no answer,
    5xx, 408, 429), so an endpoint that answers 410 Gone or 400 to most items stays "healthy" there; an admin
    calls it failing. So a closed circuit reads **failing** when, besides the breaker's own run of failures,
    most of the last hour's attempts were not delivered (fewer than half, at least 3 attempts) or an item of
    it failed for good in the last hour (``failed_last_hour``). While this workstation is **offline**
    (``offline``), an endpoint with ``waiting`` items reads "offline": they wait for the network, whatever
    its circuit says. A pause is a person's choice and always reads "paused"."""
    if circuit_label == "paused":
        return "paused"
    if offline and waiting > 0:
        return "offline"
    if circuit_label != "healthy":
        return circuit_label
    rate = last_hour.success
    mostly_failing = last_hour.attempts >= FAILING_MIN_ATTEMPTS and rate is not None and rate < FAILING_BELOW
    return "failing" if mostly_failing or failed_last_hour > 0 else "healthy"


def state_rank(state: str) -> int:
    """Sort key: the most urgent state first (:data:`STATES`)."""
    return STATES.index(state) if state in STATES else len(STATES)
