"""What one attempt's answer means for its item (SPEC 5.2), without any server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from shopctrl_desktop.domain.outcome import AttemptResult, decide, parse_retry_after
from shopctrl_desktop.domain.retry import RetryPolicy

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
POLICY = RetryPolicy()  # ShopCtrl default: linear 90 s x n, 10 retries


def answer(
    status: int | None, body: str = "", headers: dict[str, str] | None = None, error: str | None = None
):
    return AttemptResult(T0, 5.0, status, headers or {}, body, error)


def test_retry_after_seconds_date_and_cap():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(format_datetime(T0 + timedelta(minutes=5), usegmt=True), now=T0) == 300.0
    assert parse_retry_after("86400") == 3600.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_default_waits_are_linear_and_the_eleventh_attempt_gives_up():
    waits = [decide(answer(500), n, POLICY).delay_seconds for n in range(1, 11)]
    assert waits == [90.0 * n for n in range(1, 11)]
    final = decide(answer(500, "down"), 11, POLICY)
    assert final.status == "failed" and final.alert_reason == "gave up after 11 attempts (10 retries)"


def test_outcomes():
    assert decide(answer(204), 1, POLICY).status == "delivered"
    gone = decide(answer(410, "bye"), 1, POLICY)
    assert gone.status == "failed" and "410" in gone.alert_reason
    busy = decide(answer(503, "", {"retry-after": "1000"}), 1, POLICY)
    assert busy.status == "retrying" and busy.delay_seconds == 1000.0
    ignored = decide(answer(500, "", {"Retry-After": "1000"}), 1, POLICY)
    assert ignored.delay_seconds == 90.0  # Retry-After only counts on 429/503
    moved = decide(answer(302, "", {"Location": "https://x.example/new"}), 1, POLICY)
    assert moved.status == "retrying" and "https://x.example/new" in moved.message
    broken = decide(
        AttemptResult(T0, 0.0, error="invalid configuration: no private key found", permanent=True), 1, POLICY
    )
    assert broken.status == "failed" and broken.alert_reason


def test_summary_in_words():
    assert answer(500, "  database\n down ").summary() == "HTTP 500 Internal Server Error: database down"
    assert answer(None, error="connection refused by h:1").summary() == "connection refused by h:1"
    assert answer(299).summary() == "HTTP 299"
    assert answer(500, "x" * 1000).summary().endswith("…")
    # summaries of short bodies are kept per (status, body): the same answer twice reads the same, and
    # the body and status always come from the answer at hand
    assert answer(200, "ok").summary() == answer(200, "ok").summary() == "HTTP 200 OK: ok"
    assert answer(503, "ok").summary() == "HTTP 503 Service Unavailable: ok"
    assert answer(200, "ok\tthen").summary() == "HTTP 200 OK: ok then"
    assert answer(200, "y" * 150).summary(limit=20) == "HTTP 200 OK: " + "y" * 19 + "…"
    assert answer(200, "y" * 150).summary() == "HTTP 200 OK: " + "y" * 150
    moved = answer(301, "", {"Location": "https://a.example/"}).summary()
    assert moved == answer(301, "", {"Location": "https://a.example/"}).summary()
    assert "https://b.example/" in answer(301, "", {"Location": "https://b.example/"}).summary()
