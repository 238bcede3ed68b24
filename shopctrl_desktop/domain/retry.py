"""The retry policy as a value object: attempt number + outcome -> next wait, or give up."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

RETRY_AFTER_CAP_SECONDS = 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait before retry n (n = 1 after the first failed attempt).

    ``linear``: ``base_seconds * n`` (ShopCtrl: 90 s, 180 s, 270 s …).
    ``exponential``: ``base_seconds * 2**(n-1)`` with up to ``jitter`` (fraction) random spread, capped.
    ``custom``: ``delays[n-1]``; the last value repeats.
    """

    kind: str = "linear"
    base_seconds: float = 90.0
    max_retries: int = 10
    delays: tuple[float, ...] = ()
    jitter: float = 0.2
    cap_seconds: float = 6 * 3600.0

    def __post_init__(self) -> None:
        if self.kind not in ("linear", "exponential", "custom"):
            raise ValueError(f"retry policy kind must be linear, exponential or custom, not {self.kind!r}")
        if self.kind == "custom" and not self.delays:
            raise ValueError("a custom retry policy needs at least one delay")
        if self.max_retries < 0:
            raise ValueError("max_retries must not be negative")

    def should_retry(self, attempts_made: int) -> bool:
        """``attempts_made`` counts the first attempt too; retries = attempts_made - 1."""
        return attempts_made - 1 < self.max_retries

    def delay(self, retry_number: int, *, rng: random.Random | None = None) -> float:
        n = max(1, retry_number)
        if self.kind == "custom":
            return float(self.delays[min(n, len(self.delays)) - 1])
        if self.kind == "linear":
            return min(self.base_seconds * n, self.cap_seconds)
        raw = min(self.base_seconds * (2 ** (n - 1)), self.cap_seconds)
        spread = raw * self.jitter
        return max(0.0, raw + (rng or random).uniform(-spread, spread))

    def next_delay(self, attempts_made: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait after ``attempts_made`` attempts (of this round: :func:`attempts_this_round`), or
        None when the item should give up."""
        if not self.should_retry(attempts_made):
            return None
        wait = self.delay(attempts_made)
        if retry_after is not None:
            wait = max(wait, min(retry_after, RETRY_AFTER_CAP_SECONDS))
        return wait

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "baseSeconds": self.base_seconds,
            "maxRetries": self.max_retries,
            "delays": list(self.delays),
            "jitter": self.jitter,
            "capSeconds": self.cap_seconds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RetryPolicy:
        return cls(
            kind=data.get("kind", "linear"),
            base_seconds=float(data.get("baseSeconds", 90.0)),
            max_retries=int(data.get("maxRetries", 10)),
            delays=tuple(float(x) for x in data.get("delays", ())),
            jitter=float(data.get("jitter", 0.2)),
            cap_seconds=float(data.get("capSeconds", 6 * 3600.0)),
        )


def attempts_this_round(attempts_made: int, round_start: int = 0) -> int:
    """The attempts the retry policy counts: those since the last manual retry.

    A manual "Retry" of an item starts its retry schedule afresh (the first try, then ``max_retries`` more,
    the waits growing from the first again), as an admin expects; the item's attempt count and its attempt
    log keep counting on. ``round_start`` is the number of attempts the item had made when it was retried
    by hand (0 for an item never retried by hand).
    """
    return max(1, attempts_made - max(0, round_start))
