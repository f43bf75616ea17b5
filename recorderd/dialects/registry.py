"""The dialect registry: one entry per camera dialect, like h11's table of readers per state.

An entry holds what the dialect's document says a recorder can rely on: its names, which URL the
config must give, which triggers it has a source for, its CGI paths, what it can read back
(schedules, privacy), its relay and PTZ steps, and where the layers above keep their part for it
(the camera driver and the simulated camera, named as modules because those layers sit above this
one). The config validates against it, the camera engine finds its driver through it, the linkage
sender asks it for steps, the simulator for its routes.

Adding a dialect: one entry here, a driver module in recorderd/cameras/drivers, a module of routes
in recorderd/sim/dialects, and its parsers in recorderd/protocol/dialects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

from recorderd.dialects import linkage
from recorderd.dialects.linkage import LinkStep


class Dialect(StrEnum):
    IPCAMCGI = "ipcamcgi"
    OPENAPI = "openapi"
    VAPIX = "vapix"
    FOSCAM = "foscam"
    MOVE = "move"
    MJPEG = "mjpeg"


# trigger families a document can give a source for: `motion`, `motion:<window>`, `input:<n>`, ...
TriggerFamily = Literal["motion", "input", "output", "sound", "tamper", "face"]
OutputSteps = Callable[[int, Sequence[tuple[int, int]]], list[LinkStep]]
PresetSteps = Callable[[int], list[LinkStep]]


@dataclass(frozen=True)
class Paths:
    """CGI paths relative to the camera's `url` ("" where the document has none)."""

    video: str = ""
    snapshot: str = ""
    audio: str = ""


@dataclass(frozen=True)
class DialectSpec:
    name: Dialect
    title: str  # the document, as people know it
    aliases: tuple[str, ...]
    needs: Literal["url", "video_url"]  # the URL a camera of this dialect must be given
    driver: str  # module of its camera driver (recorderd.cameras layer): exposes DRIVER
    simulator: str  # module of its simulated CGIs (recorderd.sim layer): exposes routes(dialect)
    paths: Paths = Paths()
    triggers: frozenset[TriggerFamily] = frozenset()
    inputs: range = range(0)  # input numbers the document names (input:<n>)
    motion_windows: bool = False  # motion:<window> is a source of its own
    audio: bool = False  # an audio stream the document describes
    camera_schedule: bool = False  # `schedule = "camera"` can be read back
    camera_privacy: bool = False  # `privacy = "camera"` can be read back
    output: OutputSteps | None = None  # relay pulses (output:<n> actions)
    preset: PresetSteps | None = None  # PTZ presets (preset:<n> actions)
    notes: tuple[str, ...] = field(default=())


def _entries() -> list[DialectSpec]:
    return [
        DialectSpec(
            Dialect.IPCAMCGI,
            "IPCamCGI (CAS-3xx, D-Link)",
            ("ipcamcgi", "dlink", "cas"),
            "url",
            "recorderd.cameras.drivers.ipcamcgi",
            "recorderd.sim.dialects.ipcamcgi",
            Paths(video="mjpeg.cgi", snapshot="image.jpg"),
            # the frame header's Trigger1/Trigger2 bits and its Image Upload bit (reported as motion)
            triggers=frozenset({"motion", "input"}),
            inputs=range(1, 3),
            camera_schedule=True,
            output=linkage.ipcamcgi_output,
            preset=linkage.ipcamcgi_preset,
        ),
        DialectSpec(
            Dialect.OPENAPI,
            "IP Camera Open API",
            ("openapi",),
            "url",
            "recorderd.cameras.drivers.openapi",
            "recorderd.sim.dialects.axis",
            Paths(video="video.mjpg", snapshot="image.jpg", audio="fromserver.cgi"),
            triggers=frozenset({"motion", "input"}),
            inputs=range(1, 9),
            motion_windows=True,
            audio=True,
            output=linkage.openapi_output,
            preset=linkage.openapi_preset,
        ),
        DialectSpec(
            Dialect.VAPIX,
            "param.cgi API v3.00 (Axis VAPIX)",
            ("vapix", "axis", "paramcgi"),
            "url",
            "recorderd.cameras.drivers.vapix",
            "recorderd.sim.dialects.axis",
            Paths(video="mjpg/video.mjpg", snapshot="jpg/image.jpg", audio="audio/receive.cgi"),
            triggers=frozenset({"motion", "input"}),
            inputs=range(1, 9),
            motion_windows=True,
            audio=True,
            camera_schedule=True,
            output=linkage.vapix_output,
            preset=linkage.vapix_preset,
        ),
        DialectSpec(
            Dialect.FOSCAM,
            "Foscam/Netwave CGI",
            ("foscam", "netwave"),
            "url",
            "recorderd.cameras.drivers.foscam",
            "recorderd.sim.dialects.foscam",
            Paths(video="videostream.cgi", snapshot="snapshot.cgi"),
            triggers=frozenset({"motion", "input", "sound"}),
            inputs=range(1, 2),
            camera_schedule=True,
            camera_privacy=True,
            output=linkage.foscam_output,
            preset=linkage.foscam_preset,
        ),
        DialectSpec(
            Dialect.MOVE,
            "MOBOTIX MOVE",
            ("move", "mobotix"),
            "url",
            "recorderd.cameras.drivers.move",
            "recorderd.sim.dialects.move",
            Paths(video="", snapshot="cgi-bin/jpg/image.cgi"),
            triggers=frozenset({"motion", "input", "tamper", "face"}),
            inputs=range(1, 9),
            motion_windows=True,
            output=linkage.move_output,
            preset=linkage.move_preset,
        ),
        DialectSpec(
            Dialect.MJPEG,
            "any MJPEG URL",
            ("mjpeg",),
            "video_url",
            "recorderd.cameras.drivers.mjpeg",
            "recorderd.sim.dialects.mjpeg",
            audio=True,
        ),
    ]


DIALECTS: Mapping[Dialect, DialectSpec] = MappingProxyType({e.name: e for e in _entries()})
ALIASES: Mapping[str, Dialect] = MappingProxyType(
    {alias: e.name for e in DIALECTS.values() for alias in e.aliases}
)


def lookup(name: str) -> DialectSpec:
    """The entry for a dialect's name or alias (any case); KeyError when unknown."""
    return DIALECTS[ALIASES[name.strip().lower()]]


def output_steps(
    dialect: str, output: int, pulses: Sequence[tuple[int, int]] = linkage.DEFAULT_PULSES
) -> list[LinkStep]:
    steps = DIALECTS[Dialect(dialect)].output
    if steps is None:
        raise linkage.LinkUnsupported(f'dialect "{dialect}" has no output relay CGI')
    linkage.check_pulses(output, pulses)
    return steps(output, pulses)


def preset_steps(dialect: str, preset: int) -> list[LinkStep]:
    steps = DIALECTS[Dialect(dialect)].preset
    if steps is None:
        raise linkage.LinkUnsupported(f'dialect "{dialect}" has no PTZ preset CGI')
    return steps(preset)


def steps_for(dialect: str, op: Mapping[str, Any]) -> list[LinkStep]:
    """The steps for a payload's "op": {"output": n, "pulses": [[on, off], ...]} or {"preset": n}."""
    if "output" in op:
        raw = op.get("pulses") or linkage.DEFAULT_PULSES
        pulses = [(int(a), int(b)) for a, b in raw]
        return output_steps(dialect, int(op["output"]), pulses)
    if "preset" in op:
        return preset_steps(dialect, int(op["preset"]))
    raise linkage.LinkUnsupported(f"unknown linkage operation {sorted(op)}")


def action_steps(
    dialect: str, action: str, pulses: Sequence[tuple[int, int]] | None = None
) -> list[LinkStep]:
    """The steps for a config action `output:N` / `preset:N`; LinkUnsupported when impossible."""
    kind, _, number = action.partition(":")
    if kind not in ("output", "preset") or not number.isdigit():
        raise linkage.LinkUnsupported(f'not a linkage action: "{action}"')
    if kind == "output":
        return output_steps(dialect, int(number), pulses or linkage.DEFAULT_PULSES)
    return preset_steps(dialect, int(number))
