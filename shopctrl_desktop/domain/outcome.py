"""One delivery attempt's result and what it means for the queue item (SPEC 5.2).

2xx delivered; 3xx fails with its Location in the message (redirects are never followed); 410 stops at
once; 429/503 with Retry-After wait at least that long (capped at 1 hour); anything else retries per the
RetryPolicy until it gives up.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from http import HTTPStatus
from typing import NamedTuple

from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.domain.retry import RETRY_AFTER_CAP_SECONDS, RetryPolicy, attempts_this_round

#: How much of a response body is kept in the attempt log.
BODY_LIMIT = 64 * 1024
_PHRASES = {int(status): status.phrase for status in HTTPStatus}
#: Longest body start in a summary (queue table, alerts).
SUMMARY_LIMIT = 300


@dataclass(slots=True)
class AttemptResult:
    """One attempt's outcome. Treated as immutable once made: it is handed from the loop thread to the
    database thread and to observers (a plain slotted class: ~3x cheaper to create than a frozen one,
    which counts at thousands of deliveries a second)."""

    started_at: datetime
    duration_ms: float
    status_code: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None
    error: str | None = None  # in words, when no HTTP answer arrived
    #: the request could not be made at all and retrying cannot help (invalid configuration)
    permanent: bool = False
    #: no connection could be made at all (refused, DNS lookup failed, network or host unreachable): evidence
    #: for offline awareness (domain/offline.py), set by the sender's classification of the failure
    unreachable: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def header(self, name: str) -> str | None:
        lower = name.lower()
        for key, value in self.response_headers.items():
            if key.lower() == lower:
                return value
        return None

    @property
    def retry_after(self) -> float | None:
        if self.status_code not in (429, 503):
            return None
        return parse_retry_after(self.header("Retry-After"), now=self.started_at)

    def summary(self, limit: int = SUMMARY_LIMIT) -> str:
        """One line for the queue table and alerts: "HTTP 500 Internal Server Error: <body start>"."""
        if self.status_code is None:
            return self.error or "no answer"
        if 300 <= self.status_code < 400:
            text = _status_text(self.status_code)
            location = self.header("Location")
            target = f" to {location}" if location else " (no Location header)"
            return f"{text}: redirected{target}; redirects are not followed, update the URL"
        body = self.response_body or ""
        if limit == SUMMARY_LIMIT and len(body) <= _SUMMARY_CACHE_BODY:
            # receivers tend to answer the same short body every time ("ok", {"received": true})
            return _cached_summary(self.status_code, body)
        return _summary(self.status_code, body, limit)


_SUMMARY_CACHE_BODY = 200


def _status_text(status_code: int) -> str:
    phrase = _PHRASES.get(status_code)
    return f"HTTP {status_code} {phrase}" if phrase else f"HTTP {status_code}"


@lru_cache(maxsize=512)
def _cached_summary(status_code: int, body: str) -> str:
    return _summary(status_code, body, SUMMARY_LIMIT)


def _summary(status_code: int, body: str, limit: int) -> str:
    text = _status_text(status_code)
    body = " ".join(body.split())
    if body:
        text += ": " + (body if len(body) <= limit else body[: limit - 1] + "…")
    return text


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped at one hour."""
    if not value:
        return None
    value = value.strip()
    seconds: float | None
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, min(seconds, RETRY_AFTER_CAP_SECONDS))


class Decision(NamedTuple):
    status: ItemStatus  # delivered, retrying or failed
    delay_seconds: float | None  # when retrying
    message: str  # response message for the item
    alert_reason: str | None = None  # set when the item failed for good


def decide(result: AttemptResult, attempts_made: int, policy: RetryPolicy, round_start: int = 0) -> Decision:
    """The item's fate after its ``attempts_made``-th attempt (the first attempt is 1). ``round_start``: the
    attempts made before the item was last retried by hand — the policy counts from there
    (:func:`~shopctrl_desktop.domain.retry.attempts_this_round`)."""
    message = result.summary()
    if result.ok:
        return Decision(ItemStatus.DELIVERED, None, message)
    if result.permanent:
        return Decision(ItemStatus.FAILED, None, message, "the webhook action's configuration is invalid")
    if result.status_code == 410:
        return Decision(
            ItemStatus.FAILED, None, message, "the receiver answered 410 Gone, so no more retries are made"
        )
    counted = attempts_this_round(attempts_made, round_start) if round_start else attempts_made
    delay = policy.next_delay(counted, result.retry_after)
    if delay is None:
        retries = max(0, counted - 1)
        reason = f"gave up after {counted} attempt{'s' if counted != 1 else ''}"
        reason += f" ({retries} retr{'ies' if retries != 1 else 'y'})"
        if round_start:
            reason += " since it was retried by hand"
        return Decision(ItemStatus.FAILED, None, message, reason)
    return Decision(ItemStatus.RETRYING, delay, message)


# -- in words, for the queue detail pane (one place for the wording) ------------------------------------------


def status_phrase(status_code: int) -> str:
    """ "500 Internal Server Error" (the code alone when it has no standard phrase)."""
    phrase = _PHRASES.get(status_code)
    return f"{status_code} {phrase}" if phrase else str(status_code)


def response_line(status_code: int | None, message: str | None) -> str:
    """The last answer in one line: "500 Internal Server Error: <body start>", never "500 HTTP 500 …".

    ``message`` is what :meth:`AttemptResult.summary` stored ("HTTP 500 Internal Server Error: …") or, for
    older rows, the bare reason phrase."""
    if status_code is None:
        return message or ""
    if not message:
        return status_phrase(status_code)
    prefix = f"HTTP {status_code}"
    if message.startswith(prefix):
        return f"{status_code}{message[len(prefix) :]}"
    return f"{status_code} {message}"


def in_words(seconds: float) -> str:
    """A wait in words: "18 s", "3 min", "2 h 5 min"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def item_outcome(
    status: str,
    attempts: int,
    max_attempts: int,
    *,
    status_code: int | None = None,
    message: str | None = None,
    next_attempt_at: datetime | None = None,
    now: datetime | None = None,
) -> str:
    """Where a queue item stands, in one line: "Gave up: 410 Gone, not retried", "Attempt 3 of 11, next in
    18 s", "Delivered on attempt 2". ``status`` is an :class:`ItemStatus` value; ``attempts`` those made."""
    now = now or datetime.now(UTC)
    total = max(max_attempts, attempts)
    if status == ItemStatus.DELIVERED.value:
        return (
            f"Delivered on attempt {attempts} of {total}"
            if attempts > 1
            else "Delivered on the first attempt"
        )
    if status == ItemStatus.FAILED.value:
        if status_code == 410:
            return "Gave up: 410 Gone, not retried"
        answer = response_line(status_code, message) or "no answer"
        if attempts >= max_attempts:
            return f"Gave up after {attempts} attempt{'s' if attempts != 1 else ''}: {answer}"
        return f"Failed, not retried: {answer}"
    if status == ItemStatus.CANCELLED.value:
        made = (
            f" after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts else " before it was sent"
        )
        return f"Cancelled{made}; Retry now sends it again"
    if status == ItemStatus.SENDING.value:
        return f"Sending attempt {attempts + 1} of {max(total, attempts + 1)}"
    when = ""
    if next_attempt_at is not None:
        wait = (next_attempt_at - now).total_seconds()
        when = f", next in {in_words(wait)}" if wait >= 1 else ", due now"
    if status == ItemStatus.RETRYING.value or attempts:
        return f"Attempt {attempts + 1} of {max(total, attempts + 1)}{when}"
    return f"Waiting for its first attempt{when}"
