"""Monitors as the documents describe them: IO and eventdata monitors speak at connect and then only
on change (repeats are the `monitor_repeat` option); motiondata answers 204 without motion windows.

Virtual time (a MockClock running 40 times faster than the wall) lets a quiet stream stay quiet for
half a minute in less than a second.
"""

from __future__ import annotations

import httpx
import pytest
import trio
import trio.testing

from recorderd.sim import SimCameraConfig, SimConfig, open_simulator
from tests.support.simreaders import StreamReader, auth_for, boundary_of, get, next_part

QUIET = 30.0  # virtual seconds a monitor must stay silent
MONITORS = {
    "vapix": "/io/input.cgi?monitor=1",
    "openapi": "/input.cgi?monitor=1,2",
    "move": "/cgi-bin/admin/eventdata.cgi?action=monitor&group=Motion,IO",
}


def _sim(**common: object) -> SimConfig:
    return SimConfig(
        cameras={d: SimCameraConfig(dialect=d, width=160, height=120, frames=4, **common) for d in MONITORS}
    )


class Parts:
    """The parts of a monitor, read by a task of their own: cancelling a wait never cancels an
    httpx read (httpcore closes the connection when a read is cancelled)."""

    def __init__(self, resp: httpx.Response, delim: bytes) -> None:
        self.reader = StreamReader(resp)
        self.delim = delim
        self.send, self.recv = trio.open_memory_channel[bytes](100)

    async def run(self) -> None:
        while True:
            part = await next_part(self.reader, self.delim)
            await self.send.send(part.body)

    async def within(self, seconds: float) -> int:
        n = 0
        with trio.move_on_after(seconds):
            while True:
                await self.recv.receive()
                n += 1
        return n


@pytest.mark.parametrize("dialect", sorted(MONITORS))
async def test_monitor_speaks_at_connect_then_only_on_change(
    dialect: str, mock_clock: trio.testing.MockClock
) -> None:
    mock_clock.rate = 40.0
    async with open_simulator(_sim(event_interval=0.2)) as sim, httpx.AsyncClient(timeout=60) as client:
        cam = sim[dialect]
        async with (
            client.stream("GET", cam.url(MONITORS[dialect]), auth=auth_for(cam)) as resp,
            trio.open_nursery() as nursery,
        ):
            parts = Parts(resp, b"--" + boundary_of(resp.headers["content-type"]).lstrip("-").encode())
            nursery.start_soon(parts.run)
            with trio.fail_after(10):
                first = await parts.recv.receive()  # the state, at once
            assert first.strip()
            assert await parts.within(QUIET) == 0  # no repeats, whatever event_interval says
            await cam.set_trigger("input:1", True)
            with trio.fail_after(10):
                changed = await parts.recv.receive()
            assert b"IO0:/" in changed or b"IO:Status=" in changed
            assert await parts.within(QUIET) == 0
            nursery.cancel_scope.cancel()


async def test_monitor_repeat_is_an_option(mock_clock: trio.testing.MockClock) -> None:
    mock_clock.rate = 40.0
    async with open_simulator(_sim(monitor_repeat=1.0)) as sim, httpx.AsyncClient(timeout=60) as client:
        cam = sim["vapix"]
        async with (
            client.stream("GET", cam.url(MONITORS["vapix"]), auth=auth_for(cam)) as resp,
            trio.open_nursery() as nursery,
        ):
            parts = Parts(resp, b"--ioboundary")
            nursery.start_soon(parts.run)
            assert await parts.within(5.5) >= 5
            nursery.cancel_scope.cancel()


async def test_motiondata_204_without_motion_windows() -> None:
    cfg = SimConfig(cameras={"axis": SimCameraConfig(dialect="vapix", motion_windows=[])})
    async with open_simulator(cfg) as sim, httpx.AsyncClient(timeout=10) as client:
        cam = sim["axis"]
        r = await get(client, cam, "/motion/motiondata.cgi")
        assert (r.status_code, r.content) == (204, b"")
        r = await get(client, cam, "/axis-cgi/motion/motiondata.cgi?group=0")
        assert r.status_code == 204
        with pytest.raises(ValueError, match="no motion windows"):
            await cam.set_trigger("motion", True)
    # with a window, the same request streams levels; a window not defined is 204 again
    one = SimConfig(cameras={"axis": SimCameraConfig(dialect="vapix")})
    async with open_simulator(one) as sim, httpx.AsyncClient(timeout=10) as client:
        cam = sim["axis"]
        assert (await get(client, cam, "/motion/motiondata.cgi?group=3")).status_code == 204
        async with client.stream("GET", cam.url("/motion/motiondata.cgi"), auth=auth_for(cam)) as resp:
            assert resp.status_code == 200
            with trio.fail_after(5):
                part = await next_part(StreamReader(resp), b"--mdb")
            assert part.body.startswith(b"group=0;level=")
