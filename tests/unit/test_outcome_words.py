"""Where a queue item stands, in words (domain/outcome.py is the one place for this wording)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shopctrl_desktop.domain.outcome import in_words, item_outcome, response_line

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_last_response_names_the_status_once():
    assert response_line(500, "HTTP 500 Internal Server Error") == "500 Internal Server Error"
    assert (
        response_line(503, "HTTP 503 Service Unavailable: try later") == "503 Service Unavailable: try later"
    )
    assert response_line(503, "Service Unavailable") == "503 Service Unavailable"  # rows from older versions
    assert response_line(404, None) == "404 Not Found"
    assert response_line(None, "connection refused") == "connection refused"
    assert response_line(None, None) == ""


def test_outcome_lines():
    assert (
        item_outcome("failed", 1, 11, status_code=410, message="HTTP 410 Gone")
        == "Gave up: 410 Gone, not retried"
    )
    assert (
        item_outcome("retrying", 2, 11, status_code=500, next_attempt_at=NOW + timedelta(seconds=18), now=NOW)
        == "Attempt 3 of 11, next in 18 s"
    )
    assert (
        item_outcome("failed", 11, 11, status_code=500, message="HTTP 500 Internal Server Error")
        == "Gave up after 11 attempts: 500 Internal Server Error"
    )
    assert item_outcome("delivered", 1, 11) == "Delivered on the first attempt"
    assert item_outcome("delivered", 3, 11) == "Delivered on attempt 3 of 11"
    assert (
        item_outcome("queued", 0, 11, next_attempt_at=NOW, now=NOW)
        == "Waiting for its first attempt, due now"
    )
    assert item_outcome("cancelled", 0, 11) == "Cancelled before it was sent; Retry now sends it again"


def test_waits_in_words():
    assert [in_words(s) for s in (0, 18.4, 59, 61, 3600, 3900)] == [
        "0 s",
        "18 s",
        "59 s",
        "1 min",
        "1 h",
        "1 h 5 min",
    ]
