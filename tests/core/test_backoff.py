"""Capped exponential backoff with full jitter, with an injected random source."""

from __future__ import annotations

import pytest

from recorderd.core.backoff import Backoff


def test_ceiling_doubles_to_the_cap_and_delay_is_jittered() -> None:
    b = Backoff(0.5, 8.0, rng=lambda: 0.999999)
    got = [round(b.next_delay(), 3) for _ in range(7)]
    assert got == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    b = Backoff(0.5, 8.0, rng=lambda: 0.25)
    assert [b.next_delay() for _ in range(3)] == [0.125, 0.25, 0.5]
    b = Backoff(0.5, 8.0, rng=lambda: 0.0)
    assert b.next_delay() == 0.0


def test_reset_only_after_a_connection_that_lived() -> None:
    b = Backoff(1.0, 60.0, stable_after=10.0, rng=lambda: 1.0)
    for _ in range(4):
        b.next_delay()
    b.ended(lived=3.0)  # a flap: keeps backing off
    assert b.ceiling() == 16.0
    b.ended(lived=10.0)
    assert b.ceiling() == 1.0


def test_huge_attempt_counts_stay_capped() -> None:
    b = Backoff(0.5, 30.0, rng=lambda: 1.0)
    b.attempt = 10_000
    assert b.next_delay() == 30.0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Backoff(0.0, 1.0)
    with pytest.raises(ValueError):
        Backoff(2.0, 1.0)


def test_policy_bounds_and_jitter() -> None:
    from recorderd.core.backoff import BackoffPolicy

    p = BackoffPolicy(base=1.0, cap=10.0, jitter=0.5)
    assert [p.delay(n, 0.999999) for n in range(6)] == pytest.approx(
        [1.0, 2.0, 4.0, 8.0, 10.0, 10.0], rel=1e-5
    )
    assert p.delay(2, 0.0) == 2.0  # the least: (1 - jitter) of the ceiling
    assert BackoffPolicy(base=1.0, cap=10.0, jitter=0.0).delay(1, 0.7) == 2.0
    assert p.delay(10_000, 0.0) == 5.0  # no overflow for absurd attempt counts
    with pytest.raises(ValueError):
        BackoffPolicy(base=1.0, cap=10.0, jitter=1.5)


def test_a_lower_cap_for_one_delay() -> None:
    b = Backoff(0.5, 30.0, rng=lambda: 0.999999)
    got = [round(b.next_delay(5.0), 3) for _ in range(8)]
    assert got == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]
    assert round(b.next_delay(), 3) == 30.0  # the policy's cap again; the count went on
