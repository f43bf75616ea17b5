"""What the camera keeps, read by the daemon end to end over real HTTP from the simulator: its
clock (skew and zone, in the status and the metrics, a warning above 5 s), its arming schedule and
its privacy schedule (`schedule`/`privacy = "camera"`), followed in the zone the camera tells."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import trio

from recorderd.core import events as ev
from tests.support.simharness import Rig, rig
from tests.support.wait import wait_until

KOLKATA = "Asia/Kolkata"  # UTC+05:30: 5.5 h from the daemon's UTC, so a wrong zone cannot pass
TOKYO = "Asia/Tokyo"
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")

# dialect -> (the camera's zone, the zone it tells the daemon, the daemon camera's configured zone)
CLOCKS: dict[str, tuple[str, str | None, str | None]] = {
    "ipcamcgi": (KOLKATA, "UTC+05:30", None),  # datetime.cgi TimeZoneIndex 58
    "foscam": (KOLKATA, "UTC+05:30", None),  # get_status.cgi tz=-19800
    "move": (TOKYO, "UTC+09:00", None),  # param.cgi Time.TimeZone=GMT+9
    "openapi": (TOKYO, None, TOKYO),  # time.cgi tells no zone: read in the configured one
    "vapix": (TOKYO, None, TOKYO),
}


async def wait_clock_read(r: Rig, camera: str = "cam") -> dict[str, Any]:
    assert r.daemon.engine is not None
    cam = r.daemon.engine.cameras[camera]
    await wait_until(lambda: cam.clock_state.read_at is not None, what="the camera's clock read")
    return cam.status()["clock"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("dialect", sorted(CLOCKS))
async def test_the_cameras_clock_is_read_at_connect(
    dialect: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    zone, told, configured = CLOCKS[dialect]
    sim: dict[str, dict[str, Any]] = {"cam": {"dialect": dialect, "timezone": zone, "clock_skew": -42.0}}
    extra: dict[str, Any] = {"triggers": ["motion"], "record": {"mode": "off"}}
    if configured:
        extra["timezone"] = configured
    with caplog.at_level(logging.WARNING, logger="recorderd.cameras"):
        async with rig(tmp_path, sim, {"cam": extra}) as r:
            await r.watch.next(ev.Connected, "cam", connected=True)
            clock = await wait_clock_read(r)
            assert clock["skew"] == pytest.approx(-42.0, abs=1.5), clock
            assert clock["zone"] == told and clock["error"] == ""
            assert r.daemon.view is not None
            assert r.daemon.view.metrics().cameras["cam"].clock_skew == clock["skew"]
    warned = [x.getMessage() for x in caplog.records if "camera clock" in x.getMessage()]
    assert len(warned) == 1 and warned[0].startswith("cam: camera clock is 4") and "behind" in warned[0]


async def test_a_clock_within_5s_is_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sim: dict[str, dict[str, Any]] = {
        "ok": {"dialect": "vapix", "clock_skew": 2.0},
        "clone": {"dialect": "foscam", "faults": {"foscam_no_var": True}},  # clone firmware's lines
    }
    extra = {n: {"triggers": ["motion"], "record": {"mode": "off"}} for n in sim}
    with caplog.at_level(logging.INFO, logger="recorderd.cameras"):
        async with rig(tmp_path, sim, extra) as r:
            clock = await wait_clock_read(r, "ok")
            assert clock["skew"] == pytest.approx(2.0, abs=1.5)
            clone = await wait_clock_read(r, "clone")
            assert clone["zone"] == "UTC" and clone["skew"] == pytest.approx(0.0, abs=1.5)
    assert not [x for x in caplog.records if "camera clock is" in x.getMessage()]


# -- schedules kept on the camera ------------------------------------------------------------------


def local_now(zone: str) -> datetime:
    return datetime.now(ZoneInfo(zone))


def foscam_words(zone: str, *, around_now: bool) -> dict[str, int]:
    """96 slots a day: the two hours around the camera's now on (around_now) or off (the rest on)."""
    now = local_now(zone)
    near = set()
    for k in range(-4, 5):
        t = now + timedelta(minutes=15 * k)
        near.add((DAYS[(t.weekday() + 1) % 7], (t.hour * 60 + t.minute) // 15))
    words: dict[str, int] = {}
    for day in DAYS:
        for w in range(3):
            bits = 0
            for b in range(32):
                if ((day, w * 32 + b) in near) == around_now:
                    bits |= 1 << b
            words[f"{day}_{w}"] = bits
    return words


def clock_text(t: datetime) -> str:
    return t.strftime("%H:%M:%S")


# dialect -> (simulator settings for "the camera is armed now" / "disarmed now", configured zone)
def kept_schedule(dialect: str, armed_now: bool) -> dict[str, Any]:
    if dialect == "foscam":
        return {"schedule": {"foscam": foscam_words(KOLKATA, around_now=armed_now)}, "timezone": KOLKATA}
    if dialect == "ipcamcgi":
        now = local_now(KOLKATA)
        a, b = now - timedelta(hours=1), now + timedelta(hours=1)
        start, stop = (a, b) if armed_now else (b, a)  # stop before start: across midnight
        return {
            "schedule": {"days": 127, "start": clock_text(start), "stop": clock_text(stop)},
            "timezone": KOLKATA,
        }
    now = local_now(TOKYO)  # vapix tells no zone: the camera and the config agree on Tokyo
    start = now - timedelta(hours=1) if armed_now else now + timedelta(hours=1)
    return {
        "schedule": {
            "weekdays": "1111111",
            "start": start.strftime("%H:00"),
            "duration": 3 if armed_now else 21,
        },
        "timezone": TOKYO,
    }


async def trigger_once(r: Rig) -> list[ev.IncidentEvent]:
    await r.sim.set_trigger("cam", "motion", True)
    await r.watch.next(ev.TriggerChanged, "cam", on=True)
    await r.sim.set_trigger("cam", "motion", False)
    await r.watch.next(ev.TriggerChanged, "cam", on=False)
    with trio.move_on_after(0.5):
        await r.watch.next(ev.IncidentEvent, "cam", type="end")
    return r.watch.incidents("cam")


@pytest.mark.parametrize("dialect", ["foscam", "ipcamcgi", "vapix"])
@pytest.mark.parametrize("armed_now", [False, True])
async def test_schedule_camera_end_to_end(dialect: str, armed_now: bool, tmp_path: Path) -> None:
    """The camera's schedule arms or disarms the daemon; IPCamCGI and Foscam tell their zone, so the
    schedule is followed in it (in the daemon's UTC the answer would be the opposite)."""
    sim = {"cam": {"dialect": dialect, **kept_schedule(dialect, armed_now)}}
    extra = {"triggers": ["motion"], "schedule": "camera", "record": {"mode": "off"}}
    if dialect == "vapix":
        extra["timezone"] = TOKYO
    async with rig(tmp_path, sim, {"cam": extra}) as r:
        await r.watch.next(ev.Connected, "cam", connected=True)
        assert r.daemon.engine is not None
        cam = r.daemon.engine.cameras["cam"]
        await wait_until(
            lambda: (
                cam.clock_state.read_at is not None
                and any(
                    ("upload.cgi" in q.target or "get_params.cgi" in q.target or "param.cgi" in q.target)
                    for q in r.sim["cam"].requests
                )
            ),
            what="the clock and the schedule read",
        )
        if not armed_now:
            await r.watch.next(ev.ArmedChanged, "cam", armed=False)
        incidents = await trigger_once(r)
        assert cam.machine.armed is armed_now
        assert [e.type for e in incidents] == (["start", "end"] if armed_now else [])


async def test_ipcamcgi_upload_schedule_off_means_not_limited(tmp_path: Path) -> None:
    """IPCamCGI §3.5.1: FTPScheduleEnable=0, how cameras ship, is no time window; it was read as
    "never armed", so schedule = "camera" recorded nothing."""
    async with rig(
        tmp_path,
        {"cam": {"dialect": "ipcamcgi"}},
        {"cam": {"triggers": ["motion"], "schedule": "camera", "record": {"mode": "off"}}},
    ) as r:
        await r.watch.next(ev.Connected, "cam", connected=True)
        await r.sim["cam"].wait_until(lambda: any("upload.cgi" in q.target for q in r.sim["cam"].requests))
        assert [e.type for e in await trigger_once(r)] == ["start", "end"]


@pytest.mark.parametrize("private_now", [True, False])
async def test_foscam_privacy_camera_end_to_end(private_now: bool, tmp_path: Path) -> None:
    """get_forbidden.cgi's schedule_* words (set_forbidden.cgi's names): while forbidden, triggers
    start no incident and the camera reports privacy."""
    sim = {
        "cam": {
            "dialect": "foscam",
            "timezone": KOLKATA,
            "privacy": {"foscam": foscam_words(KOLKATA, around_now=private_now)},
        }
    }
    extra = {"triggers": ["motion"], "privacy": "camera", "record": {"mode": "off"}}
    async with rig(tmp_path, sim, {"cam": extra}) as r:
        await r.watch.next(ev.Connected, "cam", connected=True)
        if private_now:
            await r.watch.next(ev.ArmedChanged, "cam", privacy=True, armed=False)
        else:
            await r.sim["cam"].wait_until(
                lambda: any("get_forbidden.cgi" in q.target for q in r.sim["cam"].requests)
            )
        incidents = await trigger_once(r)
        assert [e.type for e in incidents] == ([] if private_now else ["start", "end"])


@pytest.mark.parametrize(
    ("dialect", "body"),
    [
        ("foscam", "var now=99999999999999999999;\nvar tz=0;\nvar alarm_status=0;\n"),
        ("foscam", "var now=1352782910;\nvar tz=99999999;\nvar alarm_status=0;\n"),
        ("vapix", "Smarch 45, 20000 99:99:99\r\n"),
        ("ipcamcgi", "Date=2008-13-45\r\nTime=25:00:00\r\n"),
    ],
)
async def test_a_clock_the_camera_cannot_tell_costs_nothing(dialect: str, body: str, tmp_path: Path) -> None:
    """A lying time CGI is said in the status; the camera keeps its streams and its incidents."""
    from recorderd.cameras.http import CameraHttp

    extra = {"cam": {"triggers": ["motion"], "record": {"mode": "off"}}}
    async with rig(tmp_path, {"cam": {"dialect": dialect}}, extra) as r:
        assert r.daemon.engine is not None
        cam = r.daemon.engine.cameras["cam"]
        real_get_text = CameraHttp.get_text

        async def lying(self: CameraHttp, path: str, params: Any = None, **kw: Any) -> tuple[str, str]:
            if path in ("get_status.cgi", "date.cgi", "datetime.cgi") and params in (None, {"action": "get"}):
                return body, "text/plain"
            return await real_get_text(self, path, params, **kw)

        cam.http.get_text = lying.__get__(cam.http)  # type: ignore[method-assign]
        await r.watch.next(ev.Connected, "cam", connected=True)
        await cam._read_clock()
        assert cam.clock_state.error and cam.clock_state.skew is None
        await r.sim.set_trigger("cam", "motion", True)
        await r.watch.next(ev.IncidentEvent, "cam", type="start")


async def test_the_clock_is_read_again_while_connected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Every CLOCK_EVERY (3 h; here 0.2 s): a camera whose clock starts to drift is noticed."""
    monkeypatch.setattr("recorderd.cameras.camera.CLOCK_EVERY", 0.2)
    extra = {"cam": {"triggers": ["motion"], "record": {"mode": "off"}}}
    with caplog.at_level(logging.WARNING, logger="recorderd.cameras"):
        async with rig(tmp_path, {"cam": {"dialect": "ipcamcgi"}}, extra) as r:
            sim = r.sim["cam"]
            clock = await wait_clock_read(r)
            assert clock["skew"] == pytest.approx(0.0, abs=1.5)
            assert not [x for x in caplog.records if "camera clock is" in x.getMessage()]
            sim.clock_skew = 600.0
            assert r.daemon.engine is not None
            state = r.daemon.engine.cameras["cam"].clock_state
            await wait_until(lambda: state.skew is not None and state.skew >= 590, what="the skew seen")
            reads = sum(1 for q in sim.requests if q.target == "/datetime.cgi")
            assert reads >= 2
    warned = [x.getMessage() for x in caplog.records if "camera clock is" in x.getMessage()]
    assert warned == ["cam: camera clock is 10.0 min ahead of this host's"]
