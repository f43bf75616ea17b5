"""Clocks for tests under trio's MockClock / autojump_clock."""

from __future__ import annotations

from datetime import datetime

import trio

from recorderd.core.clock import Clock


class TrioWallClock(Clock):
    """Wall time that follows trio's clock from `epoch` (seconds) at trio time 0, so virtual
    seconds pass on the wall too (names, incident times, schedules)."""

    def __init__(self, epoch: float) -> None:
        self.epoch = epoch

    @classmethod
    def starting_at(cls, when: datetime) -> TrioWallClock:
        """A clock whose wall reads `when` now."""
        return cls(when.timestamp() - trio.current_time())

    def wall(self) -> float:
        return self.epoch + trio.current_time()
