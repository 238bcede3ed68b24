"""The offline rule (domain/offline.py), pure: time passed in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shopctrl_desktop.domain.offline import (
    Change,
    OfflineDetector,
    OfflinePolicy,
    Reach,
    machine_of,
    reach_of,
)
from shopctrl_desktop.domain.outcome import AttemptResult

T0 = datetime(2026, 12, 3, 10, 42, tzinfo=UTC)
DOWN, UP, MEH = Reach.UNREACHABLE, Reach.CONNECTED, Reach.UNKNOWN


def test_reach_of_an_attempt():
    assert reach_of(AttemptResult(T0, 1.0, status_code=503)) is UP  # an answer, even a failing one
    assert reach_of(AttemptResult(T0, 1.0, status_code=200)) is UP
    assert reach_of(AttemptResult(T0, 1.0, error="connection refused", unreachable=True)) is DOWN
    assert reach_of(AttemptResult(T0, 1.0, error="timed out after 30 s")) is MEH
    assert reach_of(AttemptResult(T0, 0.0, error="invalid configuration", permanent=True)) is MEH


def test_three_hosts_unreachable_within_the_window_is_offline():
    d = OfflineDetector()
    assert d.note("a", DOWN, 0.0) is None
    assert d.note("a", DOWN, 1.0) is None  # the same host again: one dead receiver
    assert d.note("b", DOWN, 2.0) is None
    assert not d.offline
    assert d.note("c", DOWN, 3.0) is Change.OFFLINE
    assert d.offline and d.since == 3.0
    assert d.note("d", DOWN, 3.5) is None  # already offline: said once


def test_failures_outside_the_window_or_before_a_connection_do_not_count():
    d = OfflineDetector(OfflinePolicy(window=10.0))
    d.note("a", DOWN, 0.0)
    d.note("b", DOWN, 1.0)
    assert d.note("c", DOWN, 10.5) is None  # "a" is older than 10 s
    d2 = OfflineDetector()
    d2.note("a", DOWN, 0.0)
    d2.note("b", DOWN, 1.0)
    d2.note("x", UP, 1.5)  # something connected meanwhile: the network works
    assert d2.note("c", DOWN, 2.0) is None
    d3 = OfflineDetector()
    d3.note("a", DOWN, 0.0)
    d3.note("b", DOWN, 1.0)
    d3.note("x", MEH, 1.5)  # a timeout says nothing either way
    assert d3.note("c", DOWN, 2.0) is Change.OFFLINE


def test_thresholds_are_settings():
    d = OfflineDetector(OfflinePolicy(hosts=2))
    d.note("a", DOWN, 0.0)
    assert d.note("b", DOWN, 0.1) is Change.OFFLINE
    with pytest.raises(ValueError):
        OfflinePolicy(hosts=1)
    with pytest.raises(ValueError):
        OfflinePolicy(first_probe=10, max_probe=5)
    # settings.json written by hand: brought into range, never refused
    assert OfflinePolicy.from_settings(1, 0, 10, 5) == OfflinePolicy(
        hosts=2, window=0.05, first_probe=10, max_probe=10
    )


def offline(policy: OfflinePolicy | None = None) -> OfflineDetector:
    d = OfflineDetector(policy)
    for n, host in enumerate("abc"):
        d.note(host, DOWN, float(n))
    assert d.offline
    return d


def test_probes_at_growing_intervals_one_at_a_time():
    d = offline(OfflinePolicy(first_probe=5.0, max_probe=60.0))  # offline at t=2
    assert not d.probe_due(6.9) and d.probe_in(6.0) == pytest.approx(1.0)
    times = []
    now = 7.0
    for _ in range(7):
        assert d.probe_due(now)
        d.probe_taken(now)
        assert not d.probe_due(now + 1000) and d.probe_in(now) is None  # one probe under way
        assert d.note("a", DOWN, now + 0.1, probe=True) is None  # it failed unreachable
        times.append(now)
        now += d.probe_in(now + 0.1) + 0.1
    waits = [round(b - a, 1) for a, b in zip(times, times[1:], strict=False)]
    assert waits == [10.0, 20.0, 40.0, 60.0, 60.0, 60.0]


def test_any_connection_ends_offline_at_once():
    d = offline()
    d.probe_taken(10.0)
    assert d.note("z", UP, 10.2, probe=True) is Change.ONLINE
    assert not d.offline and d.since is None and d.probe_in(11.0) is None
    # and the counting starts afresh
    assert d.note("a", DOWN, 12.0) is None and d.note("b", DOWN, 12.1) is None
    assert d.note("c", DOWN, 12.2) is Change.OFFLINE


def test_a_probe_that_neither_connects_nor_is_refused_frees_the_next_probe():
    d = offline()
    d.probe_taken(10.0)
    assert d.note("a", MEH, 12.0, probe=True) is None
    assert d.offline and d.probe_in(12.0) is not None


def test_probes_skip_hosts_whose_probe_failed_until_every_host_was_tried():
    d = offline()
    d.probe_taken(10.0)
    d.note("a", DOWN, 10.1, probe=True)
    d.probe_taken(20.0)
    d.note("b", DOWN, 20.1, probe=True)
    assert d.probe_skips() == {"a", "b"}
    d.nothing_to_probe(40.0, skipped=True)  # only skipped hosts have items: the next round tries them all
    assert d.probe_skips() == frozenset()


def test_the_system_report():
    d = OfflineDetector()
    assert d.reported(True, 0.0) is None  # online and said so: nothing changes
    assert d.reported(False, 1.0) is Change.OFFLINE
    assert d.offline and d.reported_by_system
    assert d.reported(False, 2.0) is None
    assert d.reported(True, 3.0) is Change.ONLINE and not d.offline
    # the system says offline while the burst rule already did: one change only
    b = offline()
    assert b.reported(False, 5.0) is None
    assert b.reported(True, 6.0) is Change.ONLINE


def test_hosts_are_machines_not_ports():
    d = OfflineDetector()
    d.note("erp.example.com:8443", DOWN, 0.0)
    d.note("erp.example.com:9000", DOWN, 0.1)
    assert d.note("erp.example.com", DOWN, 0.2) is None  # one server down, three services
    d.note("[::1]:8080", DOWN, 0.3)
    assert d.note("shop.example.com:443", DOWN, 0.4) is Change.OFFLINE
    assert machine_of("[::1]:8080") == "[::1]" and machine_of("127.0.0.2:80") == "127.0.0.2"
    assert machine_of("erp.example.com") == "erp.example.com"
