"""Camera linkage as pure steps: what a dialect's CGI wants for a relay pulse or a PTZ preset.

No I/O and no config import here, so that the config can ask these same functions whether a
camera's `output:N` / `preset:N` action is possible (see recorderd.config.model) and a camera
can never be configured for an operation the sender cannot do.

| dialect  | output relay                                             | PTZ preset                                  |
|----------|----------------------------------------------------------|---------------------------------------------|
| vapix    | GET io/output.cgi?action=1:/300\\500/300\\ (one request)   | GET com/ptz.cgi?gotoserverpresetno=N        |
| openapi  | GET output.cgi?action=1:/300\\500/300\\ (one request)      | GET ptz.cgi?gotoserverpresetno=N            |
| move     | GET cgi-bin/io/output.cgi?action=1:/ , wait, action=1:\\  | GET cgi-bin/com/ptz.cgi?gotoserverpresetno=N |
| foscam   | GET decoder_control.cgi?command=94 (high), wait, 95 (low) | GET decoder_control.cgi?command=29+2N       |
| ipcamcgi | GET iocontrol.cgi?Trigger1=1, wait, Trigger1=0           | GET pantiltcontrol.cgi?PanTiltPresetPositionMove=N |

Every request is a GET with query parameters: IPCamCGI documents POST for its control CGIs but
says in 2.1 that any value may be set by GET with `?name=value` as well, and one method lets the
sender use the camera engine's client (recorderd.cameras.http.CameraHttp, GET only).

A pulse is (active ms, inactive ms after it); the relay always ends inactive. Where the camera
cannot run a pattern itself, each pulse is a `Pulse` step: the sender switches the output off even
when the wait is cut short (timeout, shutdown) or the "on" request failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recorderd.core.errors import RecorderdError

DEFAULT_PULSES: tuple[tuple[int, int], ...] = ((1000, 0),)
MAX_PATTERN_S = 60.0  # a relay pattern longer than this is a mistake (and holds a linkage slot)


@dataclass(frozen=True)
class LinkRequest:
    """A GET of `path` (relative to the camera's url) with `params`."""

    path: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Wait:
    seconds: float


@dataclass(frozen=True)
class Pulse:
    """`on`, `seconds` of wait, `off`; the sender sends `off` whatever happens after `on` started."""

    on: LinkRequest
    seconds: float
    off: LinkRequest


LinkStep = LinkRequest | Wait | Pulse


class LinkUnsupported(RecorderdError, ValueError):
    """The dialect has no CGI for this operation (or not for this output/preset number)."""


def _axis_action(output: int, pulses: Sequence[tuple[int, int]]) -> str:
    """VAPIX: `1:/300\\500/300\\` = active 300 ms, inactive, wait 500 ms, active 300 ms, inactive."""
    text = f"{output}:"
    for i, (on, off) in enumerate(pulses):
        text += f"/{on}\\"
        if off and i < len(pulses) - 1:
            text += str(off)
    return text


def _toggled(on: LinkRequest, off: LinkRequest, pulses: Sequence[tuple[int, int]]) -> list[LinkStep]:
    steps: list[LinkStep] = []
    for i, (on_ms, off_ms) in enumerate(pulses):
        steps.append(Pulse(on, on_ms / 1000, off))
        if off_ms and i < len(pulses) - 1:
            steps.append(Wait(off_ms / 1000))
    return steps


def pattern_seconds(pulses: Sequence[tuple[int, int]]) -> float:
    """How long a pattern keeps the relay busy (the inactive time after the last pulse not counted)."""
    total = sum(on + off for on, off in pulses)
    return (total - (pulses[-1][1] if pulses else 0)) / 1000


def check_pulses(pulses: Sequence[tuple[int, int]]) -> None:
    """What every dialect's relay refuses alike; LinkUnsupported. Output and preset numbers are
    checked against the dialect registry's ranges (recorderd.dialects.registry)."""
    if not pulses or any(on <= 0 or off < 0 for on, off in pulses):
        raise LinkUnsupported("a pulse needs an active time > 0 ms")
    if pattern_seconds(pulses) > MAX_PATTERN_S:
        raise LinkUnsupported(f"a pulse pattern may last at most {MAX_PATTERN_S:g}s")


# -- one function per dialect and operation (the registry's `output` and `preset` columns) ----------


def vapix_output(output: int, pulses: Sequence[tuple[int, int]]) -> list[LinkStep]:
    return [LinkRequest("io/output.cgi", (("action", _axis_action(output, pulses)),))]


def openapi_output(output: int, pulses: Sequence[tuple[int, int]]) -> list[LinkStep]:
    return [LinkRequest("output.cgi", (("action", _axis_action(output, pulses)),))]


def move_output(output: int, pulses: Sequence[tuple[int, int]]) -> list[LinkStep]:
    on = LinkRequest("cgi-bin/io/output.cgi", (("action", f"{output}:/"),))
    off = LinkRequest("cgi-bin/io/output.cgi", (("action", f"{output}:\\"),))
    return _toggled(on, off, pulses)


def foscam_output(output: int, pulses: Sequence[tuple[int, int]]) -> list[LinkStep]:
    on = LinkRequest("decoder_control.cgi", (("command", "94"),))
    off = LinkRequest("decoder_control.cgi", (("command", "95"),))
    return _toggled(on, off, pulses)


def ipcamcgi_output(output: int, pulses: Sequence[tuple[int, int]]) -> list[LinkStep]:
    on = LinkRequest("iocontrol.cgi", ((f"Trigger{output}", "1"),))
    off = LinkRequest("iocontrol.cgi", ((f"Trigger{output}", "0"),))
    return _toggled(on, off, pulses)


def _server_preset(path: str, preset: int) -> list[LinkStep]:
    return [LinkRequest(path, (("gotoserverpresetno", str(preset)),))]


def vapix_preset(preset: int) -> list[LinkStep]:
    return _server_preset("com/ptz.cgi", preset)


def openapi_preset(preset: int) -> list[LinkStep]:
    return _server_preset("ptz.cgi", preset)


def move_preset(preset: int) -> list[LinkStep]:
    return _server_preset("cgi-bin/com/ptz.cgi", preset)


def foscam_preset(preset: int) -> list[LinkStep]:
    return [LinkRequest("decoder_control.cgi", (("command", str(29 + 2 * preset)),))]


def ipcamcgi_preset(preset: int) -> list[LinkStep]:
    return [LinkRequest("pantiltcontrol.cgi", (("PanTiltPresetPositionMove", str(preset)),))]


def step_budget(steps: Sequence[LinkStep], request_timeout: float) -> float:
    """The longest the steps may take: every wait plus `request_timeout` per request."""
    total = 0.0
    for s in steps:
        if isinstance(s, Wait):
            total += s.seconds
        elif isinstance(s, Pulse):
            total += s.seconds + 2 * request_timeout
        else:
            total += request_timeout
    return total
