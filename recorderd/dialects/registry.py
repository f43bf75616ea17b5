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
UNBOUNDED = 2**31  # a range's stop where the document gives no upper bound ("1, ...")


@dataclass(frozen=True)
class Paths:
    """CGI paths relative to the camera's `url` ("" where the document has none)."""

    video: str = ""
    snapshot: str = ""
    audio: str = ""


@dataclass(frozen=True)
class ClockQuery:
    """Where the camera tells its time (and, for some, its zone): a GET of `path` with `params`.

    `zone_path` is a second GET where the zone lives apart from the time (MOVE param.cgi
    Time.TimeZone). The answers are parsed by the camera driver (recorderd.cameras.drivers).
    """

    path: str
    params: tuple[tuple[str, str], ...] = ()
    zone_path: str = ""
    zone_params: tuple[tuple[str, str], ...] = ()


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
    motion_windows: range = range(0)  # window numbers with a source of their own (motion:<window>)
    audio: bool = False  # an audio stream the document describes
    camera_schedule: bool = False  # `schedule = "camera"` can be read back
    camera_privacy: bool = False  # `privacy = "camera"` can be read back
    output: OutputSteps | None = None  # relay pulses (output:<n> actions)
    outputs: range = range(0)  # output numbers the relay CGI drives (output:<n> actions)
    # the trigger family through which the camera reports its outputs' state (output:<n> triggers
    # read `output`; IPCamCGI reports its Trigger lines as inputs), None where no document gives one
    output_state: Literal["output", "input"] | None = None
    preset: PresetSteps | None = None  # PTZ presets (preset:<n> actions)
    presets: range = range(0)  # preset numbers the PTZ CGI takes
    clock: ClockQuery | None = None  # where the camera tells its time
    notes: tuple[str, ...] = field(default=())

    def offers(self) -> str:
        """The triggers this dialect has a source for, as a user reads them in an error."""
        out: list[str] = []
        for family in ("motion", "input", "output", "sound", "tamper", "face"):
            if family not in self.triggers:
                continue
            if family == "motion":
                windows = self.motion_windows
                if windows.stop >= UNBOUNDED:
                    out.append("motion, motion:<window>")
                else:
                    out.append(f"motion, {describe_numbers('motion', windows)}" if windows else "motion")
            elif family == "input":
                out.append(describe_numbers("input", self.inputs))
            elif family == "output":
                out.append(describe_numbers("output", self.outputs))
            else:
                out.append(family)
        return ", ".join(out) or "no triggers"

    def output_echo(self, output: int) -> str | None:
        """The trigger name under which this camera reports output `output`'s state, if any."""
        if self.output_state is None:
            return None
        return f"{self.output_state}:{output}"


def describe_numbers(kind: Literal["motion", "input", "output", "preset"], numbers: range) -> str:
    """input:1, input:1 to input:8, preset:1 or more."""
    if not numbers:
        return f"no {kind}s"
    if numbers.stop >= UNBOUNDED:
        return f"{kind}:{numbers.start} or more"
    if len(numbers) == 1:
        return f"{kind}:{numbers.start}"
    if len(numbers) == 2:
        return f"{kind}:{numbers.start}, {kind}:{numbers.stop - 1}"
    return f"{kind}:{numbers.start} to {kind}:{numbers.stop - 1}"


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
            # §5.1.2: iocontrol.cgi sets Trigger1/Trigger2, the same bits §4.1.2 reports per frame
            outputs=range(1, 3),
            output_state="input",
            preset=linkage.ipcamcgi_preset,
            presets=range(0, 25),  # §5.1.6: 0 (home) to 24
            clock=ClockQuery("datetime.cgi"),  # §3.1.5: Date, Time, TimeZone, TimeZoneIndex
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
            motion_windows=range(0, UNBOUNDED),  # §4.5: group=<group number>
            audio=True,
            output=linkage.openapi_output,
            outputs=range(1, 9),  # §5.3 names output.cgi without its parameters: as VAPIX
            preset=linkage.openapi_preset,
            presets=range(1, UNBOUNDED),
            clock=ClockQuery("time.cgi", (("action", "get"),)),  # §1.10.1, local time, no zone
        ),
        DialectSpec(
            Dialect.VAPIX,
            "param.cgi API v3.00 (Axis VAPIX)",
            ("vapix", "axis", "paramcgi"),
            "url",
            "recorderd.cameras.drivers.vapix",
            "recorderd.sim.dialects.axis",
            Paths(video="mjpg/video.mjpg", snapshot="jpg/image.jpg", audio="audio/receive.cgi"),
            # §5.5.1.2: io/output.cgi?monitor= is the outputs' state stream
            triggers=frozenset({"motion", "input", "output"}),
            inputs=range(1, 9),
            motion_windows=range(0, UNBOUNDED),  # §5.4.5: group=<group number>
            audio=True,
            camera_schedule=True,
            output=linkage.vapix_output,
            outputs=range(1, 9),
            output_state="output",
            preset=linkage.vapix_preset,
            presets=range(1, UNBOUNDED),  # §5.3: gotoserverpresetno "1, ..."
            clock=ClockQuery("date.cgi", (("action", "get"),)),  # §5.1.12.1, local time, no zone
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
            outputs=range(1, 2),  # decoder_control.cgi 94/95: the one IO output
            preset=linkage.foscam_preset,
            presets=range(1, 33),  # decoder_control.cgi 31 + 2(n-1): presets 1 to 32
            clock=ClockQuery("get_status.cgi"),  # `now` (UTC seconds) and `tz`
        ),
        DialectSpec(
            Dialect.MOVE,
            "MOBOTIX MOVE",
            ("move", "mobotix"),
            "url",
            "recorderd.cameras.drivers.move",
            "recorderd.sim.dialects.move",
            Paths(video="", snapshot="cgi-bin/jpg/image.cgi"),
            # eventdata.cgi IO:Status carries inputs and outputs (Output1~Output8)
            triggers=frozenset({"motion", "input", "output", "tamper", "face"}),
            inputs=range(1, 9),
            motion_windows=range(0, 4),  # eventdata.cgi groups Motion, Motion1..Motion3
            output=linkage.move_output,
            outputs=range(1, 9),
            output_state="output",
            preset=linkage.move_preset,
            presets=range(1, 257),  # ptz.cgi gotoserverpresetno: 1 to 256
            clock=ClockQuery(
                "cgi-bin/admin/date.cgi",
                (("action", "get"),),
                zone_path="cgi-bin/admin/param.cgi",
                zone_params=(("action", "list"), ("group", "Time.TimeZone")),
            ),
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
    spec = DIALECTS[Dialect(dialect)]
    if spec.output is None:
        raise linkage.LinkUnsupported(f'dialect "{dialect}" has no output relay CGI')
    linkage.check_pulses(pulses)
    if output not in spec.outputs:
        raise linkage.LinkUnsupported(f"{dialect} offers {describe_numbers('output', spec.outputs)}")
    return spec.output(output, pulses)


def preset_steps(dialect: str, preset: int) -> list[LinkStep]:
    spec = DIALECTS[Dialect(dialect)]
    if spec.preset is None:
        raise linkage.LinkUnsupported(f'dialect "{dialect}" has no PTZ preset CGI')
    if preset not in spec.presets:
        raise linkage.LinkUnsupported(f"{dialect} offers {describe_numbers('preset', spec.presets)}")
    return spec.preset(preset)


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
