"""Snapshots from the camera whenever no video stream is open: an alarm-only camera
(`record.mode = "off"`) gives every consumer a picture (the incident's Snapshot for e-mail, FTP and
MQTT, and /api/cameras/<camera>/snapshot.jpg), taken from the dialect's snapshot CGI, bounded."""

from __future__ import annotations

import email.message
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from recorderd.config.model import Config
from recorderd.core import events as ev
from recorderd.daemon.lifecycle import Daemon
from recorderd.dialects.registry import DIALECTS, Dialect
from recorderd.sim import SimCamera, open_simulator
from tests.support.broker import Mosquitto, Subscriber
from tests.support.simharness import Watch, rig, sim_config
from tests.support.targets import FtpServer, SmtpServer
from tests.support.wait import wait_until

COMMENT = re.compile(rb"recorderd-sim camera=(\w+) seq=(\d+)")
TRIGGER = {"ipcamcgi": "motion", "openapi": "motion", "vapix": "motion", "foscam": "motion", "move": "motion"}


def from_camera(jpeg: bytes, cam: SimCamera) -> bool:
    """A JPEG the simulated camera made (its comment names it)."""
    m = COMMENT.search(jpeg)
    return jpeg[:2] == b"\xff\xd8" and m is not None and m.group(1) == cam.name.encode()


def snapshot_requests(cam: SimCamera) -> int:
    path = "/" + DIALECTS[Dialect(cam.dialect)].paths.snapshot
    return sum(1 for q in cam.requests if q.target.split("?")[0] == path and q.status == 200)


@pytest.mark.parametrize("dialect", sorted(TRIGGER))
async def test_alarm_only_camera_has_pictures_from_its_snapshot_cgi(dialect: str, tmp_path: Path) -> None:
    extra = {"cam": {"triggers": [TRIGGER[dialect]], "record": {"mode": "off"}}}
    async with rig(
        tmp_path, {"cam": {"dialect": dialect}}, extra, daemon_extra={"http_listen": "127.0.0.1:0"}
    ) as r:
        cam = r.sim["cam"]
        await r.watch.next(ev.Connected, "cam", connected=True)
        if dialect == "ipcamcgi":  # a live frame first (its state query may come before any frame)
            assert r.daemon.engine is not None
            await wait_until(lambda: r.daemon.engine.cameras["cam"].stats.frames > 0, what="a frame")  # type: ignore[union-attr]
        await cam.set_trigger(TRIGGER[dialect], True)
        snap = await r.watch.next(ev.Snapshot, "cam")
        start = await r.watch.next(ev.IncidentEvent, "cam", type="start")
        assert snap.incident == start.id and from_camera(snap.jpeg, cam)
        video = [s for s in cam.streams if s.kind == "video"]
        if dialect == "ipcamcgi":
            # its events ride on the frames, so its video is open: the picture is the live frame
            assert video and snapshot_requests(cam) == 0
        else:
            assert not video and snapshot_requests(cam) == 1  # no video stream: the snapshot CGI
        # the HTTP API's snapshot, as a user or Home Assistant asks for it
        (address,) = r.daemon.http_addresses
        async with httpx.AsyncClient(base_url=f"http://{address.removeprefix('http://')}") as http:
            with trio.fail_after(10):
                got = await http.get("/api/cameras/cam/snapshot.jpg")
            assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
            assert from_camera(got.content, cam)
            # the camera's clock in the metrics, once read
            assert r.daemon.engine is not None
            clock = r.daemon.engine.cameras["cam"].clock_state
            await wait_until(lambda: clock.read_at is not None, what="the clock read")
            metrics = (await http.get("/metrics")).text
        assert re.search(r'^recorderd_camera_clock_skew_seconds\{camera="cam"\} -?\d', metrics, re.M)
        await cam.set_trigger(TRIGGER[dialect], False)
        await r.watch.next(ev.IncidentEvent, "cam", type="end")


async def test_a_camera_without_a_picture_answers_404_and_says_why(tmp_path: Path) -> None:
    extra = {"cam": {"triggers": ["motion"], "record": {"mode": "off"}}}
    async with rig(
        tmp_path, {"cam": {"dialect": "vapix"}}, extra, daemon_extra={"http_listen": "127.0.0.1:0"}
    ) as r:
        await r.watch.next(ev.Connected, "cam", connected=True)
        r.sim["cam"].set_faults(status=503)
        (address,) = r.daemon.http_addresses
        async with httpx.AsyncClient(base_url=f"http://{address.removeprefix('http://')}") as http:
            with trio.fail_after(10):
                got = await http.get("/api/cameras/cam/snapshot.jpg")
        assert got.status_code == 404 and "no snapshot from the camera" in got.json()["error"]


async def test_snapshot_fetches_are_bounded(tmp_path: Path) -> None:
    """A camera that does not answer costs at most the timeout; concurrent askers share one request."""
    extra = {"cam": {"triggers": ["motion"], "record": {"mode": "off"}}}
    async with rig(tmp_path, {"cam": {"dialect": "move"}}, extra) as r:
        await r.watch.next(ev.Connected, "cam", connected=True)
        assert r.daemon.engine is not None
        camera = r.daemon.engine.cameras["cam"]
        camera.snapshots.timeout = 0.5
        r.sim["cam"].set_faults(delay=5.0)
        results: list[bytes | None] = []
        t0 = trio.current_time()
        async with trio.open_nursery() as nursery:
            for _ in range(5):

                async def ask() -> None:
                    results.append(await camera.snapshot())

                nursery.start_soon(ask)
        # one request, 0.5 s, and its failure is every asker's answer
        assert results == [None] * 5 and trio.current_time() - t0 < 2.0
        assert sum(1 for q in r.sim["cam"].requests if "image.cgi" in q.target) <= 1
        r.sim["cam"].clear_faults()
        camera.snapshots.fresh = 0  # from here on every call asks the camera
        camera.snapshots.limit = 1000  # a test frame is ~3 KB: over the size bound
        assert await camera.snapshot() is None
        camera.snapshots.limit = 1 << 20
        assert from_camera(await camera.snapshot() or b"", r.sim["cam"])


async def test_every_consumer_gets_the_picture(tmp_path: Path) -> None:
    """E-mail attachment, FTP upload, MQTT's retained snapshot topic: all from the snapshot CGI of
    an alarm-only camera."""
    smtp = SmtpServer()
    smtp.start()
    root = tmp_path / "ftproot"
    root.mkdir()
    ftp = FtpServer(root)
    ftp.start()
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    sub = Subscriber(broker.port, ["rd/#"])
    try:
        await sub.wait_subscribed()
        async with open_simulator(sim_config({"yard": {"dialect": "foscam"}})) as sim:
            table: dict[str, Any] = sim["yard"].recorderd_camera()
            table.update(
                {
                    "triggers": ["motion"],
                    "record": {"mode": "off"},
                    "poll_interval": "100ms",
                    "actions": ["mqtt", "mail", "nas"],
                }
            )
            raw = {
                "daemon": {"state_dir": str(tmp_path / "state"), "http_listen": ""},
                "mqtt": {"host": "127.0.0.1", "port": broker.port, "topic": "rd", "discovery": False},
                "targets": {
                    "mail": {
                        "kind": "email",
                        "host": "127.0.0.1",
                        "port": smtp.port,
                        "security": "none",
                        "from": "cam@example.org",
                        "to": ["me@example.org"],
                    },
                    "nas": {
                        "kind": "ftp",
                        "host": "127.0.0.1",
                        "port": ftp.port,
                        "username": ftp.user,
                        "password": ftp.password,
                        "upload": ["snapshot"],
                    },
                },
                "cameras": {"yard": table},
            }
            cfg = Config.model_validate(raw, context={"targets": {"mail", "nas"}, "mqtt": True})
            daemon = Daemon(cfg)
            watch = Watch(daemon.bus.subscribe("test"))
            async with trio.open_nursery() as nursery:
                await nursery.start(daemon.run)
                await watch.next(ev.Connected, "yard", connected=True)
                await sim.set_trigger("yard", "motion", True)
                snap = await watch.next(ev.Snapshot, "yard")
                assert from_camera(snap.jpeg, sim["yard"])
                await wait_until(lambda: len(smtp.box.messages) >= 1, timeout=15, what="a mail")
                await wait_until(lambda: any(f.endswith(".jpg") for f in ftp.files()), timeout=15)
                got = await sub.wait_for(lambda ms: any(m.topic == "rd/yard/snapshot" for m in ms))
                nursery.cancel_scope.cancel()
        _, _, msg = smtp.box.messages[0]
        assert isinstance(msg, email.message.EmailMessage)
        attached = [p.get_content() for p in msg.iter_attachments()]
        assert attached == [snap.jpeg]
        assert [d for f, d in ftp.files().items() if f.endswith(".jpg")] == [snap.jpeg]
        assert [m.payload for m in got if m.topic == "rd/yard/snapshot"][-1] == snap.jpeg
        events = [json.loads(m.payload) for m in got if m.topic == "rd/yard/events"]
        assert all(e["camera"] == "yard" for e in events)
    finally:
        sub.close()
        broker.stop(kill=True)
        ftp.close()
        smtp.close()
