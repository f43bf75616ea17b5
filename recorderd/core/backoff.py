"""Capped exponential backoff with full jitter, reset after a connection that lived.

Pure: the random source is injected, so tests fix the sequence. Full jitter (a uniform delay
between 0 and the capped ceiling) spreads the reconnects of many cameras that failed together.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    def __init__(
        self,
        base: float = 0.5,
        cap: float = 30.0,
        *,
        stable_after: float = 10.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError("backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.stable_after = stable_after
        self._rng = rng
        self.attempt = 0

    def ceiling(self) -> float:
        """The upper bound of the next delay: base * 2**attempt, capped."""
        # past 2**64 the float would only overflow toward the cap anyway
        return min(self.cap, self.base * 2.0 ** min(self.attempt, 64))

    def next_delay(self) -> float:
        """The delay before the next attempt, uniform in [0, ceiling); then the ceiling doubles."""
        delay = self._rng() * self.ceiling()
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0

    def ended(self, lived: float) -> None:
        """A connection ended after `lived` seconds: if it was stable, start over from base."""
        if lived >= self.stable_after:
            self.reset()
