"""The circuit breaker on plain values: which answers count, open after N, probe waits doubling to 5 min,
recovery, auto-pause after 5 days, clock jumps, endpoint identity (no I/O, time passed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopctrl_desktop.domain.breaker import (
    BreakerEvent,
    BreakerPolicy,
    Circuit,
    CircuitState,
    Verdict,
    endpoint_key,
    host_variants,
    pause,
    probe_due,
    record,
    resume,
    take_probe,
    verdict,
)
from shopctrl_desktop.domain.outcome import AttemptResult
from shopctrl_desktop.domain.planner import host_of

T0 = datetime(2026, 12, 3, 10, 42, tzinfo=UTC)
POLICY = BreakerPolicy()
LEASE = 35.0
UP, DOWN = Verdict.UP, Verdict.DOWN


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def result(status: int | None = None, error: str | None = None, permanent: bool = False) -> AttemptResult:
    return AttemptResult(started_at=T0, duration_ms=1.0, status_code=status, error=error, permanent=permanent)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (result(200), UP),
        (result(204), UP),
        (result(302), UP),
        (result(400), UP),
        (result(404), UP),
        (result(410), UP),
        (result(408), DOWN),
        (result(429), DOWN),
        (result(500), DOWN),
        (result(503), DOWN),
        (result(None, "timed out after 30 s"), DOWN),
        (result(None, "connection refused"), DOWN),
        (result(None, "invalid configuration", permanent=True), Verdict.NONE),
    ],
)
def test_what_counts_as_a_failure(answer, expected):
    assert verdict(answer) is expected


def failures(circuit: Circuit, n: int, start: float = 0.0) -> tuple[Circuit, list[BreakerEvent]]:
    events = []
    for i in range(n):
        circuit, event = record(circuit, DOWN, at(start + i), POLICY, "HTTP 503 Service Unavailable")
        if event:
            events.append(event)
    return circuit, events


def test_five_consecutive_failures_open_the_circuit_once():
    c, events = failures(Circuit(), 4)
    assert c.state == CircuitState.CLOSED and c.consecutive_failures == 4 and not c.blocked and not events
    c, events = failures(c, 1, start=4)
    assert c.state == CircuitState.OPEN and c.blocked and events == [BreakerEvent.OPENED]
    assert c.failing_since == at(0) and c.opened_at == at(4) and c.next_probe_at == at(34)
    assert c.last_error == "HTTP 503 Service Unavailable"
    c, events = failures(c, 10, start=5)  # items sent before it opened: no second alert
    assert events == [] and c.state == CircuitState.OPEN


def test_a_success_in_between_resets_the_count():
    c, _ = failures(Circuit(), 4)
    c, event = record(c, UP, at(5), POLICY)
    assert c.consecutive_failures == 0 and c.failing_since is None and event is None
    c, events = failures(c, 4, start=6)
    assert not c.blocked and not events


def test_one_probe_after_30s_then_the_wait_doubles_up_to_5_minutes():
    c, _ = failures(Circuit(), 5)
    now = 4.0
    waits = []
    for _ in range(6):
        assert take_probe(c, at(now + c.wait_seconds - 1), POLICY, LEASE) is None  # not yet
        now += c.wait_seconds
        probing = take_probe(c, at(now), POLICY, LEASE)
        assert probing is not None and probing.state == CircuitState.HALF_OPEN
        assert take_probe(probing, at(now), POLICY, LEASE) is None  # one probe at a time
        waits.append(c.wait_seconds)
        c, event = record(probing, DOWN, at(now + 1), POLICY, "timed out")
        assert event is None and c.state == CircuitState.OPEN
        now += 1
    assert waits == [30, 60, 120, 240, 300, 300]


def test_a_successful_probe_closes_the_circuit_with_one_recovery():
    c, _ = failures(Circuit(), 5)
    probing = take_probe(c, at(34), POLICY, LEASE)
    assert probing is not None
    c, event = record(probing, UP, at(35), POLICY)
    assert event == BreakerEvent.RECOVERED and c.state == CircuitState.CLOSED and not c.blocked
    assert c.consecutive_failures == 0 and c.closed_at == at(35)


def test_a_probe_whose_engine_died_is_taken_again_after_its_lease():
    c, _ = failures(Circuit(), 5)
    probing = take_probe(c, at(34), POLICY, LEASE)
    assert probing is not None
    assert take_probe(probing, at(34 + LEASE - 1), POLICY, LEASE) is None
    assert take_probe(probing, at(34 + LEASE), POLICY, LEASE) is not None


def test_a_flapping_endpoint_does_not_start_again_at_30s():
    c, _ = failures(Circuit(), 5)
    probing = take_probe(c, at(34), POLICY, LEASE)
    c, _ = record(probing, UP, at(35), POLICY)  # answers the probe, then fails real items
    c, events = failures(c, 5, start=36)
    assert events == [BreakerEvent.OPENED] and c.wait_seconds == 60
    c2, _ = failures(record(take_probe(c, at(200), POLICY, LEASE), UP, at(201), POLICY)[0], 5, start=900)
    assert c2.wait_seconds == 30  # healthy for longer than 5 minutes: back to 30 s


def test_open_for_five_days_and_the_probe_fails_again_pauses_with_one_event():
    c, _ = failures(Circuit(), 5)
    day = 86400.0
    probing = take_probe(c, at(5 * day - 10), POLICY, LEASE)
    c, event = record(probing, DOWN, at(5 * day - 9), POLICY)
    assert event is None and not c.paused
    probing = take_probe(c, at(5 * day + 400), POLICY, LEASE)
    c, event = record(probing, DOWN, at(5 * day + 401), POLICY)
    assert event == BreakerEvent.AUTO_PAUSED and c.paused and c.blocked
    assert take_probe(c, at(6 * day), POLICY, LEASE) is None  # paused: no probes until resumed
    c = resume(c, at(6 * day))
    assert not c.blocked and c.consecutive_failures == 0 and c.state == CircuitState.CLOSED


def test_a_suspended_laptop_probes_before_it_pauses():
    """Asleep for a week with the circuit open: on wake-up a probe goes first; its success closes it."""
    c, _ = failures(Circuit(), 5)
    probing = take_probe(c, at(7 * 86400), POLICY, LEASE)
    assert probing is not None
    c, event = record(probing, UP, at(7 * 86400 + 1), POLICY)
    assert event == BreakerEvent.RECOVERED and not c.paused


def test_a_clock_that_went_back_does_not_strand_the_circuit():
    c, _ = failures(Circuit(), 5)
    assert probe_due(c, at(-3600), POLICY, LEASE)  # the clock went back an hour: probe now
    assert not probe_due(c, at(10), POLICY, LEASE)


def test_pause_and_resume_by_a_person():
    c = pause(Circuit(), at(0))
    assert c.paused and c.blocked and c.label == "paused"
    c, event = record(c, DOWN, at(1), POLICY)
    assert event is None
    assert take_probe(c, at(100), POLICY, LEASE) is None
    c = resume(c, at(2))
    assert not c.blocked and c.label == "healthy"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([UP, DOWN, "probe"]), st.floats(0, 600)), max_size=60))
def test_invariants_under_any_sequence(steps):
    """Whatever happens: at most one OPENED per run of failures, RECOVERED only after OPENED, a blocked
    circuit always has a probe time (or is paused), waits stay within 30 s .. 5 min."""
    c, now = Circuit(), 0.0
    open_events = recovered = 0
    for step, dt in steps:
        now += dt
        if step == "probe":
            c = take_probe(c, at(now), POLICY, LEASE) or c
            continue
        before = c
        c, event = record(c, step, at(now), POLICY)
        if event == BreakerEvent.OPENED:
            assert before.state == CircuitState.CLOSED and before.consecutive_failures == POLICY.failures - 1
            open_events += 1
        if event == BreakerEvent.RECOVERED:
            assert before.state != CircuitState.CLOSED
            recovered += 1
        if c.blocked and not c.paused:
            assert c.next_probe_at is not None
            assert POLICY.first_wait <= c.wait_seconds <= POLICY.max_wait
        assert open_events - recovered in (0, 1)


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://ERP.example.com/api/orders?x=1#top", "https://erp.example.com/api/orders"),
        ("https://user:pw@erp.example.com:443/api/orders", "https://erp.example.com/api/orders"),
        ("http://erp.example.com:80", "http://erp.example.com/"),
        ("http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"),
        ("http://[::1]:8080/hook", "http://[::1]:8080/hook"),
        (
            "HTTP://Erp.Example.com/api/Orders",
            "http://erp.example.com/api/Orders",
        ),  # paths are case-sensitive
    ],
)
def test_endpoint_identity(url, key):
    assert endpoint_key(url) == key
    assert host_of(url) in host_variants(key)


def test_two_urls_differing_only_in_the_query_are_one_endpoint():
    assert endpoint_key("https://erp/api?a=1") == endpoint_key("https://erp/api?a=2") == "https://erp/api"
    assert endpoint_key("https://erp/api") != endpoint_key("https://erp/api/v2")


def test_local_watch_suspects_an_endpoint_at_the_threshold_and_the_suspicion_lapses():
    from shopctrl_desktop.domain.breaker import LocalWatch

    watch = LocalWatch(5)
    assert [watch.note("erp", DOWN) for _ in range(5)] == [False] * 4 + [True]
    assert watch.note("erp", DOWN) is False and "erp" in watch.suspect  # once
    watch.turn_done()
    assert "erp" in watch.suspect
    watch.turn_done()
    assert "erp" not in watch.suspect  # the database's breaker decides from here
    watch.note("erp", UP)
    assert watch.counts == {} and watch.note("erp", Verdict.NONE) is False
    assert [watch.note("erp", DOWN) for _ in range(5)][-1] is True  # counting from zero again
