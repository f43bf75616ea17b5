"""Foscam CGI (Foscam/Netwave IP Camera CGI): videostream.cgi, snapshot.cgi, get_status.cgi (alarm_status),
get_params.cgi (alarm schedule words), decoder_control.cgi, set_alarm.cgi, test_mail/test_ftp.cgi.

Answers are JavaScript variables (`var x='...';`) or `ok.` / `error: ...`, as the document and the
real captures show.
"""

from __future__ import annotations

import functools
import re

from recorderd.sim import render, streams
from recorderd.sim.camera import SimCamera
from recorderd.sim.dialects.common import Routes
from recorderd.sim.framing import make_framing
from recorderd.sim.streams import Ctx

OK = "ok.\n"
STATUS_EXTRA: list[tuple[str, int | str]] = [
    ("ddns_status", 0),
    ("ddns_host", ""),
    ("oray_type", 0),
    ("upnp_status", 0),
    ("wifi_status", 0),
    ("msn_status", 0),
]
_AUTH = ("user", "pwd", "cam_user", "cam_pwd", "next_url")
_WORD = re.compile(r"((alarm|ftp)_)?schedule_[a-z]{3}_[0-2]$")


def js(cam: SimCamera, pairs: list[tuple[str, int | str]]) -> str:
    f = cam.faults
    if f.foscam_signed:
        pairs = [(k, render.signed32(v) if _WORD.match(k) and isinstance(v, int) else v) for k, v in pairs]
    return render.js_vars(pairs, double=f.foscam_double_quotes, crlf=f.foscam_crlf, no_var=f.foscam_no_var)


def clock(cam: SimCamera) -> list[tuple[str, int | str]]:
    """`now`: the camera's clock in UTC seconds ("the lapse second from 1970-1-1 0:0:0 to device
    current time"); `tz` as seconds west of GMT (the real capture: tz=18000 for UTC-5)."""
    return [("now", int(cam.clock())), ("tz", -cam.utc_offset())]


async def video(ctx: Ctx) -> None:
    """videostream.cgi: server push with boundary `ipcamera` (the `rate` parameter is not honoured)."""
    await streams.video(ctx, make_framing("ipcamera", "plain", ctx.cam.faults))


async def snapshot(ctx: Ctx) -> None:
    """snapshot.cgi: the file name is `<id>(<alias>)_<time>.jpg` unless next_url names it."""
    cam = ctx.cam
    jpeg = cam.snapshot()
    name = ctx.params.get("next_url") or f"{cam.fvars['id']}({cam.name})_{cam.local_now():%Y%m%d%H%M%S}.jpg"
    hs = [("Content-Type", "image/jpeg"), ("Content-Length", str(len(jpeg)))]
    hs.append(("Content-Disposition", f'attachment; filename="{name}"'))
    await ctx.conn.start(ctx.req, 200, hs)
    await ctx.conn.send(jpeg)


async def get_status(ctx: Ctx) -> None:
    cam = ctx.cam
    v = cam.fvars
    pairs: list[tuple[str, int | str]] = [(k, v[k]) for k in ("id", "sys_ver", "app_ver", "alias")]
    pairs += clock(cam)
    pairs.append(("alarm_status", cam.foscam_alarm_status()))
    await ctx.text(js(cam, pairs + STATUS_EXTRA))


async def get_params(ctx: Ctx) -> None:
    cam = ctx.cam
    items = list(cam.fvars.items())
    await ctx.text(js(cam, items[:4] + clock(cam) + items[4:]))


async def get_camera_params(ctx: Ctx) -> None:
    c = ctx.cam.config
    res = 32 if c.width >= 640 else 8
    pairs: list[tuple[str, int | str]] = [("resolution", res), ("brightness", 128), ("contrast", 4)]
    pairs += [("mode", 1), ("flip", 0), ("fps", 0)]
    await ctx.text(js(ctx.cam, pairs))


async def get_forbidden(ctx: Ctx) -> None:
    """get_forbidden.cgi: "return: see set_forbidden.cgi", so the names set_forbidden.cgi takes."""
    await ctx.text(js(ctx.cam, list(ctx.cam.forbidden.items())))


async def get_misc(ctx: Ctx) -> None:
    """get_misc.cgi: the set_misc.cgi names (no patrol)."""
    pairs: list[tuple[str, int | str]] = [("led_mode", 0), ("ptz_center_onstart", 0)]
    pairs += [("ptz_auto_patrol_interval", 0), ("ptz_auto_patrol_type", 0)]
    pairs += [("ptz_patrol_h_rounds", 0), ("ptz_patrol_v_rounds", 0)]
    await ctx.text(js(ctx.cam, pairs))


async def decoder_control(ctx: Ctx) -> None:
    """Recorded; 94/95 drive the IO output (output:1), 30+2n/31+2n set/go to preset n+1, 0-7 move."""
    cam, p = ctx.cam, ctx.params
    try:
        command = int(p.get("command", ""))
    except ValueError:
        await ctx.text("error: illegal params.\n")
        return
    cam._record_control("decoder_control", ctx.req.path, p)
    if command in (94, 95) and cam.state.outputs:
        await cam.set_trigger("output:1", command == 94, source="control")
    elif 30 <= command <= 93 and command % 2 == 1:
        cam.preset = (command - 31) // 2 + 1
    elif command in (0, 2, 4, 6):
        dp, dt = {0: (0, 1), 2: (0, -1), 4: (-1, 0), 6: (1, 0)}[command]
        step = int(p.get("degree", "5") or 5)
        cam.pan, cam.tilt = cam.pan + dp * step, cam.tilt + dt * step
    elif command == 25:
        cam.pan, cam.tilt = 0, 0
    await ctx.text(OK)


def _settings(
    params: dict[str, str], store: dict[str, int | str], prefix: str
) -> dict[str, int | str] | None:
    """The changes a set_*.cgi asks for, as `store`'s names (`prefix` + name); None when one name
    is unknown or a number is not one (the camera then changes nothing)."""
    new: dict[str, int | str] = {}
    for name, value in params.items():
        if name in _AUTH:
            continue
        k = "alarm_sounddetect_armed" if name == "sounddetect_enabled" else f"{prefix}{name}"
        if k not in store:
            return None
        if isinstance(store[k], int):
            try:
                new[k] = int(value) & 0xFFFFFFFF if _WORD.match(k) else int(value)
            except ValueError:
                return None
        else:
            new[k] = value
    return new


async def set_alarm(ctx: Ctx) -> None:
    """set_alarm.cgi: `motion_armed=1` sets alarm_motion_armed, `schedule_sun_1=...` the words.
    All or nothing: one unknown name or non-number and nothing changes (`error: illegal params.`)."""
    await _set(ctx, "alarm", ctx.cam.fvars, "alarm_")


async def set_forbidden(ctx: Ctx) -> None:
    """set_forbidden.cgi: schedule_enable and the schedule_<day>_<n> words get_forbidden.cgi reports."""
    await _set(ctx, "forbidden", ctx.cam.forbidden, "")


async def _set(ctx: Ctx, kind: str, store: dict[str, int | str], prefix: str) -> None:
    new = _settings(ctx.params, store, prefix)
    if new is None:
        await ctx.text("error: illegal params.\n")
        return
    ctx.cam._record_control(kind, ctx.req.path, ctx.params)
    store.update(new)
    await ctx.text(OK)


async def setter(ctx: Ctx, kind: str) -> None:
    """The other set_*.cgi, camera_control.cgi, set_extra_io.cgi, reboot.cgi: recorded, `ok.`."""
    ctx.cam._record_control(kind, ctx.req.path, ctx.params)
    await ctx.text(OK)


async def test_result(ctx: Ctx, which: str) -> None:
    """test_mail.cgi / test_ftp.cgi: `var result=<code>;` with the configured code (0 = success)."""
    cam = ctx.cam
    code = cam.config.test_mail_result if which == "mail" else cam.config.test_ftp_result
    cam._record_control(f"test_{which}", ctx.req.path, ctx.params)
    await ctx.text(js(cam, [("result", code)]))


async def check_user(ctx: Ctx) -> None:
    cam = ctx.cam
    await ctx.text(js(cam, [("user", cam.username), ("pwd", cam.password), ("pri", 3)]))


def routes(dialect: str) -> Routes:
    out: Routes = {
        "/videostream.cgi": video,
        "/snapshot.cgi": snapshot,
        "/get_status.cgi": get_status,
        "/get_params.cgi": get_params,
        "/get_camera_params.cgi": get_camera_params,
        "/get_forbidden.cgi": get_forbidden,
        "/get_misc.cgi": get_misc,
        "/decoder_control.cgi": decoder_control,
        "/set_alarm.cgi": set_alarm,
        "/set_forbidden.cgi": set_forbidden,
        "/test_mail.cgi": functools.partial(test_result, which="mail"),
        "/test_ftp.cgi": functools.partial(test_result, which="ftp"),
        "/check_user.cgi": check_user,
    }
    for cgi in (
        "camera_control",
        "set_extra_io",
        "reboot",
        "restore_factory",
        "set_misc",
        "set_mail",
        "set_ftp",
        "set_datetime",
        "set_alias",
        "comm_write",
    ):
        out[f"/{cgi}.cgi"] = functools.partial(setter, kind=cgi)
    return out
