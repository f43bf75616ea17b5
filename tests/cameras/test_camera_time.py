"""A camera's own timers in virtual time (autojump_clock): debounce, alarm timeout, a schedule
boundary and a manual trigger, each at the instant it is due, its events dated on the camera's clock.

No sockets: the camera has no streams; the test hands it samples as a stream task would, and
reads the bus and the recorder channel. The clock's wall follows trio's (TrioWallClock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from recorderd.cameras.camera import Camera
from recorderd.cameras.drivers.base import Driver
from recorderd.cameras.http import CameraHttp
from recorderd.cameras.streams import StreamSpec
from recorderd.core import events as ev
from recorderd.core.bus import Bus
from recorderd.protocol.events import EdgeDetector, TriggerSample
from recorderd.recording.frames import ClipEnd, ClipStart, RecorderInput
from tests.support.clocks import TrioWallClock
from tests.support.simharness import Watch, daemon_config

# a Friday, a minute before noon (UTC)
NOON = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


class NoStreams(Driver):
    """The camera's own driver would open its streams; here the test is the stream."""

    def streams(self) -> list[StreamSpec]:
        return []


@dataclass
class Rig:
    cam: Camera
    clock: TrioWallClock
    watch: Watch
    recorder: trio.MemoryReceiveChannel[RecorderInput]
    detector: EdgeDetector

    def motion(self, on: bool) -> None:
        self.cam.samples([TriggerSample("motion", on)], self.detector)

    async def next(self, kind: type, **match: Any) -> Any:
        """The next bus event of `kind` (others skipped), within a virtual day."""
        return await self.watch.next(kind, timeout=86_400, **match)

    def at(self, mono: float) -> Any:
        """The wall time of trio instant `mono`, as a datetime to compare with (to the µs)."""
        return pytest.approx(
            datetime.fromtimestamp(self.clock.wall_at(mono), UTC), abs=timedelta(microseconds=2)
        )

    def since(self, mono: float) -> Any:
        """Virtual seconds since `mono`, to compare with."""
        return trio.current_time() - mono


@asynccontextmanager
async def camera(**settings: Any) -> AsyncIterator[Rig]:
    table = {"dialect": "foscam", "url": "http://127.0.0.1:1/", "triggers": ["motion"], **settings}
    raw = {"daemon": {"state_dir": "/nonexistent", "timezone": "UTC"}, "cameras": {"yard": table}}
    cfg = daemon_config(raw).cameras["yard"]
    clock = TrioWallClock.starting_at(NOON - timedelta(minutes=1))
    bus: Bus[ev.BusEvent] = Bus()
    events = bus.subscribe("test")
    send, recv = trio.open_memory_channel[RecorderInput](1000)
    async with httpx.AsyncClient() as client:
        http = CameraHttp(client, "yard", "http://127.0.0.1:1/")  # never asked: no streams
        cam = Camera(
            "yard", cfg, http=http, driver=NoStreams(cfg), bus=bus, zone=UTC, recorder=send, clock=clock
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(cam.run)
            yield Rig(cam, clock, Watch(events), recv, EdgeDetector())
            nursery.cancel_scope.cancel()


async def test_debounce_dates_the_start_at_the_edge_and_the_timeout_ends_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with camera(min_on="2s", alarm_timeout="1m") as r:
        edge = trio.current_time()
        r.motion(True)
        start = await r.next(ev.IncidentEvent, type="start")
        assert r.since(edge) == pytest.approx(2.0)  # confirmed once min_on has passed
        assert start.time == r.at(edge) and start.trigger == "motion"  # dated at the edge
        end = await r.next(ev.IncidentEvent, type="end")  # its "off" never comes
        assert r.since(edge) == pytest.approx(60.0)
        assert (end.id, end.reason, end.time) == (start.id, "timeout", r.at(edge + 60.0))
        clip_start, clip_end = r.recorder.receive_nowait(), r.recorder.receive_nowait()
        assert isinstance(clip_start, ClipStart) and isinstance(clip_end, ClipEnd)
        assert clip_start.incident == clip_end.incident == start.id
        assert clip_start.mono == pytest.approx(edge)  # the clip's pre-trigger time from the edge
        assert clip_end.mono == pytest.approx(edge + 60.0)


async def test_a_schedule_boundary_disarms_and_ends_the_incident_at_that_instant(
    autojump_clock: trio.testing.MockClock,
) -> None:
    until_noon = {"days": 127, "start": "08:00:00", "stop": "12:00:00"}
    async with camera(schedule=until_noon) as r:
        assert (await r.next(ev.ArmedChanged)).armed  # the initial state
        r.motion(True)
        start = await r.next(ev.IncidentEvent, type="start")
        disarmed = await r.next(ev.ArmedChanged)  # woken by the boundary, never by polling
        assert not disarmed.armed and disarmed.time == r.at(trio.current_time()) == NOON
        end = await r.next(ev.IncidentEvent, type="end")
        assert (end.id, end.reason, end.time) == (start.id, "disarmed", r.at(trio.current_time()))
        assert end.time == pytest.approx(NOON, abs=timedelta(microseconds=2))
        r.motion(False)
        r.motion(True)  # disarmed: seen, no incident
        await r.next(ev.TriggerChanged, on=True)
        assert not r.cam.machine.incident_open


async def test_a_manual_trigger_lasts_its_duration(autojump_clock: trio.testing.MockClock) -> None:
    async with camera(triggers=[]) as r:
        t0 = trio.current_time()
        iid = await r.cam.manual_trigger(duration=30.0)
        start = await r.next(ev.IncidentEvent, type="start")
        assert start.id == iid and start.trigger == "manual" and start.time == r.at(t0)
        end = await r.next(ev.IncidentEvent, type="end")
        assert (end.id, end.reason, end.time) == (iid, "ended", r.at(t0 + 30.0))
