"""Signs of life for the watchdog, and the one-line status for the service manager.

The recorders are watched from outside, through the channels the engine feeds them: a recorder
has work pending while its channel holds items, and makes progress when the count goes down (or
is zero) between two looks. A recorder whose channel is not empty and has not gone down for
`lag` seconds is lagging; while any is, the "recorder" heartbeat stops, and once it has not beaten
for its allowance the watchdog stops pinging (systemd then restarts us, as WatchdogSec promises).
A blocked trio loop needs no heartbeat: the ping task cannot run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import trio

from recorderd.core.text import plural
from recorderd.service.watchdog import Heartbeat


@dataclass
class _Seen:
    used: int
    progress: float


class _Queue(Protocol):
    """A recorder's queue, as far as the watch looks: a memory channel or a RecorderInlet."""

    def statistics(self) -> trio.MemoryChannelStatistics: ...


class RecorderWatch:
    """Samples the recorder channels every `interval`; beats `heart` while none is lagging."""

    def __init__(
        self,
        channels: Callable[[], Mapping[str, _Queue]],
        *,
        lag: float = 5.0,
        allowance: float = 10.0,
        interval: float = 2.5,  # half the lag: a lag is seen within 7.5 s, inside the allowance
    ) -> None:
        self.channels = channels
        self.lag = lag
        self.interval = interval
        self._seen: dict[str, _Seen] = {}
        self.heart = Heartbeat("recorder", allowance, pending=self.pending)

    @staticmethod
    def _used(ch: _Queue) -> int:
        return ch.statistics().current_buffer_used

    def sample(self, now: float) -> None:
        seen: dict[str, _Seen] = {}
        for name, ch in self.channels().items():
            used = self._used(ch)
            old = self._seen.get(name)
            progressed = old is None or used == 0 or used < old.used
            seen[name] = _Seen(used, now if progressed or old is None else old.progress)
        self._seen = seen
        if not self.lagging(now):
            self.heart.beat(now)

    def lagging(self, now: float) -> list[str]:
        """Recorders with work waiting that took none for `lag` seconds."""
        return [n for n, s in self._seen.items() if s.used > 0 and now - s.progress > self.lag]

    def pending(self) -> bool:
        return any(s.used > 0 for s in self._seen.values())

    async def run(self) -> None:
        while True:
            self.sample(trio.current_time())
            await trio.sleep(self.interval)


def status_line(
    cameras: int, connected: int, incidents: int, pending: int | None = None, lagging: int = 0
) -> str:
    """'5 cameras, 5 connected, 2 incidents open' (+ actions pending, recorders lagging)."""
    parts = [plural(cameras, "camera"), f"{connected} connected", f"{plural(incidents, 'incident')} open"]
    if pending:
        parts.append(f"{plural(pending, 'action')} pending")
    if lagging:
        parts.append(f"{plural(lagging, 'recorder')} lagging")
    return ", ".join(parts)
