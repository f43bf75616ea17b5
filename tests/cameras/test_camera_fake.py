"""The camera runtime end to end against the scripted fake camera (Foscam dialect): frames flow to
the recorder channel, a polled alarm becomes exactly one incident in the index, faults reconnect."""

from __future__ import annotations

from pathlib import Path

import trio

from recorderd.config.load import parse_config
from recorderd.core import events as ev
from recorderd.daemon.lifecycle import Daemon
from recorderd.recording.frames import ClipEnd, ClipStart, Frame, RecorderInput
from tests.support.camfake import JPEG, FakeCam, Reply, Request, mjpeg_part
from tests.support.simharness import Watch


class Foscam:
    """videostream.cgi at ~50 fps and get_status.cgi with a settable alarm_status."""

    def __init__(self) -> None:
        self.alarm = 0
        self.frames = 0
        self.fail_status: int | None = None

    async def video(self, stream: trio.SocketStream) -> None:
        while True:
            await stream.send_all(mjpeg_part(JPEG, "ipcamera"))
            self.frames += 1
            await trio.sleep(0.02)

    def __call__(self, req: Request) -> Reply:
        if self.fail_status is not None:
            return Reply(self.fail_status)
        if req.path == "/videostream.cgi":
            return Reply(
                200, {"Content-Type": "multipart/x-mixed-replace;boundary=ipcamera"}, stream=self.video
            )
        if req.path == "/get_status.cgi":
            return Reply(
                200, {"Content-Type": "text/plain"}, f"var id='x';\nvar alarm_status={self.alarm};\n".encode()
            )
        return Reply(404)


def config(tmp_path: Path, url: str, extra: str = "") -> str:
    return f"""
[daemon]
state_dir = "{tmp_path}"
timezone = "UTC"
http_listen = ""
[cameras.yard]
dialect = "foscam"
url = "{url}"
username = "admin"
password = "pw"
auth = "query"
triggers = ["motion"]
poll_interval = "50ms"
read_timeout = "1s"
{extra}
"""


async def test_alarm_gives_one_incident_with_frames_to_the_recorder(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    script = Foscam()
    cam = FakeCam(script, auth="query", password="pw")
    await nursery.start(cam.serve)
    cfg = parse_config(config(tmp_path, cam.url))
    send, recv = trio.open_memory_channel[RecorderInput](10_000)
    daemon = Daemon(cfg, recorder_for=lambda name: send)
    events = Watch(daemon.bus.subscribe("test"))
    await nursery.start(daemon.run)
    c = await events.next(ev.Connected, timeout=5)
    assert isinstance(c, ev.Connected) and c.connected
    await trio.sleep(0.3)  # quiet: no incident from connecting
    t_on = trio.current_time()
    script.alarm = 1
    start = await events.next(ev.IncidentEvent, timeout=5)
    assert isinstance(start, ev.IncidentEvent) and start.type == "start" and start.trigger == "motion"
    assert trio.current_time() - t_on < 1.0
    await trio.sleep(0.5)
    script.alarm = 0
    end = await events.next(ev.IncidentEvent, timeout=5)
    assert isinstance(end, ev.IncidentEvent) and end.type == "end" and end.id == start.id
    duration = (end.time - start.time).total_seconds()
    assert 0.35 < duration < 1.0
    assert daemon.index is not None
    rows = await trio.to_thread.run_sync(daemon.index.list_incidents)
    assert [(r.id, r.camera, r.triggers) for r in rows] == [(start.id, "yard", ("motion",))]
    assert rows[0].end is not None and abs((rows[0].end - end.time).total_seconds()) < 1e-3
    # the recorder channel got frames, and the incident's start and end in order
    got: list[RecorderInput] = []
    while True:
        try:
            got.append(recv.receive_nowait())
        except trio.WouldBlock:
            break
    frames = [g for g in got if isinstance(g, Frame)]
    assert len(frames) > 20 and all(f.data == JPEG and f.kind == "video" for f in frames)
    marks = [g for g in got if isinstance(g, ClipStart | ClipEnd)]
    assert [type(m) for m in marks] == [ClipStart, ClipEnd]
    assert marks[0].incident == start.id
    nursery.cancel_scope.cancel()


async def test_faults_reconnect_without_phantom_incidents(tmp_path: Path, nursery: trio.Nursery) -> None:
    script = Foscam()
    cam = FakeCam(script, auth="query", password="pw")
    await nursery.start(cam.serve)
    cfg = parse_config(config(tmp_path, cam.url))
    daemon = Daemon(cfg)
    events = Watch(daemon.bus.subscribe("test"))
    await nursery.start(daemon.run)
    assert daemon.engine is not None
    yard = daemon.engine.cameras["yard"]
    c = await events.next(ev.Connected, timeout=5)
    assert isinstance(c, ev.Connected) and c.connected
    script.alarm = 1
    start = await events.next(ev.IncidentEvent, timeout=5)
    for status in (503, 401):
        script.fail_status = status
        down = await events.next(ev.Connected, timeout=5)
        assert isinstance(down, ev.Connected) and not down.connected
        script.fail_status = None
        up = await events.next(ev.Connected, timeout=5)
        assert isinstance(up, ev.Connected) and up.connected
    assert yard.machine.incident_open  # still the same incident: the outage fired nothing new
    script.alarm = 0
    end = await events.next(ev.IncidentEvent, timeout=5)
    assert isinstance(end, ev.IncidentEvent) and end.type == "end" and end.id == getattr(start, "id", None)
    assert yard.stats.incidents == 1 and yard.stats.reconnects >= 2
    nursery.cancel_scope.cancel()


async def test_a_garbled_event_part_is_skipped_not_reconnected(tmp_path: Path, nursery: trio.Nursery) -> None:
    go = trio.Event()

    async def motion(stream: trio.SocketStream) -> None:
        def part(text: str) -> bytes:
            return f"--mdb\r\nContent-Type: text/plain\r\n\r\n{text}\r\n".encode()

        # a part completes when the next boundary comes: keep talking, as monitors do
        while not go.is_set():
            await stream.send_all(part("group=0;level=1;threshold=45;"))
            await trio.sleep(0.1)
        await stream.send_all(part("group=0;level=;threshold=45;"))  # unreadable
        while True:
            await stream.send_all(part("group=0;level=80;threshold=45;"))
            await trio.sleep(0.1)

    def handler(req: Request) -> Reply:
        if req.path == "/motion.cgi":
            return Reply(200, {"Content-Type": "multipart/x-mixed-replace;boundary=mdb"}, stream=motion)
        return Reply(404)

    cam = FakeCam(handler)
    await nursery.start(cam.serve)
    text = config(tmp_path, cam.url).replace('dialect = "foscam"', 'dialect = "openapi"')
    text = text.replace('auth = "query"', 'auth = "auto"') + 'record = { mode = "off" }\n'
    daemon = Daemon(parse_config(text))
    events = Watch(daemon.bus.subscribe("test"))
    await nursery.start(daemon.run)
    c = await events.next(ev.Connected, timeout=5)
    assert isinstance(c, ev.Connected) and c.connected
    go.set()
    start = await events.next(ev.IncidentEvent, timeout=5)
    assert isinstance(start, ev.IncidentEvent) and start.type == "start"
    assert daemon.engine is not None and daemon.engine.cameras["yard"].stats.reconnects == 0
    assert len([r for r in cam.requests if r.path == "/motion.cgi"]) == 1
    nursery.cancel_scope.cancel()
