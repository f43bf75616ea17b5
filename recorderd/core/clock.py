"""The daemon's one clock: monotonic seconds for deadlines and durations, wall time for names and
what people read.

`now()` is trio's clock (the one every deadline and sleep uses), so tests that run under
`trio.testing.MockClock` or `autojump_clock` move both deadlines and the times the code reads. Wall
time is asked only through `wall()`; `wall_at(mono)` maps an earlier instant of the monotonic clock
onto the wall clock (a debounced trigger starts before it is confirmed). Tests pass a subclass whose
wall follows trio's clock (tests/support/clocks.py), so virtual time moves it too.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import trio


class Clock:
    """The real clock: trio's monotonic clock and the system's wall clock."""

    def now(self) -> float:
        return trio.current_time()

    def wall(self) -> float:
        return time.time()

    def wall_at(self, mono: float) -> float:
        """The wall time of the monotonic instant `mono` (in the past, or now)."""
        return self.wall() - (self.now() - mono)

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.wall(), UTC)


class _SystemClock(Clock):
    # once per frame: the two clocks read without the method calls in between
    def wall_at(self, mono: float) -> float:
        return _time() - _trio_now() + mono


_time = time.time
_trio_now = trio.current_time
SYSTEM_CLOCK: Clock = _SystemClock()
