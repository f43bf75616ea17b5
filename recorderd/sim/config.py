"""The simulator's configuration (SIM.toml), as typed objects that tests can also build in Python.

    [simulator]               host, control_port, base_port
    [cameras.NAME]            dialect, port, credentials, video/audio, events, schedule, faults
    [[cameras.NAME.scenario]] at = "5s", trigger = "motion", on = true, duration = "3s" | faults = {...}

Errors are reported like the daemon's config: every one at once, as `file: key.path: what`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
)
from pydantic import model_validator as _model_validator
from pydantic_core import PydanticCustomError

from recorderd.config.load import ConfigError, format_errors
from recorderd.config.model import NAME_RE
from recorderd.config.units import parse_duration
from recorderd.dialects.registry import ALIASES, DIALECTS, Dialect
from recorderd.schedule.spec import DayMaskSpec, WeekdaysSpec, WordsSpec

Port = Annotated[int, Field(ge=0, le=65535)]


def _seconds(value: Any) -> float:
    """A duration: "500ms", "5s" in TOML, or plain seconds from Python."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return parse_duration(value)


Duration = Annotated[float, BeforeValidator(_seconds)]


def _signed_seconds(value: Any) -> float:
    """A duration that may be negative: "-90s", "2m", or plain seconds from Python."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.strip().startswith("-"):
        return -parse_duration(value.strip()[1:])
    return parse_duration(value)


SignedDuration = Annotated[float, BeforeValidator(_signed_seconds)]
AuthMode = Literal["auto", "basic", "digest", "query", "none"]
AuthScheme = Literal["basic", "digest", "query", "none"]  # what "auto" stands for on a camera
# framing quirks of multipart streams: how the boundary is declared, how Content-Length is told
BoundaryStyle = Literal["plain", "dashed", "quoted", "spaces"]
ContentLength = Literal["exact", "missing", "short", "long"]
DateFormat = Literal["iso", "dlink"]

# What "auto" means per dialect: what these cameras ship with (Foscam CGI documents both query and Basic).
DEFAULT_AUTH: dict[str, AuthScheme] = {
    "ipcamcgi": "basic",
    "openapi": "basic",
    "vapix": "digest",
    "foscam": "query",
    "move": "basic",
    "mjpeg": "none",
}
# The dialects whose documents describe a given feature.
AUDIO_DIALECTS = ("openapi", "vapix", "mjpeg")
EVENT_TRIGGERS: dict[str, tuple[str, ...]] = {
    # the trigger kinds each dialect can report (motion[:window], input:<n>, ...; see docs/sim.md)
    "ipcamcgi": ("motion", "input", "email"),
    "openapi": ("motion", "input"),
    "vapix": ("motion", "input"),
    "foscam": ("motion", "input", "sound"),
    "move": ("motion", "input", "tamper", "face"),
    "mjpeg": (),
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Faults(Strict):
    """Fault injection and real-world quirks of one camera; switchable at run time.

    Connection faults act on the next request; framing (boundary, preamble, line ends) is fixed per
    stream when it opens, so one stream never mixes two framings.
    """

    # connection level
    refuse: bool = False  # close the listening socket: connections are refused
    reset: bool = False  # accept, then reset (RST) before reading the request
    status: int | None = Field(default=None, ge=400, le=599)  # answer every request with this status
    status_count: int | None = Field(default=None, ge=1)  # ... only the next N requests (None: until cleared)
    delay: Duration = 0.0  # wait this long before answering
    # streams: after N parts (frames, event parts, audio blocks) on a stream, half a part and then...
    stall_after: int | None = Field(default=None, ge=0)  # ... silence, connection kept open
    close_after: int | None = Field(default=None, ge=0)  # ... close (FIN)
    reset_after: int | None = Field(default=None, ge=0)  # ... reset (RST)
    drip_bytes: int | None = Field(default=None, ge=1)  # slow drip: write in chunks of this size ...
    drip_delay: Duration = 0.002  # ... with this pause between chunks
    # framing quirks (multipart streams)
    boundary: Literal["default"] | BoundaryStyle = "default"
    boundary_token: str | None = Field(default=None, min_length=1, max_length=70)
    preamble: Literal["none", "blank_lines", "junk"] = "none"
    headers_first: bool = False  # the stream starts with part headers, no delimiter before the first part
    # each part preceded by the delimiter and none after it (as a real Axis capture shows; MOVE's
    # eventdata.cgi does so always, as its document draws it); a client knows a part is complete
    # from its Content-Length, or without one only when the next part starts
    leading_delimiter: bool = False
    repeat_boundary: bool = False  # every boundary line sent twice
    extra_crlf: bool = False  # blank lines between parts
    bare_lf: bool = False  # part headers end with LF only
    content_length: ContentLength = "exact"
    content_length_nospace: bool = False  # "Content-Length:37"
    content_type_size: bool = False  # "Content-Type: image/jpeg;size=22000"
    # plain responses
    close_delimited: bool = False  # HTTP/1.0 body ended by closing, no Content-Length
    # dialect quirks
    date_format: DateFormat = "iso"  # IPCamCGI frame header: document or real D-Link form
    io_digits: Literal[7, 8] = 8  # IPCamCGI: the document draws 7 X's, describes 8
    io_blank_lines: bool = False  # Open API/VAPIX IO monitor: the example's extra blank lines, bare LF
    param_root: bool = False  # param.cgi list with "root." prefixes (real Axis firmware)
    param_trailing_spaces: bool = False
    param_latin1: bool = False  # a latin-1 (not UTF-8) value in the list
    foscam_signed: bool = False  # schedule words printed signed (%d), as clone firmware does
    foscam_double_quotes: bool = False
    foscam_crlf: bool = False
    foscam_no_var: bool = False  # lines without the "var " prefix

    def with_changes(self, **changes: Any) -> Faults:
        """A validated copy with some switches changed (unknown names are errors)."""
        return Faults.model_validate({**self.model_dump(), **changes})


class ScenarioStep(Strict):
    """At `at` after the simulator started: set a trigger (optionally only for `duration`) or faults."""

    at: Duration
    trigger: str | None = None
    on: bool = True
    duration: Duration | None = None
    faults: dict[str, Any] | None = None
    clear_faults: bool = False

    @_model_validator(mode="after")
    def _one_thing(self) -> ScenarioStep:
        if self.trigger is None and self.faults is None and not self.clear_faults:
            raise PydanticCustomError("step", "a step needs trigger, faults or clear_faults", {})
        if self.faults is not None:
            try:
                Faults().with_changes(**self.faults)
            except ValidationError as e:
                raise PydanticCustomError(
                    "faults", "bad faults: {why}", {"why": "; ".join(_short(x) for x in e.errors())}
                ) from None
        return self


def _short(err: Any) -> str:
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


def _schedule_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "@words" if "foscam" in value else "@days" if "days" in value else "@weekdays"
    if isinstance(value, WordsSpec):
        return "@words"
    return "@days" if isinstance(value, DayMaskSpec) else "@weekdays"


CameraSchedule = Annotated[
    Annotated[WordsSpec, Tag("@words")]
    | Annotated[DayMaskSpec, Tag("@days")]
    | Annotated[WeekdaysSpec, Tag("@weekdays")],
    Discriminator(_schedule_kind),
]
_SCHEDULE_FORM = {
    "foscam": WordsSpec,
    "ipcamcgi": DayMaskSpec,
    "vapix": WeekdaysSpec,
    "openapi": WeekdaysSpec,
}


class SimCameraConfig(Strict):
    dialect: Dialect
    port: Port = 0  # 0: [simulator].base_port + index if set, else any free port
    stream_port: Port = 0  # move: the MJPEG server-push port (the document's 8008); 0: any free port
    username: str = "admin"
    password: str = "secret"
    auth: AuthMode = "auto"
    digest_qop: bool = True  # Digest with qop="auth" (RFC 2617) or without it (RFC 2069)
    realm: str | None = None
    # video: a pre-encoded test card cycle
    fps: Annotated[float, Field(gt=0, le=60)] = 10.0
    width: Annotated[int, Field(ge=64, le=1920)] = 640
    height: Annotated[int, Field(ge=48, le=1080)] = 480
    frames: Annotated[int, Field(ge=1, le=3600)] = 100  # distinct frames in the cycle
    quality: Annotated[int, Field(ge=10, le=95)] = 60  # ~22 KB frames at 640x480
    # audio (openapi, vapix, mjpeg)
    audio: Literal["none", "mulaw", "g726"] = "mulaw"
    audio_httptype: Literal["singlepart", "multipart"] = "singlepart"  # default when not asked
    tone_hz: Annotated[int, Field(ge=50, le=3900)] = 1000
    # events
    inputs: Annotated[int, Field(ge=0, le=8)] = 2
    outputs: Annotated[int, Field(ge=0, le=8)] = 1
    # [] is a camera with no windows defined: VAPIX motiondata.cgi answers 204 (param.cgi API §5.4.5)
    motion_windows: Annotated[list[Annotated[int, Field(ge=0, le=99)]], Field(max_length=8)] = [0]
    motion_threshold: Annotated[int, Field(ge=0, le=100)] = 45
    motion_level: Annotated[int, Field(ge=0, le=100)] = 70  # reported while a window is triggered
    event_interval: Duration = 1.0  # motion-level streams send the levels this often (and at once on change)
    # IO and eventdata monitors speak at connect and on change only (VAPIX §5.5.1.1, Open API §5.2,
    # MOVE eventdata.cgi); a convenience: repeat the whole state this often as well
    monitor_repeat: Duration | None = None
    # the camera's own clock: its zone and how far it is off (camera time - true time, + is ahead),
    # as every time CGI and the IPCamCGI frame header tell it
    timezone: str = "UTC"
    clock_skew: SignedDuration = 0.0
    # frame timing: where in its frame period this camera's frames fall (0..1); None: as
    # [simulator].frame_phase says (a random phase, or the shared ticker's instant)
    phase: Annotated[float, Field(ge=0, lt=1)] | None = None
    # each frame written in bursts: "link" (as a link of `link_rate` bit/s delivers it: one burst
    # per `burst_gap` of transfer time, as a real camera's frame reaches a client), "off" (one
    # write: a convenience), or that many equal bursts
    frame_bursts: Literal["off", "link"] | Annotated[int, Field(ge=1, le=64)] = "link"
    link_rate: Annotated[float, Field(gt=0)] = 100e6
    burst_gap: Duration = 0.001
    schedule: CameraSchedule | None = None  # reported by the camera's own schedule CGIs
    schedule_enable: bool = True
    privacy: WordsSpec | None = None  # foscam: what get_forbidden.cgi reports (Foscam CGI set_forbidden)
    test_mail_result: Annotated[int, Field(ge=0, le=13)] = 0
    test_ftp_result: Annotated[int, Field(ge=0, le=9)] = 0
    faults: Faults = Faults()
    scenario: list[ScenarioStep] = []
    repeat: Duration | None = None  # run the scenario again every `repeat` seconds

    @field_validator("dialect", mode="before")
    @classmethod
    def _alias(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().lower() in ALIASES:
            return ALIASES[v.strip().lower()]
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError(
                "timezone", 'expected an IANA time zone like "Europe/Berlin", got "{got}"', {"got": v}
            ) from None
        return v

    @_model_validator(mode="after")
    def _fits_dialect(self) -> SimCameraConfig:
        form = _SCHEDULE_FORM.get(self.dialect)
        if self.schedule is not None and not isinstance(self.schedule, form or ()):
            want = {WordsSpec: "{ foscam = {...} }", DayMaskSpec: "{ days, start, stop }"}.get(
                form or WeekdaysSpec, "{ weekdays, start, duration }"
            )
            raise PydanticCustomError(
                "schedule",
                "a {dialect} camera reports its schedule as {want}",
                {"dialect": self.dialect, "want": want if form else "nothing (no schedule CGI)"},
            )
        if self.privacy is not None and self.dialect != "foscam":
            raise PydanticCustomError(
                "privacy", "only a foscam camera keeps a privacy schedule (get_forbidden.cgi)", {}
            )
        if self.dialect == "move" and not set(self.motion_windows) <= {0, 1, 2, 3}:
            raise PydanticCustomError(
                "windows", "a move camera has motion windows 0-3 (Motion, Motion1..3)", {}
            )
        if self.repeat is not None and self.scenario and self.repeat <= max(s.at for s in self.scenario):
            raise PydanticCustomError("repeat", "repeat must be longer than the last step's `at`", {})
        return self

    @property
    def auth_mode(self) -> AuthScheme:
        return DEFAULT_AUTH[self.dialect] if self.auth == "auto" else self.auth

    @property
    def has_audio(self) -> bool:
        return self.audio != "none" and self.dialect in AUDIO_DIALECTS

    def burst_count(self, size: int) -> int:
        """How many bursts a part of `size` bytes is written in."""
        if self.frame_bursts == "off":
            return 1
        if self.frame_bursts == "link":
            per_burst = self.link_rate / 8 * self.burst_gap
            return max(1, min(64, -(-size // max(1, int(per_burst)))))
        return self.frame_bursts


class SimulatorSettings(Strict):
    host: str = "127.0.0.1"
    control_port: Port | None = None  # all cameras' /_sim/<camera>/... on one port (None: off)
    base_port: Port | None = None  # cameras with port 0 get base_port + their index, in file order
    frame_log: Annotated[int, Field(ge=0)] = 200_000  # frames remembered per camera for frame_bytes()
    # "random": each camera's frames at its own random phase of the frame period, as unsynchronised
    # cameras send them; "shared": every camera of a frame rate at the same instant (a what-if)
    frame_phase: Literal["random", "shared"] = "random"
    seed: int | None = None  # for the random phases (None: different every run)

    @field_validator("host")
    @classmethod
    def _loopback(cls, v: str) -> str:
        if v not in ("127.0.0.1", "::1", "localhost"):
            raise PydanticCustomError("host", 'the simulator serves loopback only, got "{got}"', {"got": v})
        return v


class SimConfig(Strict):
    simulator: SimulatorSettings = SimulatorSettings()
    cameras: dict[Annotated[str, Field(pattern=NAME_RE)], SimCameraConfig] = {}

    @classmethod
    def every_dialect(cls, **common: Any) -> SimConfig:
        """One camera per dialect, named after it, with `common` settings (tests, the demo)."""
        return cls(cameras={str(d): SimCameraConfig(dialect=d, **common) for d in DIALECTS})

    def with_ephemeral_ports(self) -> SimConfig:
        """The same cameras on ports the OS picks (for tests that load a config with fixed ports)."""
        cams = {n: c.model_copy(update={"port": 0, "stream_port": 0}) for n, c in self.cameras.items()}
        sim = self.simulator.model_copy(update={"base_port": None, "control_port": None})
        return SimConfig(simulator=sim, cameras=cams)

    def planned_port(self, name: str) -> int:
        """The port a camera will listen on as far as the config says (0: picked at start)."""
        cam = self.cameras[name]
        if cam.port or self.simulator.base_port is None:
            return cam.port
        return self.simulator.base_port + list(self.cameras).index(name)

    def planned_stream_port(self, name: str) -> int:
        """A move camera's stream port: configured, else after all cameras' base ports, else 0."""
        cam = self.cameras[name]
        if cam.stream_port or self.simulator.base_port is None:
            return cam.stream_port
        moves = [n for n, c in self.cameras.items() if c.dialect == "move"]
        return self.simulator.base_port + len(self.cameras) + moves.index(name)


def parse_sim_config(text: str, *, name: str = "sim.toml") -> SimConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"{name}: syntax error: {e}"]) from None
    try:
        return SimConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(format_errors(name, raw, e.errors())) from None


def load_sim_config(path: Path | str) -> SimConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError([f"{path}: cannot read: {e.strerror or e}"]) from None
    except UnicodeDecodeError as e:
        raise ConfigError([f"{path}: not UTF-8 text (byte {e.start})"]) from None
    return parse_sim_config(text, name=str(path))
