"""204 and other refusals: one clear log line naming the camera and the cause, a status and metrics
field, a slow retry (and one at a reload), no connected/disconnected flapping, the camera's other
streams untouched."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio

from recorderd.config.load import parse_config
from recorderd.core import events as ev
from recorderd.daemon.lifecycle import Daemon
from tests.support.camfake import JPEG, FakeCam, Reply, Request, mjpeg_part
from tests.support.simharness import rig

NO_WINDOWS = "no motion windows defined on the camera; motion triggers stay off"


async def test_motion_204_is_reported_once_and_the_rest_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "recorderd.cameras")
    sims = {"axis": {"dialect": "vapix", "motion_windows": [], "audio": "none"}}
    cams = {"axis": {"triggers": ["motion", "input:1"], "read_timeout": "1s"}}
    async with rig(tmp_path, sims, cams, recorder=True) as r:
        up = await r.watch.next(ev.Connected, "axis", connected=True)  # video and io up, motion refused
        assert up.connected
        assert r.daemon.engine is not None and r.daemon.view is not None
        cam = r.daemon.engine.cameras["axis"]
        status = cam.status()
        assert status["state"] == "connected"
        assert {n: s["state"] for n, s in status["streams"].items()} == {
            "video": "up",
            "motion": "refused",
            "io": "up",
        }
        motion = status["streams"]["motion"]
        assert motion["last_error"] == f"GET /motion/motiondata.cgi answered 204 No Content: {NO_WINDOWS}"
        assert motion["failures"] == {"no_content": 1} and motion["retry_in"] > 200
        streams = r.daemon.view.metrics().cameras["axis"].streams
        assert streams["motion"].refused and not streams["motion"].up and streams["io"].up
        # the other triggers work; nothing flaps for several read timeouts
        await r.sim.set_trigger("axis", "input:1", True)
        start = await r.watch.next(ev.IncidentEvent, "axis", type="start")
        assert start.trigger == "input:1"
        with trio.move_on_after(3.0):
            await r.watch.next(ev.Connected, "axis")
        assert [e for e in r.watch.seen if isinstance(e, ev.Connected)] == [up]
        assert cam.stats.reconnects == 0
    asked = [q for q in r.sim["axis"].requests if "motiondata" in q.target and q.status != 401]
    assert [q.status for q in asked] == [204]  # asked once (Digest's 401 aside): the next try is minutes away
    said = [m for m in caplog.messages if NO_WINDOWS in m]
    assert said == [
        f"axis: GET /motion/motiondata.cgi answered 204 No Content: {NO_WINDOWS}; "
        "asking again every 5 min and at a reload"
    ]
    assert "axis: connected (video, io; motion refused)" in caplog.messages


async def test_a_reload_asks_a_refused_stream_again(tmp_path: Path, nursery: trio.Nursery) -> None:
    windows = trio.Event()

    async def video(stream: trio.SocketStream) -> None:
        while True:
            await stream.send_all(mjpeg_part(JPEG))
            await trio.sleep(0.05)

    async def levels(stream: trio.SocketStream) -> None:
        while True:
            await stream.send_all(
                b"--mdb\r\nContent-Type: text/plain\r\n\r\ngroup=0;level=80;threshold=45;\r\n"
            )
            await trio.sleep(0.1)

    def handler(req: Request) -> Reply:
        if req.path == "/mjpg/video.mjpg":
            return Reply(200, {"Content-Type": "multipart/x-mixed-replace;boundary=myboundary"}, stream=video)
        if req.path == "/motion/motiondata.cgi":
            if not windows.is_set():
                return Reply(204)
            return Reply(200, {"Content-Type": "multipart/x-mixed-replace;boundary=mdb"}, stream=levels)
        return Reply(404)

    cam = FakeCam(handler)
    await nursery.start(cam.serve)
    text = f"""
[daemon]
state_dir = "{tmp_path}"
http_listen = ""
[cameras.axis]
dialect = "vapix"
url = "{cam.url}"
triggers = ["motion"]
read_timeout = "1s"
"""
    cfg = parse_config(text)
    daemon = Daemon(cfg)
    events = daemon.bus.subscribe("test")
    await nursery.start(daemon.run)
    assert daemon.engine is not None
    with trio.fail_after(10):
        async for e in events:
            if isinstance(e, ev.Connected):
                assert e.connected
                break
    axis = daemon.engine.cameras["axis"]
    assert axis.link.streams["motion"].state == "refused"
    # the camera got its windows; a reload (nothing changed in the config) asks again at once
    windows.set()
    await daemon.reload(parse_config(text))
    with trio.fail_after(5):
        async for e in events:
            if isinstance(e, ev.TriggerChanged) and e.trigger == "motion" and e.on:
                break
            assert not isinstance(e, ev.Connected), e  # no flapping on the way
    assert str(axis.link.streams["motion"].state) == "up"
    assert [r.path for r in cam.requests].count("/motion/motiondata.cgi") == 2
    nursery.cancel_scope.cancel()
