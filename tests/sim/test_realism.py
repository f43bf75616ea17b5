"""The simulator as real cameras behave: each camera's own clock and zone through its time CGI,
Foscam's privacy schedule under set_forbidden.cgi's names, frames of different cameras at
independent phases, and frames written in bursts as a real link delivers them."""

from __future__ import annotations

import re
import statistics
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import trio

from recorderd.sim import SimCamera, SimCameraConfig, SimConfig, open_simulator
from tests.support.simreaders import StreamReader, auth_for, get, next_part

SKEW = -42.0  # seconds: the camera's clock is behind
ZONE = "Asia/Kolkata"  # UTC+05:30, no daylight saving: a zone only TimeZoneIndex can tell


def clock_config() -> SimConfig:
    common = {"width": 160, "height": 120, "frames": 5, "timezone": ZONE, "clock_skew": SKEW}
    return SimConfig(
        cameras={
            d: SimCameraConfig(dialect=d, **common)
            for d in ("ipcamcgi", "openapi", "vapix", "foscam", "move")
        }
    )


def near(camera_time: datetime, skew: float = SKEW, within: float = 3.0) -> bool:
    true = datetime.now(UTC) + timedelta(seconds=skew)
    return abs((camera_time - true).total_seconds()) < within


async def test_every_time_cgi_tells_the_cameras_own_clock() -> None:
    kolkata = ZoneInfo(ZONE)
    async with open_simulator(clock_config()) as sim, httpx.AsyncClient(timeout=10) as client:
        # IPCamCGI §3.1.5: Date, Time, TimeZone (hours), TimeZoneIndex (Table 1: 58 is GMT+05:30)
        r = await get(client, sim["ipcamcgi"], "/datetime.cgi")
        v = dict(line.split("=", 1) for line in r.text.split("\r\n") if line)
        assert (v["TimeZone"], v["TimeZoneIndex"]) == ("+6", "58")  # 5.5 h rounds to 6 in whole hours
        local = datetime.strptime(f"{v['Date']} {v['Time']}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=kolkata)
        assert near(local)
        # ... and the frame header's date is the same clock
        cam = sim["ipcamcgi"]
        async with client.stream("GET", cam.video_url, auth=auth_for(cam)) as resp:
            with trio.fail_after(5):
                part = await next_part(StreamReader(resp), b"--video boundary--")
        stamp = datetime.strptime(part.headers["date"][:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=kolkata)
        assert near(stamp)
        # Open API §1.10.1 time.cgi, VAPIX §5.1.12.1 date.cgi, MOVE date.cgi: local time, no zone
        for name, path in (
            ("openapi", "/time.cgi?action=get"),
            ("vapix", "/date.cgi?action=get"),
            ("move", "/cgi-bin/admin/date.cgi?action=get"),
        ):
            r = await get(client, sim[name], path)
            assert re.fullmatch(r"[A-Z][a-z]{2} \d\d, \d{4} \d\d:\d\d:\d\d\r\n", r.text), (name, r.text)
            local = datetime.strptime(r.text.strip(), "%b %d, %Y %H:%M:%S").replace(tzinfo=kolkata)
            assert near(local), name
        # MOVE keeps the zone in param.cgi Time.TimeZone (GMT-12 ... GMT+13)
        r = await get(client, sim["move"], "/cgi-bin/admin/param.cgi?action=list&group=Time.TimeZone")
        assert r.text == "root.Time.TimeZone=GMT+6\r\n"
        # Foscam get_status.cgi: now in UTC seconds, tz in seconds west of GMT
        r = await get(client, sim["foscam"], "/get_status.cgi")
        now = int(re.search(r"var now=(\d+);", r.text).group(1))  # type: ignore[union-attr]
        assert abs(now - (time.time() + SKEW)) < 3 and "var tz=-19800;" in r.text


async def test_skew_can_change_while_running() -> None:
    cfg = SimConfig(cameras={"c": SimCameraConfig(dialect="foscam", width=160, height=120, frames=5)})
    async with open_simulator(cfg) as sim, httpx.AsyncClient(timeout=10) as client:
        cam = sim["c"]
        cam.clock_skew = 3600.0
        r = await get(client, cam, "/get_status.cgi")
        now = int(re.search(r"var now=(\d+);", r.text).group(1))  # type: ignore[union-attr]
        assert abs(now - (time.time() + 3600)) < 3 and "var tz=0;" in r.text


async def test_foscam_get_forbidden_answers_set_forbidden_names() -> None:
    """Foscam CGI: get_forbidden.cgi "return: see set_forbidden.cgi", i.e. schedule_enable and
    schedule_<day>_<n>, the words in which a set bit forbids video/audio for 15 minutes."""
    privacy = {"foscam": {"sat_1": 4294967264, "sun_2": -1}}
    cfg = SimConfig(cameras={"c": SimCameraConfig(dialect="foscam", privacy=privacy, width=160, height=120)})
    async with open_simulator(cfg) as sim, httpx.AsyncClient(timeout=10) as client:
        cam = sim["c"]
        r = await get(client, cam, "/get_forbidden.cgi")
        names = re.findall(r"^var (\w+)=", r.text, re.M)
        assert names == ["schedule_enable"] + [
            f"schedule_{d}_{i}" for d in ("sun", "mon", "tue", "wed", "thu", "fri", "sat") for i in range(3)
        ]
        assert "var schedule_enable=1;\n" in r.text and "var schedule_sat_1=4294967264;\n" in r.text
        assert "var schedule_sun_2=4294967295;\n" in r.text and "forbidden_" not in r.text
        # what set_forbidden.cgi sets is what get_forbidden.cgi answers
        r = await get(client, cam, "/set_forbidden.cgi?schedule_enable=0&schedule_mon_0=7")
        assert r.text == "ok.\n" and cam.calls("forbidden")[-1].params == {
            "schedule_enable": "0",
            "schedule_mon_0": "7",
        }
        r = await get(client, cam, "/get_forbidden.cgi")
        assert "var schedule_enable=0;\n" in r.text and "var schedule_mon_0=7;\n" in r.text
        r = await get(client, cam, "/set_forbidden.cgi?forbidden_enable=1")
        assert r.text.startswith("error: ")


def test_only_a_foscam_camera_keeps_a_privacy_schedule() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="only a foscam camera keeps a privacy schedule"):
        SimCameraConfig(dialect="vapix", privacy={"foscam": {"sun_0": 1}})


async def first_frame_times(cfg: SimConfig, n: int) -> dict[str, list[float]]:
    """When each camera's frames arrive at a client (the ticks' monotonic times), `n` per camera."""
    out: dict[str, list[float]] = {}
    async with (
        open_simulator(cfg) as sim,
        httpx.AsyncClient(timeout=10) as client,
        trio.open_nursery() as nursery,
    ):
        for cam in sim:

            async def read(cam: SimCamera = cam) -> None:
                async with client.stream("GET", cam.video_url) as resp:
                    r = StreamReader(resp)
                    with trio.fail_after(10):
                        for _ in range(n):
                            await next_part(r, b"--myboundary")
                out[cam.name] = [cam.frame(q).mono for q in cam.sent_seqs()[:n]]

            nursery.start_soon(read)
    return out


def phases(times: dict[str, list[float]], period: float) -> list[float]:
    start = min(t[0] for t in times.values())
    return sorted(((statistics.median(t) - start) % period) / period for t in times.values())


async def test_cameras_send_at_independent_phases_by_default() -> None:
    cams = {
        f"c{i}": SimCameraConfig(dialect="mjpeg", width=160, height=120, frames=5, fps=5) for i in range(8)
    }
    random_ = await first_frame_times(SimConfig(cameras=cams, simulator={"seed": 7}), 3)
    spread = phases(random_, 0.2)
    # eight cameras at eight instants of the period, not one
    assert len({round(p, 2) for p in spread}) >= 6, spread
    shared = await first_frame_times(SimConfig(cameras=cams, simulator={"frame_phase": "shared"}), 3)
    ticks = {round(t[0], 4) for t in shared.values()}
    assert len(ticks) == 1, ticks  # the shared ticker: every camera's frame at one instant


async def test_a_camera_can_be_given_its_phase() -> None:
    cams = {
        "a": SimCameraConfig(dialect="mjpeg", width=160, height=120, frames=5, fps=5, phase=0.0),
        "b": SimCameraConfig(dialect="mjpeg", width=160, height=120, frames=5, fps=5, phase=0.5),
    }
    times = await first_frame_times(SimConfig(cameras=cams), 3)
    gap = (statistics.median(times["b"]) - statistics.median(times["a"])) % 0.2
    assert 0.08 < gap < 0.12, gap


def test_link_bursts_as_a_100_mbit_link_delivers() -> None:
    """ "link": a burst per `burst_gap` of transfer time: 12.5 KB per millisecond at 100 Mbit/s, so a
    ~22 KB frame comes in two bursts a millisecond apart, a 2 KB one in one."""
    cam = SimCameraConfig(dialect="mjpeg")  # "link" is the default: a real camera's frames
    assert cam.frame_bursts == "link"
    assert (cam.link_rate, cam.burst_gap) == (100e6, 0.001)
    assert [cam.burst_count(n) for n in (2_000, 12_500, 22_000, 60_000)] == [1, 1, 2, 5]
    assert SimCameraConfig(dialect="mjpeg", frame_bursts="off").burst_count(22_000) == 1  # the convenience
    assert SimCameraConfig(dialect="mjpeg", frame_bursts=4).burst_count(22_000) == 4


async def test_a_frame_arrives_in_its_bursts() -> None:
    """K = 4 bursts 10 ms apart: a client reading the socket sees each frame in (at least) four pieces."""
    cfg = SimConfig(cameras={"c": SimCameraConfig(dialect="mjpeg", frame_bursts=4, burst_gap=0.01, fps=2)})
    async with open_simulator(cfg) as sim:
        cam = sim["c"]
        size = len(cam.current_jpeg())
        stream = await trio.open_tcp_stream("127.0.0.1", cam.port)
        await stream.send_all(b"GET /video.mjpg HTTP/1.0\r\n\r\n")
        arrivals: list[float] = []
        received = 0
        with trio.fail_after(10):
            while received < 3 * size:
                received += len(await stream.receive_some(1 << 20))
                arrivals.append(time.monotonic())
        await stream.aclose()
    # the pieces of one frame are ~10 ms apart, frames 500 ms apart
    frames: list[list[float]] = []
    for t in arrivals[1:]:
        if frames and t - frames[-1][-1] < 0.2:
            frames[-1].append(t)
        else:
            frames.append([t])
    whole = frames[:-1]  # the last frame may still be coming
    assert whole and all(len(f) >= 4 for f in whole), [len(f) for f in frames]
    assert all(f[-1] - f[0] >= 0.025 for f in whole)  # three gaps of 10 ms at least
