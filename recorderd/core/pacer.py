"""A token bucket for what one source may do per second (times are passed in: pure)."""

from __future__ import annotations

import math


class Pacer:
    """A token bucket on trio's clock (times passed in): `take` a token or learn `next_at`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._at = -math.inf

    def _fill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def take(self, now: float) -> bool:
        self._fill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def next_at(self, now: float) -> float:
        """When a token is there again."""
        self._fill(now)
        return now + max(0.0, 1.0 - self._tokens) / self.rate
