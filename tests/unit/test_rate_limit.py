"""The per-endpoint rate limit on plain data: the token bucket (bursts, fractional rates, a clock going back),
parsing a person's rate, and the scheduler holding limited items without blocking the others (no I/O)."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopctrl_desktop.domain.breaker import endpoint_key, host_variants
from shopctrl_desktop.domain.rate_limit import RateLimitError, TokenBucket, parse_rate, rate_text
from shopctrl_desktop.domain.scheduler import DeliveryScheduler

ERP = "http://erp.example/api/orders"
SHOP = "http://shop.example/hook"


class Item(NamedTuple):
    id: int
    url: str
    priority: int = 0

    @property
    def host(self) -> str:
        return self.url.split("/")[2]


def starts(bucket: TokenBucket, times: list[float]) -> list[float]:
    """The times at which requests, each wanting to start at its time or as soon as allowed, start."""
    started, now = [], 0.0
    for want in times:
        now = max(now, want)
        now += bucket.wait(now)
        assert bucket.take(now)
        started.append(now)
    return started


# ---------------------------------------------------------------------------------------- the bucket
def test_evenly_spaced_by_default_no_burst_after_idling():
    bucket = TokenBucket(20, now=0.0)
    assert bucket.take(0.0)
    assert not bucket.take(0.0)
    assert bucket.wait(0.0) == pytest.approx(0.05)
    assert not bucket.ready(0.049)
    assert bucket.take(0.05)
    # idle for a minute: still only one request at once (burst 1)
    assert bucket.take(60.0)
    assert not bucket.take(60.0)
    times = starts(TokenBucket(20, now=0.0), [0.0] * 40)
    assert times[-1] - times[0] == pytest.approx(39 / 20)


def test_a_burst_goes_at_once_then_the_rate_applies():
    bucket = TokenBucket(2, now=0.0, burst=5)
    assert [bucket.take(0.0) for _ in range(6)] == [True] * 5 + [False]
    assert bucket.wait(0.0) == pytest.approx(0.5)
    assert bucket.take(0.5) and not bucket.take(0.5)
    assert bucket.take(10.0) and bucket.take(10.0)  # refilled, never beyond the burst
    assert sum(bucket.take(10.0) for _ in range(10)) == 3


def test_fractional_rates():
    bucket = TokenBucket(0.5, now=100.0)
    assert bucket.take(100.0)
    assert bucket.wait(100.0) == pytest.approx(2.0)
    assert not bucket.take(101.9)
    assert bucket.take(102.0)
    times = starts(TokenBucket(0.25, now=0.0), [0.0] * 4)
    assert times == pytest.approx([0.0, 4.0, 8.0, 12.0])


def test_a_clock_going_back_never_stalls_for_longer_than_one_interval():
    bucket = TokenBucket(1, now=1_000_000.0)
    assert bucket.take(1_000_000.0)
    # the clock goes back by a day: the next request waits at most 1 / rate, not a day
    assert bucket.wait(1_000_000.0 - 86400) <= 1.0
    assert bucket.take(1_000_000.0 - 86400 + 1.0)
    # and forward again by more than a day: one token, not a day's worth
    assert bucket.take(1_000_000.0 + 86400) and not bucket.take(1_000_000.0 + 86400)


@given(
    rate=st.floats(min_value=0.01, max_value=1000),
    burst=st.integers(min_value=1, max_value=10),
    wants=st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=60),
)
def test_no_window_holds_more_than_burst_plus_rate_times_its_length(rate, burst, wants):
    times = starts(TokenBucket(rate, now=0.0, burst=burst), sorted(wants))
    for i, first in enumerate(times):
        for j in range(i, len(times)):
            assert j - i + 1 <= burst + rate * (times[j] - first) + 1e-6


@pytest.mark.parametrize("text", ["0", "-5", "abc", "nan", "inf", "0.001", "20000", ""])
def test_a_bad_rate_is_said_in_words(text):
    with pytest.raises(RateLimitError, match="requests per second"):
        parse_rate(text)


def test_rates_a_person_types():
    assert parse_rate("20") == 20.0 and parse_rate(" 0,5 ") == 0.5 and parse_rate(10000) == 10000.0
    assert (rate_text(20.0), rate_text(0.5), rate_text(None)) == ("20/s", "0.5/s", "no limit")


# ---------------------------------------------------------------------------------------- the scheduler
def limited(s: DeliveryScheduler[Item], limits: dict[str, float], now: float) -> None:
    s.set_rate_limits(limits, lambda item: endpoint_key(item.url), host_variants, now)


def test_limited_items_wait_in_hand_and_the_others_go_meanwhile():
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=10, per_host=10)
    limited(s, {ERP: 2.0}, now=0.0)
    s.add([Item(1, ERP, priority=5), Item(2, ERP, priority=5), Item(3, SHOP), Item(4, SHOP)])
    s.ceiling = float("-inf")
    first = s.next_to_send(0.0)
    assert first is not None and first.id == 1
    # item 2 is higher than the shop's, but its endpoint has no token: the shop's go first
    assert [s.next_to_send(0.0).id, s.next_to_send(0.0).id] == [3, 4]  # type: ignore[union-attr]
    assert s.next_to_send(0.1) is None
    assert s.waiting == 1 and s.rate_wait(0.1) == pytest.approx(0.4)
    taken = s.next_to_send(0.5)
    assert taken is not None and taken.id == 2
    assert s.rate_wait(0.5) is None  # nothing waits for a token


def test_an_endpoint_on_a_shared_host_is_limited_alone():
    other_path = "http://erp.example/api/invoices"
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=10, per_host=10)
    limited(s, {ERP: 1.0}, now=0.0)
    s.add([Item(1, ERP), Item(2, ERP), Item(3, other_path), Item(4, other_path)])
    s.ceiling = float("-inf")
    sent = [item.id for item in iter(lambda: s.next_to_send(0.0), None)]
    assert sent == [1, 3, 4]


def test_a_changed_limit_keeps_the_bucket_and_no_limit_is_the_plain_path():
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=10, per_host=10)
    limited(s, {ERP: 1.0}, now=0.0)
    s.add([Item(n, ERP) for n in range(1, 5)])
    s.ceiling = float("-inf")
    assert s.next_to_send(0.0) is not None and s.next_to_send(0.0) is None
    limited(s, {ERP: 10.0}, now=0.05)  # raised: the token spent still counts, the next in 0.1 s
    assert s.rate_wait(0.05) == pytest.approx(0.05)
    assert s.next_to_send(0.1) is not None
    limited(s, {}, now=0.1)
    assert s.rate_limits is None
    assert s.next_to_send() is not None and s.next_to_send() is not None


def test_the_ceiling_still_comes_first_and_a_held_item_spends_no_token():
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=10, per_host=10)
    limited(s, {ERP: 1.0}, now=0.0)
    s.add([Item(1, ERP, priority=0)])
    s.ceiling = 5  # the database may hold a higher item: claim first
    assert s.next_to_send(0.0) is None
    s.ceiling = float("-inf")
    assert s.next_to_send(0.0) is not None  # the token was not spent by the refusal above


def test_items_waiting_for_a_limit_leave_claim_room_for_other_endpoints():
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=2, per_host=2)  # 8 in hand, 8 per host
    limited(s, {ERP: 1.0}, now=0.0)
    plan = s.claim_plan()
    assert plan is not None
    s.claimed(plan, [Item(n, ERP) for n in range(1, 9)])  # the ERP's oldest items fill the hand
    assert s.next_to_send(0.0) is not None and s.next_to_send(0.0) is None
    again = s.claim_plan()
    assert again is not None and again.want == 7  # the seven waiting for the limit do not count
    assert again.host_in_hand == {"erp.example": 8}  # the ERP's host is at its cap: others are claimed
    assert not s.blocked()  # a held item never asks for a claim ahead of its turn


def test_no_timer_for_an_item_whose_token_is_there_but_that_waits_for_a_claim():
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=10, per_host=10)
    limited(s, {ERP: 1.0}, now=0.0)
    s.add([Item(1, ERP), Item(2, ERP)])
    s.ceiling = float("-inf")
    assert s.next_to_send(0.0) is not None
    assert s.rate_wait(0.5) == pytest.approx(0.5)
    s.wake()  # the database may hold a higher item: the ready one waits for the claim, not for a timer
    assert s.next_to_send(1.0) is None
    assert s.rate_wait(1.0) is None and s.blocked()
