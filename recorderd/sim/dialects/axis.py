"""The IP Camera Open API (`openapi`) and VAPIX, param.cgi API v3.00 (`vapix`).

Both describe the same families of CGIs under different paths: MJPEG with boundary `myboundary`,
motion levels with boundary `mdb`, the IO monitor with `ioboundary`, audio in 240-byte blocks.
"""

from __future__ import annotations

import functools

from recorderd.sim import render, streams
from recorderd.sim.camera import Effect, EventState
from recorderd.sim.dialects.common import (
    Routes,
    date_cgi,
    ids,
    io_check,
    io_monitor_render,
    output_action,
    param_cgi,
    ptz,
    ptz_config,
    snapshot,
)
from recorderd.sim.framing import make_framing
from recorderd.sim.streams import Ctx


async def video(ctx: Ctx) -> None:
    await streams.video(ctx, make_framing("myboundary", "plain", ctx.cam.faults))


async def motion(ctx: Ctx) -> None:
    """motion.cgi / motion/motiondata.cgi: `group=0;level=28;threshold=45;` lines per part."""
    cam = ctx.cam
    groups = ids(ctx.params.get("group"), list(cam.state.motion))
    groups = [g for g in groups if g in cam.state.motion]
    if not groups:  # no (included) windows defined: 204 No Content (param.cgi API §5.4.5, note 1)
        await ctx.no_content()
        return
    framing = make_framing("mdb", "plain", cam.faults)
    # the vapix example prints "Content-Type:text/plain"; the openapi template has the space
    ctype = "Content-Type:text/plain" if cam.dialect == "vapix" else "Content-Type: text/plain"
    tick = [0]

    def part(state: EventState, effect: Effect | None) -> bytes | None:
        if effect is not None and effect.kind != "motion":
            return None
        tick[0] += 1
        levels = [x for x in cam.motion_levels(tick[0], state) if x[0] in groups]
        return framing.part(render.mdb_lines(levels).encode(), (ctype,), b"")

    await streams.monitor(ctx, framing, part, cam.config.event_interval)


async def io_cgi(ctx: Ctx, kind: str) -> None:
    """input.cgi / output.cgi / port.cgi: check, checkactive, monitor; output and port take action."""
    cam, p = ctx.cam, ctx.params
    n = len(cam.state.inputs if kind == "input" else cam.state.outputs)
    if "monitor" in p:
        ports = [x for x in ids(p["monitor"], list(range(1, n + 1))) if 1 <= x <= n]
        framing = make_framing("ioboundary", "plain", cam.faults, space_after_semicolon=True)
        part = io_monitor_render(framing, kind, ports, cam.faults.io_blank_lines)
        # the state at connect, then a part per change only (unless monitor_repeat is set)
        await streams.monitor(ctx, framing, part, cam.config.monitor_repeat or 0.0)
    elif "action" in p and kind == "output":
        if await output_action(ctx, p["action"]):
            await ctx.text("OK\r\n")
        else:
            await ctx.error(400, "bad action")
    elif "check" in p or "checkactive" in p:
        ports = ids(p.get("check") or p.get("checkactive"), [1])
        await ctx.text(io_check(cam.state, kind, ports, "checkactive" in p))
    elif "checkdirection" in p:
        await ctx.text(
            "".join(
                f"{x}={'input' if kind == 'input' else 'output'}\r\n" for x in ids(p["checkdirection"], [1])
            )
        )
    else:
        await ctx.error(400, "expected check, checkactive, monitor or action")


async def port_cgi(ctx: Ctx) -> None:
    """port.cgi: checks and monitors inputs; `action` drives outputs (VAPIX §5.5.1)."""
    await io_cgi(ctx, "output" if "action" in ctx.params else "input")


async def sound(ctx: Ctx) -> None:
    """fromserver.cgi / audio/receive.cgi?httptype=singlepart|multipart (mu-law, 240-byte blocks)."""
    cam = ctx.cam
    if not cam.config.has_audio:
        await ctx.error(404, "no audio")
        return
    kind = ctx.params.get("httptype", cam.config.audio_httptype)
    # the documents' multipart audio: declared "boundary=--myboundary", delimited by "--myboundary"
    framing = (
        make_framing("myboundary", "dashed", cam.faults, space_after_semicolon=True)
        if kind == "multipart"
        else None
    )
    await streams.sound(ctx, framing)


async def imagesize(ctx: Ctx) -> None:
    c = ctx.cam.config
    await ctx.text(f"image width = {c.width}\nimage height = {c.height}\n")


async def videostatus(ctx: Ctx) -> None:
    await ctx.text(
        "".join(
            f"Video {n} = {'video' if n == 1 else 'no video'}\n" for n in ids(ctx.params.get("status"), [1])
        )
    )


def routes(dialect: str) -> Routes:
    params = functools.partial(param_cgi, root=False, nl="\n")
    if dialect == "openapi":
        return {
            "/video.mjpg": video,
            "/video.cgi": video,
            "/image.jpg": functools.partial(snapshot, trailer=b"\r\n"),
            "/image.cgi": functools.partial(snapshot, trailer=b"\r\n"),
            "/motion.cgi": motion,
            "/input.cgi": functools.partial(io_cgi, kind="input"),
            "/output.cgi": functools.partial(io_cgi, kind="output"),
            "/port.cgi": port_cgi,
            "/ptz.cgi": ptz,
            "/configptz.cgi": ptz_config,
            "/config.cgi": params,
            "/fromserver.cgi": sound,
            "/time.cgi": date_cgi,
            "/videostatus.cgi": videostatus,
        }
    out: Routes = {
        "/mjpg/video.mjpg": video,
        "/mjpg/video.cgi": video,
        "/jpg/image.jpg": functools.partial(snapshot, trailer=b"\r\n"),
        "/image.cgi": functools.partial(snapshot, trailer=b"\r\n"),
        "/motion/motiondata.cgi": motion,
        "/io/input.cgi": functools.partial(io_cgi, kind="input"),
        "/io/output.cgi": functools.partial(io_cgi, kind="output"),
        "/io/port.cgi": port_cgi,
        "/com/ptz.cgi": ptz,
        "/com/ptzconfig.cgi": ptz_config,
        "/param.cgi": params,
        "/audio/receive.cgi": sound,
        "/date.cgi": date_cgi,
        "/imagesize.cgi": imagesize,
        "/videostatus.cgi": videostatus,
    }
    for n in range(1, 5):  # <camera> path forms: /mjpg/1/video.mjpg, /jpg/1/image.jpg
        out[f"/mjpg/{n}/video.mjpg"] = video
        out[f"/jpg/{n}/image.jpg"] = out["/jpg/image.jpg"]
    # real firmware serves the same CGIs under /axis-cgi/
    out.update({"/axis-cgi" + k: v for k, v in list(out.items())})
    return out
