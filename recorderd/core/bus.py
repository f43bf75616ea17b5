"""The in-process event bus: one bounded trio memory channel per consumer; publishing never waits.

Cameras publish with `publish()`, a plain function call (no await): each subscriber's channel gets the
event with `send_nowait`; a full channel drops the event for that subscriber only, counts it and logs
(at most once per `log_every` seconds per subscriber, with the count). So a slow consumer (a stuck
MQTT broker, a slow disk) never stalls the cameras or the other consumers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Generic, TypeVar

import trio

from recorderd.core.ratelog import RateLimitedLog

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(slots=True)
class _Sub(Generic[T]):
    name: str
    send: trio.MemorySendChannel[T]
    dropped: int = 0


class Bus(Generic[T]):
    """Fan-out of events to named subscribers, each on its own bounded channel."""

    def __init__(self, *, log_every: float = 10.0) -> None:
        self._subs: list[_Sub[T]] = []
        self._drops = RateLimitedLog(log, every=log_every)
        self.published = 0

    def subscribe(self, name: str, size: int = 1024) -> trio.MemoryReceiveChannel[T]:
        """A new consumer; read the returned channel. Closing it unsubscribes."""
        send, recv = trio.open_memory_channel[T](size)
        self._subs.append(_Sub(name, send))
        return recv

    def publish(self, event: T) -> None:
        """Hand the event to every subscriber now; never blocks, never raises for a consumer."""
        self.published += 1
        gone: list[_Sub[T]] = []
        for sub in self._subs:
            try:
                sub.send.send_nowait(event)
            except trio.WouldBlock:
                sub.dropped += 1
                self._log_drop(sub)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                gone.append(sub)
        for sub in gone:
            self._subs.remove(sub)

    def _log_drop(self, sub: _Sub[T]) -> None:
        self._drops.log(
            sub.name,
            logging.WARNING,
            "event bus: consumer %s is too slow; %d event(s) dropped in all",
            sub.name,
            sub.dropped,
            kind="drop",
        )

    def end(self, name: str) -> None:
        """End a subscriber's channel from this side: it reads what is queued, then EndOfChannel."""
        for sub in [s for s in self._subs if s.name == name]:
            sub.send.close()
            self._subs.remove(sub)

    def dropped(self) -> dict[str, int]:
        """Events dropped per subscriber since start."""
        return {s.name: s.dropped for s in self._subs}

    def close(self) -> None:
        """Close every subscriber's channel: their `async for` loops end."""
        for sub in self._subs:
            sub.send.close()
        self._subs.clear()
