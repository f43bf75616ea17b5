"""The web UI's HTTP side against the real daemon recording from the simulator: sessions and CSRF,
frames and audio as recorded, export, live view and server-sent events."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trio

from recorderd.daemon.lifecycle import Daemon
from recorderd.recording.index import RecordingRow
from recorderd.recording.mkv import AUDIO, VIDEO, read_file
from recorderd.service import http
from recorderd.sim import Simulator, open_simulator
from tests.support.e2eharness import e2e_raw as daemon_raw
from tests.support.e2eharness import e2e_sim_config as sim_config
from tests.support.simharness import daemon_config
from tests.support.wait import wait_until as until

TOKEN = "api-t0ken"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Served:
    sim: Simulator
    daemon: Daemon
    client: httpx.AsyncClient


@asynccontextmanager
async def served(tmp_path: Path, record: dict[str, str]) -> AsyncIterator[Served]:
    sims = {"front": {"dialect": "vapix", "fps": 10, "audio": "mulaw"}}
    async with open_simulator(sim_config(sims)) as sim:
        raw = daemon_raw(
            sim, tmp_path / "state", {"front": {"triggers": ["motion"], "audio": True, "record": record}}
        )
        raw["daemon"].update(http_listen="127.0.0.1:0", http_token=TOKEN)
        daemon = Daemon(daemon_config(raw))
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            base = daemon.http_addresses[0]
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                yield Served(sim, daemon, client)
            daemon.stop()


async def test_login_session_cookie_and_csrf(tmp_path: Path) -> None:
    async with served(tmp_path, {"mode": "off"}) as s:
        c = s.client
        assert (await c.get("/ui/api/cameras")).status_code == 401
        page = await c.get("/ui/")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "unsafe-inline" not in page.headers["content-security-policy"]
        assert (await c.get("/ui/static/../app.py")).status_code == 404
        assert (await c.get("/ui/api/session")).json() == {"login": True, "ok": False, "csrf": None}
        assert (await c.post("/ui/api/login", json={"token": "nope"})).status_code == 401
        r = await c.post("/ui/api/login", json={"token": TOKEN})
        assert r.status_code == 200
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        csrf = r.json()["csrf"]
        assert (await c.get("/ui/api/cameras")).json()["cameras"][0]["name"] == "front"
        # a state change with the cookie alone is refused; with the CSRF header it is done
        assert (await c.post("/api/cameras/front/armed", json={"armed": "OFF"})).status_code == 401
        wrong = {"X-Recorderd-CSRF": csrf[:-1] + "x"}
        assert (
            await c.post("/api/cameras/front/armed", json={"armed": "OFF"}, headers=wrong)
        ).status_code == 401
        ok = await c.post(
            "/api/cameras/front/armed", json={"armed": "OFF"}, headers={"X-Recorderd-CSRF": csrf}
        )
        assert ok.status_code == 200
        assert s.daemon.engine is not None and not s.daemon.engine.cameras["front"].machine.armed
        # the bearer token needs no cookie and no CSRF token (no browser sends it by itself)
        async with httpx.AsyncClient(base_url=str(c.base_url), timeout=10) as bare:
            assert (
                await bare.post("/api/cameras/front/armed", content="AUTO", headers=BEARER)
            ).status_code == 200
            assert (await bare.post("/ui/api/logout", headers=BEARER)).status_code == 200
        assert (await c.post("/ui/api/logout", headers={"X-Recorderd-CSRF": csrf})).status_code == 200
        assert (await c.get("/ui/api/cameras")).status_code == 401


async def test_frames_audio_and_export_as_recorded(tmp_path: Path) -> None:
    async with served(tmp_path, {"mode": "continuous", "segment": "2s"}) as s:
        index = s.daemon.index
        assert index is not None

        def with_audio() -> list[RecordingRow]:
            # the audio stream may connect after the first 2 s file closed (a loaded CI machine)
            rows = index.list_recordings("front", complete=True)
            return [r for r in rows if any(b.track == AUDIO for b in read_file(r.path)[1])]

        await until(lambda: len(with_audio()) >= 2, 30, "two closed files with audio")
        row = with_audio()[0]
        c = s.client
        fi = (await c.get(f"/ui/api/recordings/{row.id}/index", headers=BEARER)).json()
        scan, blocks = read_file(row.path)
        video = [b for b in blocks if b.track == VIDEO]
        assert fi["frames"] == [b.ts for b in video]
        assert abs(fi["origin"] - scan.origin_wall * 1000) < 0.001
        for n in (0, len(video) // 2, len(video) - 1):
            r = await c.get(f"/ui/api/recordings/{row.id}/frames/{n}", headers=BEARER)
            assert r.headers["content-type"] == "image/jpeg" and r.content == video[n].data
        assert (
            await c.get(f"/ui/api/recordings/{row.id}/frames/{len(video)}", headers=BEARER)
        ).status_code == 404
        # by time (a seek before the frame table is read): the frame shown then, and its time
        ft = [fi["origin"] + ts for ts in fi["frames"]]
        mid = len(video) // 2
        for n, at in (
            (0, ft[0] - 500),
            (1, ft[1]),
            (mid, (ft[mid] + ft[mid + 1]) / 2),
            (len(ft) - 1, ft[-1] + 5000),
        ):
            r = await c.get(f"/ui/api/recordings/{row.id}/frame", params={"at": at}, headers=BEARER)
            assert r.content == video[n].data, n
            assert abs(float(r.headers["x-frame-time"]) - ft[n]) < 0.01
        for bad in ("", "nan", "soon"):
            r = await c.get(f"/ui/api/recordings/{row.id}/frame", params={"at": bad}, headers=BEARER)
            assert r.status_code == 400

        # audio: the file's mu-law decoded to PCM, laid at its timestamps (ffmpeg decodes the same)
        first_audio = next(b.ts for b in blocks if b.track == AUDIO)
        end = int(scan.duration_ms)
        wav = (await c.get(f"/ui/api/recordings/{row.id}/audio.wav?from=0&to={end}", headers=BEARER)).content
        assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
        pcm = wav[44:]
        assert len(pcm) == end * 8 * 2
        ff = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(row.path), "-map", "0:a", "-f", "s16le", "-"],
            capture_output=True,
            check=True,
        ).stdout
        at = first_audio * 16  # 8 samples of 2 bytes per ms
        assert pcm[at : at + len(ff) - 320] == ff[: len(ff) - 320]  # the last block may fall past the end
        assert pcm[: at - 16] == bytes(at - 16)  # silence before the first block

        # download and export: the MKV as recorded; the MP4 by ffmpeg (H.264, AAC)
        dl = await c.get(f"/ui/api/recordings/{row.id}/file", headers=BEARER)
        assert dl.content == row.path.read_bytes()
        rows = with_audio()
        t0, t1 = rows[0].start.timestamp() * 1000, rows[1].end.timestamp() * 1000  # type: ignore[union-attr]
        for fmt, codecs in (("mkv", {"mjpeg", "pcm_mulaw"}), ("mp4", {"h264", "aac"})):
            r = await c.get(
                f"/ui/api/cameras/front/export?from={t0}&to={t1}&format={fmt}", headers=BEARER, timeout=120
            )
            assert r.status_code == 200, r.text
            out = tmp_path / f"export.{fmt}"
            out.write_bytes(r.content)
            probe = subprocess.run(
                ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "json", str(out)],
                capture_output=True,
                check=True,
            )
            assert {st["codec_name"] for st in json.loads(probe.stdout)["streams"]} == codecs
        exports = tmp_path / "state" / "exports"
        await until(lambda: not list(exports.rglob("*.*")), 10, "export files deleted once sent")


async def test_live_view_and_events_stream(tmp_path: Path) -> None:
    # the live view passes on the stream the daemon opens to record (mode "event": the pre-trigger ring)
    async with served(tmp_path, {"mode": "event"}) as s:
        c, cam = s.client, s.sim["front"]
        async with c.stream("GET", "/ui/api/cameras/front/live.mjpg", headers=BEARER) as live:
            assert live.headers["content-type"].startswith("multipart/x-mixed-replace")
            buf = b""
            with trio.fail_after(10):
                async for chunk in live.aiter_bytes():
                    buf += chunk
                    if buf.count(b"--recorderdframe") >= 5:
                        break
        # the first part is the newest picture at hand (before the stream is up: the snapshot CGI's)
        parts = [p.split(b"\r\n\r\n", 1)[1][:-2] for p in buf.split(b"--recorderdframe")[2:5]]
        sent = {cam.frame_bytes(q) for q in cam.sent_seqs()}
        assert all(p in sent for p in parts), "a live frame the camera never sent"

        async with c.stream("GET", "/ui/api/events", headers=BEARER) as events:
            assert events.headers["content-type"].startswith("text/event-stream")
            r = await c.post("/api/cameras/front/trigger", headers=BEARER)
            incident = r.json()["incident"]
            with trio.fail_after(10):
                async for line in events.aiter_lines():
                    if line.startswith("data:") and incident in line:
                        data = json.loads(line[5:])
                        break
            assert data["type"] == "start" and data["trigger"] == "manual" and data["camera"] == "front"
        listed = (await c.get("/ui/api/incidents?camera=front", headers=BEARER)).json()["incidents"]
        assert [i["id"] for i in listed] == [incident]


async def test_a_live_view_outlives_the_endpoints_timeouts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A viewer sends nothing while its stream runs: no read timeout of the endpoint may cut it
    (hypercorn's read_timeout did, after 10 s). The timeouts are shortened to 1 s here."""
    monkeypatch.setattr(http, "KEEP_ALIVE", 1.0)
    monkeypatch.setattr(http, "BODY_TIMEOUT", 1.0)
    async with (
        served(tmp_path, {"mode": "event"}) as s,
        s.client.stream("GET", "/ui/api/cameras/front/live.mjpg", headers=BEARER) as live,
    ):
        start = trio.current_time()
        late = 0  # frames after three of those timeouts
        with trio.fail_after(10):
            async for chunk in live.aiter_bytes():
                if trio.current_time() - start > 3.0:
                    late += chunk.count(b"--recorderdframe")
                    if late >= 3:
                        break
