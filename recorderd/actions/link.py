"""Camera linkage: pulse an output relay or go to a PTZ preset, per dialect.

`output_steps` / `preset_steps` are pure: they turn an operation into the requests (and waits)
that a dialect's CGI wants, as the seed documents give them:

| dialect  | output relay                                             | PTZ preset                                  |
|----------|----------------------------------------------------------|---------------------------------------------|
| vapix    | GET io/output.cgi?action=1:/300\\500/300\\ (one request)   | GET com/ptz.cgi?gotoserverpresetno=N        |
| openapi  | GET output.cgi?action=1:/300\\500/300\\ (one request)      | GET ptz.cgi?gotoserverpresetno=N            |
| move     | GET cgi-bin/io/output.cgi?action=1:/ , wait, action=1:\\  | GET cgi-bin/com/ptz.cgi?gotoserverpresetno=N |
| foscam   | GET decoder_control.cgi?command=94 (high), wait, 95 (low) | GET decoder_control.cgi?command=29+2N       |
| ipcamcgi | POST iocontrol.cgi Trigger1=1, wait, Trigger1=0          | POST pantiltcontrol.cgi PanTiltPresetPositionMove=N |

A pulse is (active ms, inactive ms after it); the relay always ends inactive, so a retried
pulse (the outbox delivers at least once) leaves the relay as one pulse would.
`LinkSender` runs the steps over httpx with the camera's auth (basic, digest, query or auto).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import trio

from recorderd.actions.outbox import Action, Attachment, DeliveryError
from recorderd.config.model import CameraConfig

DEFAULT_PULSES: tuple[tuple[int, int], ...] = ((1000, 0),)


@dataclass(frozen=True)
class LinkRequest:
    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    data: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True)
class Wait:
    seconds: float


LinkStep = LinkRequest | Wait


class LinkUnsupported(ValueError):
    """The dialect has no CGI for this operation (or not for this output/preset number)."""


def _axis_action(output: int, pulses: Sequence[tuple[int, int]]) -> str:
    """Seed 002: `1:/300\\500/300\\` = active 300 ms, inactive, wait 500 ms, active 300 ms, inactive."""
    text = f"{output}:"
    for i, (on, off) in enumerate(pulses):
        text += f"/{on}\\"
        if off and i < len(pulses) - 1:
            text += str(off)
    return text


def _toggled(on: LinkRequest, off: LinkRequest, pulses: Sequence[tuple[int, int]]) -> list[LinkStep]:
    steps: list[LinkStep] = []
    for i, (on_ms, off_ms) in enumerate(pulses):
        steps += [on, Wait(on_ms / 1000), off]
        if off_ms and i < len(pulses) - 1:
            steps.append(Wait(off_ms / 1000))
    return steps


def output_steps(
    dialect: str, output: int, pulses: Sequence[tuple[int, int]] = DEFAULT_PULSES
) -> list[LinkStep]:
    if not pulses or any(on <= 0 or off < 0 for on, off in pulses):
        raise LinkUnsupported("a pulse needs an active time > 0 ms")
    if output < 1:
        raise LinkUnsupported(f"no output {output}")
    if dialect == "vapix":
        return [LinkRequest("GET", "io/output.cgi", (("action", _axis_action(output, pulses)),))]
    if dialect == "openapi":
        return [LinkRequest("GET", "output.cgi", (("action", _axis_action(output, pulses)),))]
    if dialect == "move":
        on = LinkRequest("GET", "cgi-bin/io/output.cgi", (("action", f"{output}:/"),))
        off = LinkRequest("GET", "cgi-bin/io/output.cgi", (("action", f"{output}:\\"),))
        return _toggled(on, off, pulses)
    if dialect == "foscam":
        if output != 1:
            raise LinkUnsupported("foscam cameras have one output (output:1)")
        on = LinkRequest("GET", "decoder_control.cgi", (("command", "94"),))
        off = LinkRequest("GET", "decoder_control.cgi", (("command", "95"),))
        return _toggled(on, off, pulses)
    if dialect == "ipcamcgi":
        if output > 2:
            raise LinkUnsupported("ipcamcgi cameras have outputs 1 and 2 (Trigger1, Trigger2)")
        on = LinkRequest("POST", "iocontrol.cgi", data=((f"Trigger{output}", "1"),))
        off = LinkRequest("POST", "iocontrol.cgi", data=((f"Trigger{output}", "0"),))
        return _toggled(on, off, pulses)
    raise LinkUnsupported(f'dialect "{dialect}" has no output relay CGI')


def preset_steps(dialect: str, preset: int) -> list[LinkStep]:
    if dialect in ("vapix", "openapi", "move"):
        if preset < 1:
            raise LinkUnsupported(f"no preset {preset} (presets start at 1)")
        path = {"vapix": "com/ptz.cgi", "openapi": "ptz.cgi", "move": "cgi-bin/com/ptz.cgi"}[dialect]
        return [LinkRequest("GET", path, (("gotoserverpresetno", str(preset)),))]
    if dialect == "foscam":
        if not 1 <= preset <= 32:
            raise LinkUnsupported("foscam presets are 1 to 32")
        return [LinkRequest("GET", "decoder_control.cgi", (("command", str(29 + 2 * preset)),))]
    if dialect == "ipcamcgi":
        if not 0 <= preset <= 24:
            raise LinkUnsupported("ipcamcgi presets are 0 (home) to 24")
        return [LinkRequest("POST", "pantiltcontrol.cgi", data=(("PanTiltPresetPositionMove", str(preset)),))]
    raise LinkUnsupported(f'dialect "{dialect}" has no PTZ preset CGI')


def steps_for(dialect: str, op: dict[str, Any]) -> list[LinkStep]:
    """The steps for a payload's "op": {"output": n, "pulses": [[on, off], ...]} or {"preset": n}."""
    if "output" in op:
        pulses = [(int(a), int(b)) for a, b in op.get("pulses") or DEFAULT_PULSES]
        return output_steps(dialect, int(op["output"]), pulses)
    if "preset" in op:
        return preset_steps(dialect, int(op["preset"]))
    raise LinkUnsupported(f"unknown linkage operation {sorted(op)}")


class AutoAuth(httpx.Auth):
    """Answer whichever challenge the camera sends: Digest or Basic."""

    def __init__(self, username: str, password: str) -> None:
        self._basic = httpx.BasicAuth(username, password)
        self._digest = httpx.DigestAuth(username, password)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("www-authenticate", "").lower()
        if challenge.startswith("digest"):
            flow = self._digest.auth_flow(request)
            next(flow)  # the unauthenticated request, already answered above
            try:
                yield flow.send(response)
            except StopIteration:
                return
        elif challenge.startswith("basic"):
            yield from self._basic.auth_flow(request)


def camera_auth(cam: CameraConfig) -> tuple[httpx.Auth | None, tuple[tuple[str, str], ...]]:
    """httpx auth and extra query parameters for the camera's `auth` setting."""
    user, password = cam.username, cam.secret()
    if user is None:
        return None, ()
    pw = password or ""
    mode = cam.auth
    if mode == "auto" and cam.dialect == "foscam":
        mode = "query"  # seed 003: user=&pwd= on every CGI
    if mode == "query":
        return None, (("user", user), ("pwd", pw))
    if mode == "basic":
        return httpx.BasicAuth(user, pw), ()
    if mode == "digest":
        return httpx.DigestAuth(user, pw), ()
    return AutoAuth(user, pw), ()


def camera_base(cam: CameraConfig) -> str:
    url = cam.url or cam.video_url or ""
    return url if url.endswith("/") else url + "/"


class LinkSender:
    """Outbox sender for one camera's linkage row target (`camera:<name>`)."""

    concurrency = 1

    def __init__(
        self, name: str, cam: CameraConfig, client: httpx.AsyncClient, *, timeout: float = 30.0
    ) -> None:
        self.name = name
        self.cam = cam
        self.client = client
        self.timeout = timeout

    async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None:
        try:
            steps = steps_for(self.cam.dialect, action.payload.get("op", {}))
        except LinkUnsupported as e:
            raise DeliveryError(f"camera {self.name}: {e}", permanent=True) from None
        await self.run_steps(steps)

    async def run_steps(self, steps: Sequence[LinkStep]) -> None:
        auth, extra = camera_auth(self.cam)
        base = camera_base(self.cam)
        for step in steps:
            if isinstance(step, Wait):
                await trio.sleep(step.seconds)
                continue
            # the URL may carry user=&pwd=: never put it (or httpx's text about it) in a message
            try:
                resp = await self.client.request(
                    step.method,
                    base + step.path,
                    params=(*step.params, *extra),
                    data=dict(step.data) if step.data is not None else None,
                    auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                    timeout=self.timeout,
                )
            except httpx.TimeoutException:
                raise DeliveryError(f"camera {self.name}: {step.path}: timed out", code=2) from None
            except httpx.ConnectError:
                raise DeliveryError(f"camera {self.name}: {step.path}: cannot connect", code=1) from None
            except httpx.HTTPError as e:
                raise DeliveryError(f"camera {self.name}: {step.path}: {type(e).__name__}", code=2) from None
            if not 200 <= resp.status_code < 300:
                code = 5 if resp.status_code in (401, 403) else 3
                raise DeliveryError(
                    f"camera {self.name}: {step.path}: HTTP {resp.status_code} {resp.reason_phrase}",
                    code=code,
                )
            if resp.text.lstrip().lower().startswith("error"):  # foscam: 200 with "error: ..."
                raise DeliveryError(f"camera {self.name}: {step.path}: {resp.text.strip()[:80]}", code=3)
