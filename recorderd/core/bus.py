"""The in-process event bus: cameras publish, consumers read, and one camera never costs another
an event.

Two kinds of consumer:
- `subscribe(name, size)`: one bounded trio memory channel; a full channel drops the event for that
  consumer only (counted, logged at most once per `log_every` seconds). For observers that may
  miss an event (the demo's account).
- `subscribe_lanes(name, lane_size)`: one bounded FIFO lane per camera, read in turn (round robin),
  so a camera in a storm fills its own lane only. For the consumers that matter: the actions
  (incidents into the durable outbox) and MQTT's retained state.

Two ways to publish:
- `publish(event)`, a plain call that never waits: state (connected, triggers, arming). A full
  lane or channel drops the event for that consumer and camera only, counted and logged.
- `await deliver(event)`, for what must never be lost (incident starts and ends, their snapshot):
  it waits while the camera's own lane is full, so back-pressure reaches that camera's writer task
  only; the other cameras' lanes, and so their alarms, are not touched. Plain channels get it as
  with `publish`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import trio

from recorderd.core.ratelog import RateLimitedLog

log = logging.getLogger(__name__)

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Receiver(Protocol[T_co]):
    """What a consumer reads: a trio receive channel, or `Lanes`."""

    async def receive(self) -> T_co: ...

    def __aiter__(self) -> Receiver[T_co]: ...

    async def __anext__(self) -> T_co: ...


def lane_of(event: object) -> Hashable:
    """The lane of an event: its camera (every bus event names one)."""
    return getattr(event, "camera", "")


class Lanes(Generic[T]):
    """One consumer's bounded FIFO lanes, one per key (camera), read round robin.

    Bounds: `lane_size` events per lane; lanes exist only while they hold events, one per camera
    (the cameras are the config's). A closed Lanes ends the reader once it has read what is queued.
    """

    def __init__(self, lane_size: int) -> None:
        self.lane_size = max(1, lane_size)
        self._lanes: dict[Hashable, deque[T]] = {}
        self._turn: deque[Hashable] = deque()  # keys with events, in reading order
        self._readable = trio.lowlevel.ParkingLot()
        self._room: dict[Hashable, trio.lowlevel.ParkingLot] = {}  # writers waiting per key
        self._closed = False
        self.dropped: dict[Hashable, int] = {}  # bound: one entry per camera

    def __len__(self) -> int:
        return sum(len(q) for q in self._lanes.values())

    def put_nowait(self, key: Hashable, item: T) -> bool:
        """Queue at once; False (and counted) when the key's lane is full or Lanes is closed."""
        if self._closed:
            return False
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = deque()
            self._turn.append(key)
        elif len(lane) >= self.lane_size:
            self.dropped[key] = self.dropped.get(key, 0) + 1
            return False
        lane.append(item)
        self._readable.unpark()
        return True

    async def put(self, key: Hashable, item: T) -> None:
        """Queue, waiting while this key's lane is full (only this key's writers wait)."""
        while True:
            lane = self._lanes.get(key)
            if self._closed:
                raise trio.ClosedResourceError("the consumer has ended")
            if lane is None or len(lane) < self.lane_size:
                self.put_nowait(key, item)
                await trio.lowlevel.checkpoint()
                return
            await self._room.setdefault(key, trio.lowlevel.ParkingLot()).park()

    def receive_nowait(self) -> T:
        if not self._turn:
            if self._closed:
                raise trio.EndOfChannel
            raise trio.WouldBlock
        key = self._turn.popleft()
        lane = self._lanes[key]
        item = lane.popleft()
        if lane:
            self._turn.append(key)  # its next event waits for the other lanes' turn
        else:
            del self._lanes[key]
        room = self._room.get(key)
        if room is not None:
            room.unpark()
            if not room:
                del self._room[key]
        return item

    async def receive(self) -> T:
        while True:
            try:
                item = self.receive_nowait()
            except trio.WouldBlock:
                await self._readable.park()
                continue
            await trio.lowlevel.checkpoint()
            return item

    def __aiter__(self) -> Lanes[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    def close(self) -> None:
        """No more events; the reader gets what is queued, then EndOfChannel; writers waiting
        get ClosedResourceError."""
        self._closed = True
        self._readable.unpark_all()
        for room in self._room.values():
            room.unpark_all()
        self._room.clear()


@dataclass(slots=True)
class _Sub(Generic[T]):
    name: str
    send: trio.MemorySendChannel[T] | None = None
    lanes: Lanes[T] | None = None
    dropped: int = 0


class Bus(Generic[T]):
    """Fan-out of events to named subscribers (module doc)."""

    def __init__(self, *, log_every: float = 10.0) -> None:
        self._subs: list[_Sub[T]] = []
        self._drops = RateLimitedLog(log, every=log_every)
        self.published = 0

    def subscribe(self, name: str, size: int = 1024) -> trio.MemoryReceiveChannel[T]:
        """A new consumer on one bounded channel; read the returned channel. Closing it unsubscribes."""
        send, recv = trio.open_memory_channel[T](size)
        self._subs.append(_Sub(name, send=send))
        return recv

    def subscribe_lanes(self, name: str, lane_size: int = 256) -> Lanes[T]:
        """A new consumer with a bounded lane per camera (module doc)."""
        lanes = Lanes[T](lane_size)
        self._subs.append(_Sub(name, lanes=lanes))
        return lanes

    def publish(self, event: T) -> None:
        """Hand the event to every subscriber now; never blocks, never raises for a consumer."""
        self.published += 1
        for sub in list(self._subs):
            if sub.lanes is None:
                self._send_plain(sub, event)
            elif not sub.lanes.put_nowait(lane_of(event), event):
                sub.dropped += 1
                self._log_drop(sub, event)

    async def deliver(self, event: T) -> None:
        """Hand the event to every subscriber, waiting while its camera's lane of a lanes
        subscriber is full (back-pressure on that camera only); plain channels as `publish`."""
        self.published += 1
        for sub in list(self._subs):
            if sub.lanes is None:
                self._send_plain(sub, event)
                continue
            try:
                await sub.lanes.put(lane_of(event), event)
            except trio.ClosedResourceError:
                sub.dropped += 1  # the consumer ended (a stop); nothing reads it any more
                self._log_drop(sub, event)

    def _send_plain(self, sub: _Sub[T], event: T) -> None:
        assert sub.send is not None
        try:
            sub.send.send_nowait(event)
        except trio.WouldBlock:
            sub.dropped += 1
            self._log_drop(sub, event)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            if sub in self._subs:
                self._subs.remove(sub)

    def _log_drop(self, sub: _Sub[T], event: T) -> None:
        camera = lane_of(event)
        self._drops.log(
            (sub.name, camera),
            logging.WARNING,
            "event bus: consumer %s is behind on camera %s; %d event(s) dropped in all",
            sub.name,
            camera,
            sub.dropped,
            kind="drop",
        )

    def end(self, name: str) -> None:
        """End a subscriber from this side: it reads what is queued, then EndOfChannel."""
        for sub in [s for s in self._subs if s.name == name]:
            self._close(sub)
            self._subs.remove(sub)

    def dropped(self) -> dict[str, int]:
        """Events dropped per subscriber since start."""
        return {s.name: s.dropped for s in self._subs}

    def close(self) -> None:
        """Close every subscriber: their `async for` loops end."""
        for sub in self._subs:
            self._close(sub)
        self._subs.clear()

    @staticmethod
    def _close(sub: _Sub[T]) -> None:
        if sub.send is not None:
            sub.send.close()
        if sub.lanes is not None:
            sub.lanes.close()
