"""One malformed value in the after-connect state query (ipcamcgi iocontrol.cgi, openapi/vapix
input.cgi?checkactive=, move eventdata.cgi?action=get) used to raise out of the resync task and
crash the camera in a restart loop (0 frames recorded). Now the bad value is logged once and
skipped, the good values of the same answer count, and the camera records on."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio

from recorderd.config.load import parse_config
from recorderd.core import events as ev
from recorderd.daemon.lifecycle import Daemon
from recorderd.recording.frames import Frame, RecorderInput
from tests.support.camfake import JPEG, FakeCam, Reply, Request, mjpeg_part


@dataclass(frozen=True)
class Case:
    video: str  # path
    boundary: str
    frame_header: str  # extra part header lines
    monitor: str | None  # path of the event monitor, its boundary and its first part
    monitor_boundary: str
    monitor_part: str
    query: str  # path of the state query
    answer: str  # one bad value, one good one


CASES = {
    "ipcamcgi": Case(
        "/mjpeg.cgi",
        "video boundary--",
        "Date: 2024-05-01 10:00:00 IO_00000000_PT_000_000\r\n",
        None,
        "",
        "",
        "/iocontrol.cgi",
        "Trigger1= 7&Trigger2= 1&ImageUpload= 0&ImageEmail= 0",
    ),
    "openapi": Case(
        "/video.mjpg",
        "myboundary",
        "",
        "/input.cgi",
        "ioboundary",
        "IO0:L\r\n",
        "/input.cgi",
        "input1=on?\r\ninput2=active\r\n",
    ),
    "vapix": Case(
        "/mjpg/video.mjpg",
        "myboundary",
        "",
        "/io/input.cgi",
        "ioboundary",
        "IO0:L\r\n",
        "/io/input.cgi",
        "input1=2\r\ninput2=active\r\n",
    ),
    "move": Case(
        "/video.mjpg",
        "myboundary",
        "",
        "/cgi-bin/admin/eventdata.cgi",
        "myboundary",
        "IO:Status=03000000000000;\r\n",
        "/cgi-bin/admin/eventdata.cgi",
        "IO:Status=03000000000200;\r\nT0:Enabled=1;Triggered=maybe;\r\nMotion:Enabled=1;Level=5;Sensitivity=80;Triggered=0;\r\n",
    ),
}
GOOD = {"ipcamcgi": "input:2", "openapi": "input:2", "vapix": "input:2", "move": "input:2"}


def fake(case: Case) -> FakeCam:
    async def video(stream: trio.SocketStream) -> None:
        while True:
            await stream.send_all(mjpeg_part(JPEG, case.boundary.rstrip("-").rstrip(), case.frame_header))
            await trio.sleep(0.02)

    async def monitor(stream: trio.SocketStream) -> None:
        part = f"--{case.monitor_boundary}\r\nContent-Type: text/plain\r\n\r\n{case.monitor_part}\r\n"
        await stream.send_all((part + f"--{case.monitor_boundary}\r\n").encode())
        await trio.sleep_forever()  # quiet from here on

    def handler(req: Request) -> Reply:
        if req.path == case.video:
            ctype = f"multipart/x-mixed-replace;boundary={case.boundary}"
            return Reply(200, {"Content-Type": ctype}, stream=video)
        if req.path == case.monitor and ("monitor" in req.query or req.query.get("action") == "monitor"):
            ctype = f"multipart/x-mixed-replace;boundary={case.monitor_boundary}"
            return Reply(200, {"Content-Type": ctype}, stream=monitor)
        if req.path == case.query:
            return Reply(200, {"Content-Type": "text/plain"}, case.answer.encode())
        return Reply(404)

    return FakeCam(handler)


@pytest.mark.parametrize("dialect", sorted(CASES))
async def test_a_bad_value_in_the_state_query_is_skipped(
    dialect: str, tmp_path: Path, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "recorderd")
    case = CASES[dialect]
    cam = fake(case)
    await nursery.start(cam.serve)
    video_url = f'video_url = "{cam.url}video.mjpg"' if dialect == "move" else ""
    text = f"""
[daemon]
state_dir = "{tmp_path}"
http_listen = ""
[cameras.{dialect}]
dialect = "{dialect}"
url = "{cam.url}"
{video_url}
triggers = ["input:1", "input:2"]
record = {{ mode = "continuous" }}
"""
    send, recv = trio.open_memory_channel[RecorderInput](100_000)
    daemon = Daemon(parse_config(text), recorder_for=lambda name: send)
    events = daemon.bus.subscribe("test")
    await nursery.start(daemon.run)
    assert daemon.engine is not None
    first = daemon.engine.cameras[dialect]
    seen: set[tuple[str, bool]] = set()
    with trio.fail_after(10):
        async for e in events:
            if isinstance(e, ev.TriggerChanged):
                seen.add((e.trigger, e.on))
            if (GOOD[dialect], True) in seen:
                break  # the good value of the bad answer counted
    frames = 0
    with trio.fail_after(10):
        while frames < 50:
            if isinstance(await recv.receive(), Frame):
                frames += 1
    assert daemon.engine.cameras[dialect] is first  # never restarted
    assert first.stats.connected and first.stats.reconnects == 0
    said = [m for m in caplog.messages if "unreadable state query answer skipped" in m]
    assert len(said) == 1 and said[0].startswith(f"{dialect}: "), caplog.messages
    assert not [m for m in caplog.messages if "camera task failed" in m]
    streams = first.status()["streams"]
    assert sum(s.get("unreadable", 0) for s in streams.values()) == 1, streams
    nursery.cancel_scope.cancel()
