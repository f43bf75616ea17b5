"""CGI handlers more than one dialect shares: snapshots, PTZ, IO check and relay actions, param lists."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

import trio

from recorderd.sim import render
from recorderd.sim.camera import Effect, EventState, SimCamera
from recorderd.sim.framing import Framing
from recorderd.sim.streams import Ctx

Handler = Callable[[Ctx], Awaitable[None]]
Routes = dict[str, Handler]
_ACTION = re.compile(r"(\d+)|([/\\])")


def ids(text: str | None, default: list[int]) -> list[int]:
    """'1,2,3' -> [1, 2, 3]; empty or missing -> default."""
    if not text:
        return default
    return [int(x) for x in text.split(",") if x.strip().isdigit()]


async def snapshot(ctx: Ctx, trailer: bytes = b"") -> None:
    """A JPEG (VAPIX §5.2.4.3); the documents draw a CRLF after the data, outside Content-Length."""
    jpeg = ctx.cam.snapshot()
    hs = [("Content-Type", "image/jpeg"), ("Content-Length", str(len(jpeg)))]
    await ctx.conn.start(ctx.req, 200, hs)
    await ctx.conn.send(jpeg + trailer)


def parse_output_action(text: str) -> tuple[int, list[tuple[int, bool]]] | None:
    """VAPIX `action=[<id>:]<a>[<wait><a>...]`: '1:/300\\500/300\\' -> (1, [(0, on), (300, off), ...]).

    Each step is (milliseconds to wait before it, state to set); None when malformed.
    """
    port, colon, seq = text.partition(":")
    if not colon:
        port, seq = "1", text
    if not port.isdigit() or not seq:
        return None
    steps: list[tuple[int, bool]] = []
    wait = 0
    pos = 0
    for m in _ACTION.finditer(seq):
        if m.start() != pos:
            return None
        pos = m.end()
        if m.group(1):
            wait += int(m.group(1))
        else:
            steps.append((wait, m.group(2) == "/"))
            wait = 0
    if pos != len(seq) or not steps:
        return None
    return int(port), steps


async def run_output_steps(cam: SimCamera, port: int, steps: list[tuple[int, bool]]) -> None:
    for wait, on in steps:
        if wait:
            await trio.sleep(wait / 1000)
        await cam.set_trigger(f"output:{port}", on, source="control")


async def output_action(ctx: Ctx, action: str) -> bool:
    """Start a relay action: the first immediate step before answering, the rest in the background."""
    cam = ctx.cam
    parsed = parse_output_action(action)
    if parsed is None or not 1 <= parsed[0] <= len(cam.state.outputs):
        return False
    port, steps = parsed
    cam._record_control("output", ctx.req.path, ctx.params)
    if steps[0][0] == 0:
        await cam.set_trigger(f"output:{port}", steps[0][1], source="control")
        steps = steps[1:]
    if steps and cam._nursery is not None:
        cam._nursery.start_soon(run_output_steps, cam, port, steps)
    return True


def io_check(state: EventState, kind: str, ports: list[int], active: bool) -> str:
    """`Input1=0` lines (MOBOTIX MOVE's form); checkactive answers active/inactive."""
    name = "Input" if kind == "input" else "Output"
    values = state.inputs if kind == "input" else state.outputs
    out = []
    for p in ports:
        if 1 <= p <= len(values):
            v = values[p - 1]
            out.append(f"{name}{p}={('active' if v else 'inactive') if active else int(v)}\r\n")
    return "".join(out)


def io_monitor_render(
    framing: Framing, kind: str, ports: list[int], blank_lines: bool
) -> Callable[[EventState, Effect | None], bytes | None]:
    """Open API/VAPIX IO monitor parts for input (or output) ports; an edge gives `/` or `\\`."""

    def make(state: EventState, effect: Effect | None) -> bytes | None:
        if effect is None:
            lines = [render.io_line(p - 1, state.get(kind, p), False, blank_lines) for p in ports]
        elif effect.kind == kind and effect.index in ports:
            lines = [render.io_line(effect.index - 1, effect.on, True, blank_lines)]
        else:
            return None
        body = "".join(lines)
        if blank_lines:  # as the VAPIX example: blank lines around the data
            body = "\r\n" + body + "\r\n\r\n"
        return framing.part(body.encode(), ("Content-Type: text/plain",), b"")

    return make


async def ptz(ctx: Ctx) -> None:
    """Open API/VAPIX/MOBOTIX MOVE ptz.cgi: recorded, applied to the camera's position, 204 (or the query)."""
    cam, p = ctx.cam, ctx.params
    cam._record_control("ptz", ctx.req.path, p)
    try:
        if p.get("move") == "home":
            cam.pan, cam.tilt = 0, 0
        step = {"left": (-5, 0), "right": (5, 0), "up": (0, 5), "down": (0, -5)}.get(p.get("move", ""))
        if step:
            cam.pan, cam.tilt = cam.pan + step[0], cam.tilt + step[1]
        if "pan" in p:
            cam.pan = round(float(p["pan"]))
        if "tilt" in p:
            cam.tilt = round(float(p["tilt"]))
        if "rpan" in p:
            cam.pan += round(float(p["rpan"]))
        if "rtilt" in p:
            cam.tilt += round(float(p["rtilt"]))
        if "zoom" in p:
            cam.zoom = int(p["zoom"])
        if "gotoserverpresetno" in p:
            cam.preset = int(p["gotoserverpresetno"])
    except ValueError:
        await ctx.error(400, "bad PTZ value")
        return
    if p.get("query") == "position":
        await ctx.text(f"pan={cam.pan}\ntilt={cam.tilt}\nzoom={cam.zoom}\n")
    elif "info" in p:
        await ctx.text(
            "Available commands:\nmove=home,up,down,left,right\npan=\ntilt=\nzoom=\ngotoserverpresetno=\n"
        )
    else:
        await ctx.no_content()


async def ptz_config(ctx: Ctx) -> None:
    ctx.cam._record_control("ptzconfig", ctx.req.path, ctx.params)
    await ctx.no_content()


async def param_cgi(ctx: Ctx, *, root: bool, nl: str) -> None:
    """param.cgi / config.cgi: list (groups, wildcards), update, add (templates), remove."""
    cam, f = ctx.cam, ctx.cam.faults
    p = ctx.params
    action = p.get("action", "list")
    groups = [g for v in ctx.req.values("group") for g in v.split(",") if g]
    tree = cam.params
    if action == "list":
        names = tree.select(groups)
        if groups and not names:
            body = f"# Error: Error -1 getting param in group '{','.join(groups)}'{nl}"
        else:
            body = render.param_list(
                tree.values, names, root=root or f.param_root, nl=nl, trailing_spaces=f.param_trailing_spaces
            )
            if f.param_latin1:
                body += f"{'root.' if root or f.param_root else ''}Brand.Owner=Caf\xe9 S\xe4nger{nl}"
        await ctx.reply(body.encode("latin-1", "replace"))
        return
    cam._record_control("params", ctx.req.path, p)
    changes = {k: v for k, v in p.items() if k not in ("action", "group", "template", "force", "user", "pwd")}
    if action == "update":
        unknown = tree.update(changes)
        body = "".join(f"# Error: Error setting '{k}' to '{changes[k]}'!\r\n" for k in unknown) or "OK\r\n"
    elif action == "add":
        entry = tree.add(groups[0] if groups else "", p.get("template", ""), changes)
        body = f"{entry} OK\r\n" if entry else "# Request failed: unknown group or template\n"
    elif action == "remove":
        body = "OK\r\n" if tree.remove(groups) else "# Request failed: no such group\r\n"
    else:
        await ctx.error(400, f"unknown action {action}")
        return
    await ctx.text(body)


def clock_text(cam: SimCamera) -> str:
    """VAPIX/MOBOTIX MOVE date.cgi: `Apr 03, 2003 15:16:04`."""
    return cam.local_now(time.time()).strftime("%b %d, %Y %H:%M:%S") + "\r\n"


async def date_cgi(ctx: Ctx) -> None:
    if ctx.params.get("action", "get") == "set":
        ctx.cam._record_control("date", ctx.req.path, ctx.params)
        await ctx.text("OK\r\n")
    else:
        await ctx.text(clock_text(ctx.cam))
