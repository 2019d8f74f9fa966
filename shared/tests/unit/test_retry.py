"""Backoff arithmetic and Retry-After parsing."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from convex_shared import RetryPolicy
from convex_shared.retry import parse_retry_after


def test_backoff_doubles_up_to_the_cap_without_jitter() -> None:
    policy = RetryPolicy(max_attempts=10, initial_delay_s=1.0, max_delay_s=5.0, max_total_s=1000, jitter=0.0)
    assert [policy.backoff_s(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_stays_within_its_fraction() -> None:
    policy = RetryPolicy(initial_delay_s=2.0, jitter=0.5)
    rng = random.Random(7)
    draws = [policy.backoff_s(1, rng) for _ in range(200)]
    assert all(1.0 <= d <= 2.0 for d in draws)
    assert len(set(draws)) > 100  # actually random


def test_attempts_are_bounded() -> None:
    policy = RetryPolicy(max_attempts=3, initial_delay_s=0.01, jitter=0.0)
    assert policy.next_delay_s(1, 0.0) == 0.01
    assert policy.next_delay_s(2, 0.0) == 0.02
    assert policy.next_delay_s(3, 0.0) is None


def test_total_time_is_bounded() -> None:
    policy = RetryPolicy(max_attempts=100, initial_delay_s=1.0, max_total_s=10.0, jitter=0.0)
    assert policy.next_delay_s(1, 8.5) == 1.0
    assert policy.next_delay_s(2, 8.5) is None  # 8.5 + 2 > 10


def test_retry_after_is_honoured_but_capped() -> None:
    policy = RetryPolicy(initial_delay_s=0.1, max_retry_after_s=30.0, jitter=0.0)
    assert policy.next_delay_s(1, 0.0, retry_after_s=7.0) == 7.0
    assert policy.next_delay_s(1, 0.0, retry_after_s=3600.0) == 30.0
    assert policy.next_delay_s(1, 0.0, retry_after_s=0.0) == 0.1  # never below our own backoff


def test_one_attempt_means_no_retry() -> None:
    assert RetryPolicy(max_attempts=1).next_delay_s(1, 0.0) is None


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"jitter": 1.5}, {"initial_delay_s": -1}])
def test_invalid_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after(format_datetime(now + timedelta(seconds=20), usegmt=True), now) == 20.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=20), usegmt=True), now) == 0.0
    assert parse_retry_after("-4", now) == 0.0
    for junk in (None, "", "soon", "nan"):
        assert parse_retry_after(junk, now) is None
