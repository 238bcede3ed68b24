"""The per-endpoint rate limit (SPEC §11, docs/endpoints.md "Rate limit"): requests per second, for receivers
that throttle. Pure: the delivery scheduler (domain/scheduler.py) asks it, with ``now`` (seconds on any
monotonic clock), whether an endpoint's next item may start, and how long until it may.

A token bucket per endpoint: ``rate`` tokens a second, at most ``burst`` kept (1 by default: requests go
evenly spaced, ``1 / rate`` seconds apart, never in a burst). A request takes one token when it starts. In
any window of ``t`` seconds at most ``burst + rate * t`` requests start. Items over the limit stay in the
scheduler's hand: they spend no attempt while they wait.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

#: The limits a person may set (requests per second): one every 100 s up to 10,000 a second.
MIN_RATE = 0.01
MAX_RATE = 10_000.0


class RateLimitError(ValueError):
    """A rate a person typed that is not a usable limit (the message says why, in words)."""


def parse_rate(text: str | float) -> float:
    """A rate limit from a person: a number of requests per second between 0.01 and 10,000."""
    try:
        rate = float(str(text).strip().replace(",", "."))
    except ValueError:
        raise RateLimitError(
            f"'{text}' is not a number of requests per second (for example 20 or 0.5)"
        ) from None
    if not math.isfinite(rate) or rate <= 0:
        raise RateLimitError(
            "the rate limit must be a number of requests per second above 0 (use --off for no limit)"
        )
    if rate < MIN_RATE or rate > MAX_RATE:
        raise RateLimitError(
            f"the rate limit must be between {MIN_RATE:g} and {MAX_RATE:,.0f} requests per second"
        )
    return rate


def rate_text(rate: float | None) -> str:
    """``20/s``, ``0.5/s``, ``no limit`` — how lists and the page show a limit."""
    if rate is None:
        return "no limit"
    return f"{rate:g}/s"


class TokenBucket:
    """``rate`` tokens a second, at most ``burst``; starts full. ``now`` may go backwards (a clock set back,
    a test's clock): the time that went back is not counted, and waiting never exceeds ``1 / rate`` for one
    token because of it."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, now: float, burst: float = 1.0) -> None:
        self.rate = float(rate)
        self.burst = max(1.0, float(burst))
        self._tokens = self.burst
        self._last = now

    def _fill(self, now: float) -> None:
        elapsed = now - self._last
        self._last = now  # also when the clock went back: the bucket goes on from the new time
        if elapsed > 0:
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)

    def ready(self, now: float) -> bool:
        """Whether one request may start now (nothing is taken)."""
        self._fill(now)
        return self._tokens >= 1.0 - 1e-9

    def take(self, now: float) -> bool:
        """Take one token for a request starting now; False (nothing taken) when there is none."""
        if not self.ready(now):
            return False
        self._tokens = max(0.0, self._tokens - 1.0)
        return True

    def wait(self, now: float) -> float:
        """Seconds until one request may start (0: now)."""
        self._fill(now)
        missing = 1.0 - self._tokens
        return 0.0 if missing <= 1e-9 else missing / self.rate

    def had_token(self) -> bool:
        """Whether a token was left at the last time the bucket was asked (no clock needed)."""
        return self._tokens >= 1.0 - 1e-9

    def set_rate(self, rate: float) -> None:
        self.rate = float(rate)


class RateLimits:
    """The limited endpoints' buckets, for the scheduler. ``key_of(item)`` is an item's endpoint
    (domain/breaker.py ``endpoint_key`` of its URL); ``hosts`` are the ``host`` values the limited endpoints'
    items carry, so an item of any other host is let through without working out its endpoint."""

    def __init__(
        self,
        limits: Mapping[str, float],
        key_of: Callable[[Any], str],
        host_variants: Callable[[str], tuple[str, ...]],
        now: float,
    ) -> None:
        self._key_of = key_of
        self._host_variants = host_variants
        self.buckets: dict[str, TokenBucket] = {}
        self.hosts: frozenset[str] = frozenset()
        self.update(limits, now)

    def update(self, limits: Mapping[str, float], now: float) -> None:
        """New limits (a person changed one): a kept endpoint keeps its bucket at the new rate."""
        buckets: dict[str, TokenBucket] = {}
        for key, rate in limits.items():
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = TokenBucket(rate, now)
            else:
                bucket.set_rate(rate)
            buckets[key] = bucket
        self.buckets = buckets
        self.hosts = frozenset(host for key in buckets for host in self._host_variants(key))

    def limits(self) -> dict[str, float]:
        return {key: bucket.rate for key, bucket in self.buckets.items()}

    def had_token(self, item: Any) -> bool:
        """Whether ``item`` was free to go by its limit when last asked (True: not limited)."""
        bucket = self.bucket_of(item)
        return bucket is None or bucket.had_token()

    def bucket_of(self, item: Any) -> TokenBucket | None:
        if item.host not in self.hosts:
            return None
        return self.buckets.get(self._key_of(item))
