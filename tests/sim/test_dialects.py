"""Every dialect's URLs fetched with plain httpx and checked against the five dialects' documents."""

from __future__ import annotations

import itertools
import re

import httpx
import trio

from recorderd.sim import Simulator
from tests.support.simreaders import StreamReader, auth_for, boundary_of, get, next_part, url_for

JPEG_START, JPEG_END = b"\xff\xd8", b"\xff\xd9"


# ---------- IPCamCGI (CAS-3xx) ----------
DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) IO_([01]{8})_PT_(\d{3})_(\d{3})$")


async def test_ipcamcgi_mjpeg_frame_header(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["ipcamcgi"]
    async with client.stream("GET", cam.video_url, auth=auth_for(cam)) as resp:
        # 4.1.2: "Content-Type: multipart/x-mixed-replace;boundary=--video boundary--"
        assert resp.headers["content-type"] == "multipart/x-mixed-replace;boundary=--video boundary--"
        r = StreamReader(resp)
        with trio.fail_after(5):
            part = await next_part(r, b"--video boundary--")
        # Content-Length, Date, Content-Type, in that order; then JPEG data and CRLF CRLF
        assert list(part.headers) == ["content-length", "date", "content-type"]
        assert part.body[:2] == JPEG_START and part.body[-2:] == JPEG_END
        assert r.buf.startswith(b"\r\n\r\n--video boundary--\r\n") or len(r.buf) < 24
        m = DATE_RE.match(part.headers["date"])
        assert m and m.group(2) == "00000000"
        await cam.set_trigger("input:2", True)
        await cam.set_trigger("motion", True)
        with trio.fail_after(5):
            while True:
                part = await next_part(r, b"--video boundary--")
                m = DATE_RE.match(part.headers["date"])
                assert m
                if m.group(2) != "00000000":
                    break
        # 2nd digit Trigger2, 3rd Image Upload (the simulator's motion)
        assert m.group(2) == "01100000"


async def test_ipcamcgi_iocontrol_and_pantilt(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["ipcamcgi"]
    r = await get(client, cam, "/iocontrol.cgi")
    assert re.fullmatch(
        r"Trigger1=0&Trigger2=0&ImageUpload=0&ImageEmail=0&CurrentTime=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\r\n",
        r.text,
    )
    r = await client.post(cam.url("/iocontrol.cgi"), data={"Trigger1": "1"}, auth=auth_for(cam))
    assert r.status_code == 204  # 5.1.2: No response (204 No Content)
    assert cam.calls("iocontrol")[-1].params == {"Trigger1": "1"}
    # 5.1.2 controls the I/O trigger line: the relay (output:1), the same bit the frame header and
    # 5.1.1 report (so a client reading Trigger1 as an input sees its own pulse)
    effect = cam.changes[-1]
    assert (effect.kind, effect.index, effect.on, effect.source) == ("output", 1, True, "control")
    assert cam.trigger("output:1") and cam.trigger("input:1")
    r = await get(client, cam, "/iocontrol.cgi")
    assert r.text.startswith("Trigger1=1&")
    r = await get(client, cam, "/iocontrol.cgi?Trigger2=1")  # 2.1: any value may be set by GET too
    assert r.status_code == 204 and cam.trigger("output:2") and cam.ipcam_bits()[:2] == [True, True]
    r = await client.post(cam.url("/iocontrol.cgi"), data={"Trigger1": "on"}, auth=auth_for(cam))
    assert r.status_code == 400 and cam.trigger("output:1")  # 2.3: an invalid value changes nothing
    data = {"PanTiltHorizontal": "120", "PanTiltVertical": "45", "PanTiltPositionMove": "true"}
    r = await client.post(cam.url("/pantiltcontrol.cgi"), data=data, auth=auth_for(cam))
    assert r.status_code == 204 and (cam.pan, cam.tilt) == (120, 45)
    assert cam.calls("pantilt")[-1].params == data
    r = await client.post(
        cam.url("/pantiltcontrol.cgi"), data={"PanTiltPresetPositionMove": "3"}, auth=auth_for(cam)
    )
    assert cam.preset == 3


async def test_ipcamcgi_schedule_tables() -> None:
    from recorderd.sim import SimCameraConfig, SimConfig, open_simulator

    sched = {"days": 62, "start": "08:00:00", "stop": "18:00:00"}
    cfg = SimConfig(cameras={"c": SimCameraConfig(dialect="ipcamcgi", schedule=sched)})
    async with open_simulator(cfg) as s, httpx.AsyncClient() as client:
        cam = s["c"]
        r = await get(client, cam, "/upload.cgi")
        assert r.headers["content-type"] == "text/html"
        values = dict(line.split("=", 1) for line in r.text.split("\r\n") if line)
        assert values["FTPScheduleEnable"] == "1" and values["FTPScheduleMode"] == "1"
        assert values["FTPScheduleDay"] == "62"
        assert (values["FTPScheduleTimeStart"], values["FTPScheduleTimeStop"]) == ("08:00:00", "18:00:00")
        r = await get(client, cam, "/email.cgi")
        assert "EmailScheduleDay=62\r\n" in r.text
        r = await get(client, cam, "/email.cgi?EmailScheduleDay=65")
        assert "EmailScheduleDay=65\r\n" in r.text and cam.calls("config")[-1].params == {
            "EmailScheduleDay": "65"
        }


# ---------- IP Camera Open API and VAPIX (param.cgi API) ----------
async def test_openapi_and_vapix_video(sim: Simulator, client: httpx.AsyncClient) -> None:
    for name in ("openapi", "vapix"):
        cam = sim[name]
        async with client.stream("GET", cam.video_url, auth=auth_for(cam)) as resp:
            assert resp.headers["content-type"] == "multipart/x-mixed-replace;boundary=myboundary"
            r = StreamReader(resp)
            with trio.fail_after(5):
                await r.at_least(60)  # the opening delimiter and the first part's headers
                assert r.buf.startswith(b"--myboundary\r\nContent-Type: image/jpeg\r\nContent-Length: ")
                part = await next_part(r, b"--myboundary")
                part2 = await next_part(r, b"--myboundary")
            assert list(part.headers) == ["content-type", "content-length"]
            assert part.body.startswith(JPEG_START) and part.body.endswith(JPEG_END)
            assert part2.body != part.body  # every frame differs (its comment carries its seq)


async def test_motion_levels_mdb(sim: Simulator, client: httpx.AsyncClient) -> None:
    for name, path, ctype_line in (
        ("vapix", "/motion/motiondata.cgi?group=0", b"Content-Type:text/plain\r\n\r\n"),
        ("openapi", "/motion.cgi", b"Content-Type: text/plain\r\n\r\n"),
    ):
        cam = sim[name]
        async with client.stream("GET", cam.url(path), auth=auth_for(cam)) as resp:
            assert resp.headers["content-type"] == "multipart/x-mixed-replace;boundary=mdb"
            r = StreamReader(resp)
            with trio.fail_after(5):
                await r.until(b"threshold=45;\r\n")
            assert re.match(
                rb"--mdb\r\n" + re.escape(ctype_line) + rb"group=0;level=(\d+);threshold=45;\r\n", r.buf
            )
            level = int(re.findall(rb"level=(\d+)", r.buf)[0])
            assert level <= 45  # idle: not above the threshold
            effect = await cam.set_trigger("motion", True)
            with trio.fail_after(2):
                while not re.search(rb"level=70;threshold=45;", r.buf):
                    await r.more()
            assert trio.current_time() and effect.on
        await cam.set_trigger("motion", False)


async def test_io_monitor_edges(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["vapix"]
    async with client.stream("GET", cam.url("/io/input.cgi?monitor=1"), auth=auth_for(cam)) as resp:
        # the VAPIX example: "multipart/x-mixed-replace; boundary=ioboundary"
        assert boundary_of(resp.headers["content-type"]) == "ioboundary"
        r = StreamReader(resp)
        with trio.fail_after(5):
            await r.until(b"IO0:L\r\n")
            await cam.set_trigger("input:1", True)
            await cam.set_trigger("input:1", False)  # a pulse: both edges reach the stream
            await r.until(b"IO0:\\\r\n")
        assert b"--ioboundary\r\nContent-Type: text/plain\r\n\r\nIO0:/\r\n" in r.buf
        assert r.buf.index(b"IO0:/") < r.buf.index(b"IO0:\\")


async def test_output_relay_pulses(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["vapix"]
    t0 = trio.current_time()
    r = await get(client, cam, "/io/output.cgi?action=1:/300\\500/300\\")
    assert r.status_code == 200 and cam.trigger("output:1")
    with trio.fail_after(5):
        await cam.wait_until(lambda: len([c for c in cam.changes if c.kind == "output"]) == 4)
    outs = [c for c in cam.changes if c.kind == "output"]
    assert [c.on for c in outs] == [True, False, True, False]
    gaps = [b.mono - a.mono for a, b in itertools.pairwise(outs)]
    assert [round(g, 1) for g in gaps] == [0.3, 0.5, 0.3]
    assert cam.calls("output")[0].params == {"action": "1:/300\\500/300\\"}
    assert trio.current_time() - t0 < 5
    r = await get(client, cam, "/io/output.cgi?action=1:x")
    assert r.status_code == 400


async def test_vapix_param_cgi(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["vapix"]
    r = await get(client, cam, "/param.cgi?action=list&group=Event.E0.Weekdays")
    assert r.text == "Event.E0.Weekdays=1111111\n"
    r = await get(client, cam, "/axis-cgi/param.cgi?action=list&group=Event.*.Name")
    assert r.text == "Event.E0.Name=Motion\n"
    r = await get(client, cam, "/param.cgi?action=update&Event.E0.Weekdays=1111100")
    assert r.text == "OK\r\n"
    r = await get(client, cam, "/param.cgi?action=list&group=root.Event.E0.Weekdays")
    assert r.text == "Event.E0.Weekdays=1111100\n"
    r = await get(client, cam, "/param.cgi?action=list&group=Nope")
    assert r.text.startswith("# Error:")
    r = await get(client, cam, "/param.cgi?action=add&group=Event&template=event&Event.E.Name=MyEvent")
    assert r.text == "E1 OK\r\n"
    r = await get(client, cam, "/param.cgi?action=list&group=Event.E1.Name")
    assert r.text == "Event.E1.Name=MyEvent\n"
    r = await get(client, cam, "/param.cgi?action=remove&group=Event.E1")
    assert r.text == "OK\r\n"


async def test_vapix_schedule_from_config() -> None:
    from recorderd.sim import SimCameraConfig, SimConfig, open_simulator

    sched = {"weekdays": "1111100", "start": "08:00", "duration": 10}
    cfg = SimConfig(cameras={"c": SimCameraConfig(dialect="vapix", schedule=sched)})
    async with open_simulator(cfg) as s, httpx.AsyncClient() as client:
        r = await get(client, s["c"], "/param.cgi?action=list&group=Event.E0")
        values = dict(line.split("=", 1) for line in r.text.splitlines())
        assert values["Event.E0.Weekdays"] == "1111100"
        assert values["Event.E0.Starttime"] == "08:00" and values["Event.E0.Duration"] == "10"


async def test_audio_single_and_multipart(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["vapix"]
    async with client.stream(
        "GET", cam.url("/audio/receive.cgi?httptype=singlepart"), auth=auth_for(cam)
    ) as resp:
        assert resp.headers["content-type"] == "audio/basic"
        r = StreamReader(resp)
        with trio.fail_after(5):
            await r.at_least(8 * 240)
    async with client.stream(
        "GET", cam.url("/audio/receive.cgi?httptype=multipart"), auth=auth_for(cam)
    ) as resp:
        # VAPIX §5.8.4: "boundary=--<boundary>" with <boundary> myboundary, parts delimited by --myboundary
        assert resp.headers["content-type"] == "multipart/x-mixed-replace; boundary=--myboundary"
        r = StreamReader(resp)
        with trio.fail_after(5):
            await r.at_least(5 * 300)
        parts = r.buf.split(b"--myboundary\r\n")[1:-1]
        assert parts and all(p.startswith(b"Content-Type: audio/basic\r\n\r\n") for p in parts)
        assert all(len(p) == len(b"Content-Type: audio/basic\r\n\r\n") + 240 + 2 for p in parts)
    cam = sim["openapi"]
    async with client.stream("GET", cam.url("/fromserver.cgi"), auth=auth_for(cam)) as resp:
        assert resp.headers["content-type"] == "audio/basic"


async def test_ptz_recorded(sim: Simulator, client: httpx.AsyncClient) -> None:
    for name, path in (("vapix", "/com/ptz.cgi"), ("openapi", "/ptz.cgi"), ("move", "/cgi-bin/com/ptz.cgi")):
        cam = sim[name]
        r = await get(client, cam, f"{path}?gotoserverpresetno=3")
        assert r.status_code == 204 and cam.preset == 3
        r = await get(client, cam, f"{path}?pan=10&tilt=-5")
        r = await get(client, cam, f"{path}?query=position")
        assert "pan=10\ntilt=-5\n" in r.text
        assert [c.params for c in cam.calls("ptz")][:2] == [
            {"gotoserverpresetno": "3"},
            {"pan": "10", "tilt": "-5"},
        ]


# ---------- Foscam CGI ----------
async def test_foscam_query_auth_and_status(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["foscam"]
    r = await client.get(cam.url("/get_status.cgi"))
    assert r.status_code == 401
    r = await client.get(cam.url(f"/get_status.cgi?user={cam.username}&pwd=wrong"))
    assert r.status_code == 401
    r = await client.get(cam.url("/get_status.cgi"), auth=(cam.username, cam.password))  # Basic works too
    assert r.status_code == 200
    for trigger, status in (("sound", 3), ("input:1", 2), ("motion", 1)):
        await cam.set_trigger(trigger, True)
        r = await get(client, cam, "/get_status.cgi")
        assert f"var alarm_status={status};\n" in r.text
    r = await get(client, cam, "/get_status.cgi")
    lines = r.text.splitlines()
    assert lines[0] == "var id='00A0B0C0D0E0';" and all(
        re.fullmatch(r"var \w+=(\d+|'[^']*');", x) for x in lines
    )
    assert re.search(r"^var now=\d+;$", r.text, re.M) and "var tz=0;" in lines


async def test_foscam_params_and_controls(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["foscam"]
    r = await get(client, cam, "/set_alarm.cgi?motion_armed=0&schedule_enable=1&schedule_sun_1=-32")
    assert r.text == "ok.\n"
    r = await get(client, cam, "/get_params.cgi")
    assert "var alarm_motion_armed=0;\n" in r.text and "var alarm_schedule_sun_1=4294967264;\n" in r.text
    assert "var alarm_schedule_enable=1;\n" in r.text and f"var user1_name='{cam.username}';\n" in r.text
    r = await get(client, cam, "/set_alarm.cgi?bogus=1")
    assert r.text.startswith("error: ")
    r = await get(client, cam, "/decoder_control.cgi?command=94")
    assert r.text == "ok.\n" and cam.trigger("output:1")
    r = await get(client, cam, "/decoder_control.cgi?command=35")
    assert cam.preset == 3 and [c.params["command"] for c in cam.calls("decoder_control")] == ["94", "35"]
    assert "user" not in cam.calls("decoder_control")[0].params  # credentials are not logged
    r = await get(client, cam, "/test_mail.cgi")
    assert r.text == "var result=0;\n"
    r = await get(client, cam, "/snapshot.cgi")
    assert r.headers["content-type"] == "image/jpeg" and r.content.startswith(JPEG_START)
    assert re.fullmatch(
        r'attachment; filename="00A0B0C0D0E0\(foscam\)_\d{14}\.jpg"', r.headers["content-disposition"]
    )
    async with client.stream("GET", url_for(cam, cam.video_url)) as resp:
        assert resp.headers["content-type"] == "multipart/x-mixed-replace;boundary=ipcamera"
        with trio.fail_after(5):
            part = await next_part(StreamReader(resp), b"--ipcamera")
        assert part.body.startswith(JPEG_START)


async def test_foscam_schedule_words_and_test_codes() -> None:
    from recorderd.sim import SimCameraConfig, SimConfig, open_simulator

    words = {"foscam": {"sun_1": 4294967264, "sun_2": 16383}}
    cfg = SimConfig(
        cameras={
            "c": SimCameraConfig(
                dialect="foscam",
                schedule=words,
                test_ftp_result=6,
                faults={"foscam_signed": True, "foscam_double_quotes": True, "foscam_crlf": True},
            )
        }
    )
    async with open_simulator(cfg) as s, httpx.AsyncClient() as client:
        cam = s["c"]
        r = await get(client, cam, "/get_params.cgi")
        assert (
            "var alarm_schedule_sun_1=-32;\r\n" in r.text and "var alarm_schedule_sun_2=16383;\r\n" in r.text
        )
        assert 'var alias="c";\r\n' in r.text
        r = await get(client, cam, "/test_ftp.cgi")
        assert r.text == "var result=6;\r\n"


# ---------- MOBOTIX MOVE ----------
async def test_move_eventdata(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["move"]
    r = await get(client, cam, "/cgi-bin/admin/eventdata.cgi?action=get&group=Motion,Motion1,IO")
    assert re.fullmatch(
        r"Motion:Enabled=1;Level=\d+;Sensitivity=80;Triggered=0;\r\nMotion1:Enabled=0;\r\nIO:Status=03000000010000;\r\n",
        r.text,
    )
    await cam.set_trigger("input:2", True)
    r = await get(
        client, cam, "/cgi-bin/admin/eventdata.cgi?action=get&group=Motion&MotionParam=Enabled,Triggered"
    )
    assert r.text == "Motion:Enabled=1;Triggered=0;\r\n"
    r = await get(client, cam, "/cgi-bin/admin/eventdata.cgi?action=get&group=IO,T0")
    assert r.text == "IO:Status=03020000010200;\r\nT0:Enabled=1;Triggered=0;\r\n"
    url = cam.url("/cgi-bin/admin/eventdata.cgi?action=monitor&group=Motion,Motion1")
    async with client.stream("GET", url, auth=auth_for(cam)) as resp:
        delim = ("--" + boundary_of(resp.headers["content-type"])).encode()
        reader = StreamReader(resp)
        with trio.fail_after(5):
            part = await next_part(reader, delim)
            assert part.headers["content-type"] == "text/plain"
            assert int(part.headers["content-length"]) == len(part.body)
            assert re.fullmatch(
                rb"Motion:Enabled=1;Level=\d+;Sensitivity=80;Triggered=0;\r\nMotion1:Enabled=0;\r\n",
                part.body,
            )
            await cam.set_trigger("motion", True)
            while b"Triggered=1" not in part.body:
                part = await next_part(reader, delim)
        assert part.body.startswith(b"Motion:Enabled=1;Level=70;Sensitivity=80;Triggered=1;\r\n")


async def test_move_io_params_and_stream_port(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["move"]
    r = await get(client, cam, "/cgi-bin/io/input.cgi?check=1")
    assert r.text == "Input1=0\r\n"
    r = await get(client, cam, "/cgi-bin/io/output.cgi?action=1:/")
    assert r.text == "OK" and cam.trigger("output:1")
    r = await get(client, cam, "/cgi-bin/admin/param.cgi?action=list&group=Network.IPAddress")
    assert r.text == "root.Network.IPAddress=127.0.0.1\r\n"
    assert cam.stream_port and cam.stream_port != cam.port
    async with client.stream("GET", cam.video_url, auth=auth_for(cam)) as resp:
        delim = ("--" + boundary_of(resp.headers["content-type"])).encode()
        with trio.fail_after(5):
            part = await next_part(StreamReader(resp), delim)
        assert part.body.startswith(JPEG_START)
    r = await client.get(cam.url("/"), auth=auth_for(cam))
    assert r.status_code == 404  # the stream is not on the CGI port


# ---------- plain MJPEG ----------
async def test_mjpeg_plain(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["mjpeg"]
    async with client.stream("GET", cam.video_url) as resp:
        with trio.fail_after(5):
            part = await next_part(StreamReader(resp), b"--myboundary")
        assert part.body.startswith(JPEG_START)
    assert cam.audio_url
    async with client.stream("GET", cam.audio_url) as resp:
        assert resp.headers["content-type"] == "audio/basic"
    r = await client.get(cam.snapshot_url)
    assert r.headers["content-type"] == "image/jpeg"


async def test_unknown_path_and_triggers(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["openapi"]
    r = await get(client, cam, "/nope.cgi")
    assert r.status_code == 404
    import pytest

    with pytest.raises(ValueError, match="no trigger"):
        await cam.set_trigger("tamper", True)
    with pytest.raises(ValueError, match=r"inputs 1\.\.2"):
        await cam.set_trigger("input:9", True)
    with pytest.raises(ValueError, match="motion window"):
        await cam.set_trigger("motion:4", True)
    with pytest.raises(ValueError):
        await sim["mjpeg"].set_trigger("motion", True)
