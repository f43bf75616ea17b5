"""The event bus: fan-out on bounded channels; a slow consumer loses events, never blocks."""

from __future__ import annotations

import logging

import pytest
import trio

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
    lines = [r.getMessage() for r in caplog.records if "too slow" in r.getMessage()]
    assert lines == ["event bus: consumer slow is too slow; 1 event(s) dropped in all"]


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
