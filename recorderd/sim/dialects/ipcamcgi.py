"""IPCamCGI (CAS-3xx, D-Link): mjpeg.cgi with a per-frame `Date:` header, iocontrol.cgi,
pantiltcontrol.cgi, and the name=value configuration CGIs (upload.cgi, email.cgi, ...)."""

from __future__ import annotations

import functools

from recorderd.dialects.tables import IPCAMCGI_ZONE_OFFSETS
from recorderd.sim import render, streams
from recorderd.sim.dialects.common import Routes, snapshot
from recorderd.sim.framing import make_framing
from recorderd.sim.streams import Ctx

# 2.2: responses are text/html name=value lines
HTML = "text/html"
# §5.1.2-5.1.4: what a POST to iocontrol.cgi switches. Trigger1/Trigger2 are the camera's I/O
# trigger lines, the relay a client drives (the simulator's output:1/2; a wired input on the same
# line is its input:1/2); Image Upload is the simulator's `motion`, Image Email its `email`.
IO_NAMES = {"Trigger1": "output:1", "Trigger2": "output:2", "ImageUpload": "motion", "ImageEmail": "email"}


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
    if any(v.strip() not in ("0", "1") for v in sets.values()):
        await ctx.error(400, "expected 0 or 1")  # 2.3: invalid values
        return
    cam._record_control("iocontrol", ctx.req.path, p)
    for name, value in sets.items():
        await cam.set_trigger(IO_NAMES[name], value.strip() == "1", source="control")
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


def zone_fields(offset_s: int) -> dict[str, str]:
    """§3.1.5 TimeZone (whole hours, -12..+13) and TimeZoneIndex (Table 1's first zone with this
    offset; 0, "unused", when none has it)."""
    minutes = offset_s // 60
    index = next((i for i, m in enumerate(IPCAMCGI_ZONE_OFFSETS) if m == minutes), 0)
    hours = round(minutes / 60)
    return {"TimeZone": f"{hours:+d}" if hours else "0", "TimeZoneIndex": str(index)}


async def datetime_cgi(ctx: Ctx) -> None:
    """§3.1.5: the camera's clock (with its skew) and zone; parameters given are recorded."""
    cam = ctx.cam
    now = cam.local_now()
    values = {"DateTimeMode": "1", "TimeServerIPAddress": "", "TimeServerProtocol": "0"}
    values.update(zone_fields(cam.utc_offset()))
    values.update({"Date": f"{now:%Y-%m-%d}", "Time": f"{now:%H:%M:%S}"})
    if ctx.params:
        cam._record_control("config", ctx.req.path, ctx.params)
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
