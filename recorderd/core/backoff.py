"""The one backoff policy: capped exponential delays with jitter, and its state for a retry loop.

Pure: the random source is injected, so tests fix the sequence. Used by every loop that tries again:
camera streams and the camera supervisor (full jitter, which spreads the reconnects of many cameras
that failed together), the MQTT connection, the outbox's retries of an action and of its database.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    """The delay before attempt n+1 (n from 0) lies in [(1 - jitter) * ceiling(n), ceiling(n)),
    where ceiling(n) = min(cap, base * factor**n). jitter 1.0 is full jitter, 0.0 none."""

    base: float
    cap: float
    factor: float = 2.0
    jitter: float = 1.0

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base or self.factor < 1.0 or not 0.0 <= self.jitter <= 1.0:
            raise ValueError("backoff needs 0 < base <= cap, factor >= 1 and 0 <= jitter <= 1")

    def ceiling(self, n: int, cap: float | None = None) -> float:
        # past 2**64 the float would only overflow toward the cap anyway
        limit = self.cap if cap is None else cap
        return min(limit, self.base * math.pow(self.factor, min(max(n, 0), 64)))

    def delay(self, n: int, rand: float, cap: float | None = None) -> float:
        """The delay after the n-th failure in a row (from 0); `rand` uniform in [0, 1); `cap`
        instead of the policy's for this delay only."""
        return self.ceiling(n, cap) * (1.0 - self.jitter + self.jitter * rand)


class Backoff:
    """One retry loop's state: the attempt count, reset after a connection that lived."""

    def __init__(
        self,
        base: float = 0.5,
        cap: float = 30.0,
        *,
        stable_after: float = 10.0,
        jitter: float = 1.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.policy = BackoffPolicy(base, cap, jitter=jitter)
        self.stable_after = stable_after
        self._rng = rng
        self.attempt = 0

    def ceiling(self) -> float:
        """The upper bound of the next delay."""
        return self.policy.ceiling(self.attempt)

    def next_delay(self, cap: float | None = None) -> float:
        """The delay before the next attempt; then the ceiling doubles. `cap` bounds this delay
        below the policy's cap (a camera that was up recently is tried again sooner)."""
        delay = self.policy.delay(self.attempt, self._rng(), cap)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0

    def ended(self, lived: float) -> None:
        """A connection ended after `lived` seconds: if it was stable, start over from base."""
        if lived >= self.stable_after:
            self.reset()
