from __future__ import annotations

import random

import pytest

from shopctrl_desktop.domain.retry import RETRY_AFTER_CAP_SECONDS, RetryPolicy


def test_default_is_shopctrl_linear_90s_ten_retries() -> None:
    policy = RetryPolicy()
    waits = [policy.next_delay(n) for n in range(1, 12)]
    assert waits[:10] == [90.0 * n for n in range(1, 11)]
    assert waits[10] is None  # the first attempt + 10 retries = 11 attempts, then give up


def test_custom_list_repeats_last_value() -> None:
    policy = RetryPolicy(kind="custom", delays=(1, 5, 30), max_retries=5)
    assert [policy.next_delay(n) for n in range(1, 7)] == [1, 5, 30, 30, 30, None]


def test_exponential_with_jitter_stays_in_band() -> None:
    policy = RetryPolicy(kind="exponential", base_seconds=10, jitter=0.1, max_retries=20, cap_seconds=1000)
    rng = random.Random(7)
    for n in range(1, 10):
        raw = min(10 * 2 ** (n - 1), 1000)
        assert raw * 0.9 <= policy.delay(n, rng=rng) <= raw * 1.1


def test_retry_after_waits_at_least_that_long_capped_at_an_hour() -> None:
    policy = RetryPolicy(kind="custom", delays=(1,))
    assert policy.next_delay(1, retry_after=120) == 120
    assert policy.next_delay(1, retry_after=10**6) == RETRY_AFTER_CAP_SECONDS
    assert policy.next_delay(1, retry_after=0.5) == 1


def test_zero_retries_gives_up_after_first_attempt() -> None:
    assert RetryPolicy(max_retries=0).next_delay(1) is None


@pytest.mark.parametrize("kwargs", [{"kind": "fibonacci"}, {"kind": "custom"}, {"max_retries": -1}])
def test_invalid_policies_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_json_round_trip() -> None:
    policy = RetryPolicy(kind="exponential", base_seconds=5, max_retries=3, jitter=0.3)
    assert RetryPolicy.from_json(policy.to_json()) == policy
