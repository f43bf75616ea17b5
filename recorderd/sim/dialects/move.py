"""MOBOTIX MOVE: eventdata.cgi (get and monitor), cgi-bin snapshot, PTZ and IO CGIs,
param.cgi with `root.` names; the MJPEG stream is on its own port (the document's `:8008`)."""

from __future__ import annotations

import functools

from recorderd.sim import render, streams
from recorderd.sim.camera import Effect, EventState, SimCamera
from recorderd.sim.dialects.common import (
    Routes,
    date_cgi,
    ids,
    io_check,
    output_action,
    param_cgi,
    ptz,
    ptz_config,
    snapshot,
)
from recorderd.sim.framing import LENGTH, make_framing
from recorderd.sim.streams import Ctx

GROUPS = ("Motion", "Motion1", "Motion2", "Motion3", "IO", "T0", "Face")
MOTION_FIELDS = ("Enabled", "Level", "Sensitivity", "Triggered")


async def video(ctx: Ctx) -> None:
    """The stream port: server push, any path."""
    await streams.video(ctx, make_framing("myboundary", "plain", ctx.cam.faults))


def eventdata_text(cam: SimCamera, state: EventState, groups: list[str], fields: list[str], tick: int) -> str:
    """`Motion:Enabled=1;Level=15;Sensitivity=80;Triggered=0;` ... one line per group, CRLF each."""
    lines = []
    levels = {w: lv for w, lv, _ in cam.motion_levels(tick, state)}
    for g in groups:
        if g.startswith("Motion"):
            w = int(g[6:] or 0)
            on = state.motion.get(w, False)
            lines.append(render.move_motion(w, w in state.motion, levels.get(w, 0), 80, on, fields))
        elif g == "IO":
            lines.append(render.move_io_status(state.inputs, state.outputs))
        elif g == "T0":
            lines.append(render.move_tamper(True, state.flags["tamper"]))
        elif g == "Face":
            lines.append(render.move_face(state.flags["face"]))
    return "".join(line + "\r\n" for line in lines)


def _groups(ctx: Ctx) -> list[str] | None:
    raw = [g.strip() for v in ctx.req.values("group") for g in v.split(",") if g.strip()]
    if not raw:
        return [g for g in GROUPS if g != "Face"]
    named = {g.lower(): g for g in GROUPS}
    if any(g.lower() not in named for g in raw):
        return None
    return [named[g.lower()] for g in raw]


async def eventdata(ctx: Ctx) -> None:
    """action=get (one answer) or action=monitor (the state at connect, then a part per change;
    every `monitor_repeat` too when set)."""
    cam, p = ctx.cam, ctx.params
    groups = _groups(ctx)
    if groups is None:
        await ctx.error(400, "unknown group")
        return
    fields = [f for f in p.get("MotionParam", ",".join(MOTION_FIELDS)).split(",") if f in MOTION_FIELDS]
    if "Enabled" not in fields:
        fields.insert(0, "Enabled")
    action = p.get("action", "get")
    if action == "get":
        await ctx.text(eventdata_text(cam, cam.state, groups, fields, 0))
        return
    if action != "monitor":
        await ctx.error(400, "expected action=get or monitor")
        return
    # as the document draws it: the delimiter before each part, so none follows the latest event
    framing = make_framing("myboundary", "plain", cam.faults, leading=True)
    tick = [0]
    kinds = {
        "motion" if g.startswith("Motion") else {"IO": "input", "T0": "tamper", "Face": "face"}[g]
        for g in groups
    }
    if "IO" in groups:
        kinds.add("output")

    def part(state: EventState, effect: Effect | None) -> bytes | None:
        if effect is not None and effect.kind not in kinds:
            return None
        tick[0] += 1
        body = eventdata_text(cam, state, groups, fields, tick[0]).encode()
        # the document's parts: Content-Type, Content-Length, blank line, lines, then CRLF
        return framing.part(body, ("Content-Type: text/plain", LENGTH), b"\r\n")

    await streams.monitor(ctx, framing, part, cam.config.monitor_repeat or 0.0)


async def io_cgi(ctx: Ctx, kind: str) -> None:
    cam, p = ctx.cam, ctx.params
    if kind == "output" and "action" in p:
        if await output_action(ctx, p["action"]):
            await ctx.text("OK")
        else:
            await ctx.error(400, "bad action")
    elif "check" in p or "checkactive" in p:
        await ctx.text(
            io_check(cam.state, kind, ids(p.get("check") or p.get("checkactive"), [1]), "checkactive" in p)
        )
    else:
        await ctx.error(400, "expected check, checkactive or action")


def routes(dialect: str) -> Routes:
    return {
        "/cgi-bin/admin/eventdata.cgi": eventdata,
        "/cgi-bin/jpg/image.cgi": functools.partial(snapshot, trailer=b"\r\n"),
        "/cgi-bin/com/ptz.cgi": ptz,
        "/cgi-bin/com/ptzconfig.cgi": ptz_config,
        "/cgi-bin/io/input.cgi": functools.partial(io_cgi, kind="input"),
        "/cgi-bin/io/output.cgi": functools.partial(io_cgi, kind="output"),
        "/cgi-bin/admin/param.cgi": functools.partial(param_cgi, root=True, nl="\r\n"),
        "/cgi-bin/admin/date.cgi": date_cgi,
    }
