"""A camera that sends what is not a frame: HTML and text parts are never frames (nor snapshot.jpg),
oversize and garbage parts are counted and logged once, and new `group=N` names stay bounded."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio

from recorderd.cameras.triggers import MAX_SOURCES, TriggerMap
from recorderd.config.load import parse_config
from recorderd.daemon.lifecycle import Daemon
from recorderd.protocol.events import MAX_TRIGGERS, EdgeDetector, TriggerSample
from recorderd.recording.frames import Frame, RecorderInput
from tests.cameras.test_camera_fake import config
from tests.support.camfake import JPEG, FakeCam, Reply, Request, mjpeg_part

HTML = b"<html><script>alert(1)</script></html>"


def part(body: bytes, ctype: str) -> bytes:
    return (
        f"--ipcamera\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
        + b"\r\n"
    )


async def test_only_jpeg_parts_are_frames(
    tmp_path: Path, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    sent = trio.Event()

    async def video(stream: trio.SocketStream) -> None:
        if not sent.is_set():
            for _ in range(20):
                await stream.send_all(part(HTML, "text/html"))
                await stream.send_all(part(b"\xff\xd8 but text", "text/plain"))
                oversize = b"x" * 300_000
                await stream.send_all(b"--ipcamera\r\nContent-Type: image/jpeg\r\n\r\n" + oversize + b"\r\n")
                await stream.send_all(mjpeg_part(JPEG, "ipcamera"))
            sent.set()
        while True:
            await stream.send_all(mjpeg_part(JPEG, "ipcamera"))
            await trio.sleep(0.1)

    def handler(req: Request) -> Reply:
        if req.path == "/videostream.cgi":
            return Reply(200, {"Content-Type": "multipart/x-mixed-replace;boundary=ipcamera"}, stream=video)
        return Reply(200, {"Content-Type": "text/plain"}, b"var alarm_status=0;\n")

    cam = FakeCam(handler, auth="query", password="pw")
    await nursery.start(cam.serve)
    cfg = parse_config(config(tmp_path, cam.url, 'max_part_size = "100KiB"'))
    send, recv = trio.open_memory_channel[RecorderInput](10_000)
    daemon = Daemon(cfg, recorder_for=lambda name: send)
    caplog.set_level(logging.WARNING, "recorderd.cameras")
    await nursery.start(daemon.run)
    with trio.fail_after(10):
        await sent.wait()
        assert daemon.engine is not None
        camera = daemon.engine.cameras["yard"]
        while camera.stats.frames < 20:
            await trio.sleep(0.02)
    frames = []
    while True:
        try:
            item = recv.receive_nowait()
        except trio.WouldBlock:
            break
        if isinstance(item, Frame):
            frames.append(item.data)
    assert len(frames) >= 20 and set(frames) == {JPEG}
    assert camera.last_jpeg == JPEG
    assert camera.stats.parts_dropped == 60  # 20 HTML, 20 text, 20 oversize
    drops = [r.getMessage() for r in caplog.records if "part dropped" in r.getMessage()]
    assert len(drops) == 1 and "yard: video stream: part dropped: not a JPEG (text/html)" in drops[0]
    nursery.cancel_scope.cancel()


def test_new_names_from_a_camera_stay_bounded() -> None:
    """A motion stream with a new `group=N` in every part: the names kept stop at their bounds and
    the configured aggregate still works."""
    detector = EdgeDetector()
    triggers = TriggerMap(["motion", "input:1"])
    changes = []
    detector.update([TriggerSample("input:1", False)])  # known before the flood
    for n in range(20_000):
        samples = [TriggerSample(f"motion:{n}", n % 2 == 0), TriggerSample("motion", n % 2 == 0)]
        for edge in detector.update(samples):
            changes += triggers.sample(edge.trigger, edge.active)
    assert detector.size() <= MAX_TRIGGERS and detector.ignored > 0
    assert triggers.size() <= MAX_SOURCES * 2
    # a name the camera had reported before the flood is still followed
    later = []
    for on in (True, False):
        for edge in detector.update([TriggerSample("input:1", on)]):
            later += triggers.sample(edge.trigger, edge.active)
    assert [(c.trigger, c.on) for c in later] == [("input:1", True), ("input:1", False)]


async def test_manual_triggers_extend_and_never_cut_a_later_incident(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    """A second POST while a manual trigger runs extends it; an earlier POST's release never ends
    a later incident (it did: repeated POSTs gave incidents with no length)."""
    from recorderd.core import events as ev
    from tests.cameras.test_camera_fake import Foscam
    from tests.support.simharness import Watch

    cam = FakeCam(Foscam(), auth="query", password="pw")
    await nursery.start(cam.serve)
    cfg = parse_config(config(tmp_path, cam.url, 'min_off = "0s"\nmanual_duration = "1s"'))
    daemon = Daemon(cfg, recorder_for=lambda name: None)
    events = Watch(daemon.bus.subscribe("test"))
    await nursery.start(daemon.run)
    await events.next(ev.Connected)
    assert daemon.engine is not None
    first = await daemon.engine.trigger("yard")  # the camera's manual_duration: 1 s
    await trio.sleep(0.5)
    assert await daemon.engine.trigger("yard", 1.0) == first  # joins, and lasts until 1.5 s

    async def incident() -> tuple[ev.IncidentEvent, ev.IncidentEvent]:
        start, end = (
            await events.next(ev.IncidentEvent),
            await events.next(ev.IncidentEvent, timeout=5),
        )
        assert isinstance(start, ev.IncidentEvent) and isinstance(end, ev.IncidentEvent)
        return start, end

    start, end = await incident()
    assert (start.id, end.id, end.type) == (first, first, "end")
    assert 1.4 < (end.time - start.time).total_seconds() < 1.9
    second = await daemon.engine.trigger("yard", 2.0)
    assert second != first
    start2, end2 = await incident()
    assert end2.id == second and 1.9 < (end2.time - start2.time).total_seconds() < 2.4
    nursery.cancel_scope.cancel()
