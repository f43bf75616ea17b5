"""Seed 000, IPCamCGI (CAS-3xx, D-Link): mjpeg.cgi with a per-frame `Date:` header, iocontrol.cgi,
pantiltcontrol.cgi, and the name=value configuration CGIs (upload.cgi, email.cgi, ...)."""

from __future__ import annotations

import functools

from recorderd.sim import render, streams
from recorderd.sim.dialects.common import Routes, snapshot
from recorderd.sim.framing import make_framing
from recorderd.sim.streams import Ctx

# 2.2: responses are text/html name=value lines
HTML = "text/html"
IO_NAMES = {"Trigger1": "input:1", "Trigger2": "input:2", "ImageUpload": "motion", "ImageEmail": "email"}


async def video(ctx: Ctx) -> None:
    """4.1.2: `boundary=--video boundary--`, delimited by `--video boundary--`, JPEG then CRLF CRLF."""
    await streams.video(ctx, make_framing("video boundary--", "dashed", ctx.cam.faults))


async def iocontrol(ctx: Ctx) -> None:
    """5.1.1 status (GET), 5.1.2-5.1.4 control (POST, 204). Trigger1/2 are the IO bits 1 and 2 of
    the frame header, ImageUpload bit 3 (the simulator's `motion`), ImageEmail bit 4."""
    cam, p = ctx.cam, ctx.params
    sets = {k: v for k, v in p.items() if k in IO_NAMES}
    if not sets:
        bits = cam.ipcam_bits()
        await ctx.text(render.ipcam_iocontrol(bits, cam.local_now()) + "\r\n", HTML)
        return
    cam._record_control("iocontrol", ctx.req.path, p)
    for name, value in sets.items():
        trigger = IO_NAMES[name]
        if trigger.startswith("input:") and int(trigger[6:]) > len(cam.state.inputs):
            continue
        await cam.set_trigger(trigger, value.strip() == "1", source="control")
    await ctx.no_content()


async def pantilt(ctx: Ctx) -> None:
    """5.1.5-5.1.10: recorded; positions go into the frame header's PT field."""
    cam, p = ctx.cam, ctx.params
    cam._record_control("pantilt", ctx.req.path, p)
    try:
        if p.get("PanTiltPositionMove") == "true" or ("SetPosition" not in p and "PanTiltHorizontal" in p):
            cam.pan = max(0, min(340, int(p.get("PanTiltHorizontal", cam.pan))))
            cam.tilt = max(0, min(135, int(p.get("PanTiltVertical", cam.tilt))))
        if "PanTiltPresetPositionMove" in p:
            cam.preset = int(p["PanTiltPresetPositionMove"])
        move = {"1": (0, 1), "3": (-1, 0), "5": (1, 0), "7": (0, -1)}.get(p.get("PanTiltSingleMove", ""))
        if move:
            cam.pan = max(0, min(340, cam.pan + move[0] * int(p.get("PanSingleMoveDegree", "5"))))
            cam.tilt = max(0, min(135, cam.tilt + move[1] * int(p.get("TiltSingleMoveDegree", "5"))))
        if p.get("PanTiltSingleMove") == "4":
            cam.pan, cam.tilt = 0, 0
    except ValueError:
        await ctx.error(400, "bad value")
        return
    await ctx.no_content()


async def simple_control(ctx: Ctx, kind: str) -> None:
    ctx.cam._record_control(kind, ctx.req.path, ctx.params)
    await ctx.no_content()


async def table(ctx: Ctx, cgi: str) -> None:
    """A configuration CGI: parameters given set values (recorded), the answer is the whole table."""
    cam, p = ctx.cam, ctx.params
    values = cam.tables[cgi]
    changes = {k: v for k, v in p.items() if k in values}
    if changes:
        cam._record_control("config", ctx.req.path, p)
        values.update(changes)
    await ctx.text(render.kv_lines(values.items()), HTML)


async def datetime_cgi(ctx: Ctx) -> None:
    now = ctx.cam.local_now()
    values = {"DateTimeMode": "1", "TimeServerIPAddress": "", "TimeServerProtocol": "0", "TimeZone": "0"}
    values.update({"TimeZoneIndex": "31", "Date": f"{now:%Y-%m-%d}", "Time": f"{now:%H:%M:%S}"})
    if ctx.params:
        ctx.cam._record_control("config", ctx.req.path, ctx.params)
    await ctx.text(render.kv_lines(values.items()), HTML)


def routes(dialect: str) -> Routes:
    out: Routes = {
        "/mjpeg.cgi": video,
        "/image.jpg": functools.partial(snapshot, trailer=b"\r\n\r\n"),
        "/iocontrol.cgi": iocontrol,
        "/pantiltcontrol.cgi": pantilt,
        "/comport.cgi": functools.partial(simple_control, kind="comport"),
        "/reset.cgi": functools.partial(simple_control, kind="reset"),
        "/datetime.cgi": datetime_cgi,
    }
    for cgi in ("upload.cgi", "email.cgi", "system.cgi", "image.cgi", "cgiversion.cgi"):
        out["/" + cgi] = functools.partial(table, cgi=cgi)
    return out
