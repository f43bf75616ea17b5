"""The event bus: fan-out on bounded channels; a slow consumer loses events, never blocks."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
import trio
import trio.testing

from recorderd.core.bus import Bus


async def test_fan_out_and_drop_for_the_slow_one_only(caplog: pytest.LogCaptureFixture) -> None:
    bus: Bus[int] = Bus(log_every=3600)
    fast = bus.subscribe("fast", 100)
    slow = bus.subscribe("slow", 2)
    with caplog.at_level(logging.WARNING):
        for i in range(10):
            bus.publish(i)  # never awaits: a full consumer cannot block this loop
    assert [fast.receive_nowait() for _ in range(10)] == list(range(10))
    assert [slow.receive_nowait() for _ in range(2)] == [0, 1]
    with pytest.raises(trio.WouldBlock):
        slow.receive_nowait()
    assert bus.dropped() == {"fast": 0, "slow": 8}
    # rate-limited: one line for the burst, not eight
    lines = [r.getMessage() for r in caplog.records if "is behind" in r.getMessage()]
    assert lines == ["event bus: consumer slow is behind on camera ; 1 event(s) dropped in all"]


async def test_closed_consumer_is_forgotten_and_close_ends_readers() -> None:
    bus: Bus[str] = Bus()
    gone = bus.subscribe("gone")
    stay = bus.subscribe("stay")
    await gone.aclose()
    bus.publish("x")
    assert bus.dropped() == {"stay": 0}
    bus.close()
    got = [x async for x in stay]
    assert got == ["x"]


@dataclass(frozen=True)
class Ev:
    camera: str
    n: int


async def test_lanes_isolate_cameras_and_deliver_waits_for_its_own_lane_only() -> None:
    """A storming camera fills its own lane: `publish` drops only its events, `deliver` makes only
    its writer wait, and the reader takes the lanes in turn, so a healthy camera's event is read
    next, not after the storm."""
    bus: Bus[Ev] = Bus(log_every=3600)
    lanes = bus.subscribe_lanes("actions", lane_size=4)
    for n in range(10):
        bus.publish(Ev("storm", n))
    assert bus.dropped() == {"actions": 6} and lanes.dropped == {"storm": 6}
    delivered: list[int] = []

    async def storm_writer() -> None:
        for n in range(10, 20):
            await bus.deliver(Ev("storm", n))  # waits: its lane is full
            delivered.append(n)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(storm_writer)
        await trio.testing.wait_all_tasks_blocked()
        assert delivered == []
        with trio.fail_after(1):
            await bus.deliver(Ev("healthy", 1))  # its own lane has room: no wait
        got = [await lanes.receive() for _ in range(3)]
        assert got == [Ev("storm", 0), Ev("healthy", 1), Ev("storm", 1)]
        rest = [await lanes.receive() for _ in range(12)]
        assert [e.n for e in rest] == [2, 3, *range(10, 20)]
    assert len(lanes) == 0
    bus.close()
    with pytest.raises(trio.EndOfChannel):
        await lanes.receive()
    with pytest.raises(trio.ClosedResourceError):
        await lanes.put("x", Ev("x", 0))
