"""The configuration, as typed objects. Unknown keys are errors everywhere (extra="forbid").

Cross references (a camera's actions naming a target) are checked against the validation context
{"targets": set of target names}, so that every error is reported in one pass.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from recorderd.config.offers import loop_problem, trigger_problem
from recorderd.config.units import Duration, Size, Usage, UsageLimit, format_duration
from recorderd.core.events import ArmedMode
from recorderd.dialects.linkage import MAX_PATTERN_S, LinkUnsupported
from recorderd.dialects.registry import ALIASES, DIALECTS, Dialect, action_steps
from recorderd.schedule.spec import ScheduleSpec

MAX_MANUAL_S = 3600.0  # the longest manual trigger, from the config or a POST
NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Name = Annotated[str, Field(pattern=NAME_RE)]

TRIGGER_RE = re.compile(r"^(motion|motion:[A-Za-z0-9_]+|input:\d+|output:\d+|sound|tamper|face|[a-z]+:\w+)$")
ACTION_LINK_RE = re.compile(r"^(output:\d+|preset:\d+)$")


LogLevel = Literal["debug", "info", "warning", "error"]
AuthMode = Literal["auto", "basic", "digest", "query"]  # how requests to a camera authenticate
RecordMode = Literal["event", "continuous", "off"]
Naming = Literal["overwrite", "timestamp", "sequence"]  # how an FTP upload's name is made unique


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "timezone", 'expected an IANA time zone like "Europe/Berlin", got "{got}"', {"got": value}
        ) from None
    return value


TimeZoneName = Annotated[str, Field(min_length=1)]


def _readable(path: Path | None) -> Path | None:
    """A secret file must be readable when the config is loaded, not first when it is needed."""
    if path is None:
        return None
    try:
        path.read_text(encoding="utf-8")
        return path
    except OSError as e:
        why = e.strerror or str(e)
    except UnicodeDecodeError:
        why = "not UTF-8 text"
    raise PydanticCustomError("secret_file", "cannot read {path}: {why}", {"path": str(path), "why": why})


def _loopback(host: str) -> bool:
    """A listen host only this machine reaches: 127.0.0.0/8, [::1], localhost."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _read_secret(path: Path) -> str:
    return path.read_text(encoding="utf-8").rstrip("\r\n")


def _at_most_one(model: BaseModel, keys: tuple[str, ...]) -> None:
    given = [k for k in keys if getattr(model, k) is not None]
    if len(given) > 1:
        raise PydanticCustomError(
            "secret",
            "give only one of {keys} (got {given})",
            {"keys": ", ".join(keys), "given": ", ".join(given)},
        )


class Credentials(Strict):
    """A user name and a secret given as password, password_file or password_env (at most one).

    The secret is read when the config is loaded, so a missing file or variable is a config error,
    and it lives only in a SecretStr, which never prints.
    """

    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    password_env: str | None = None

    @field_validator("password_file")
    @classmethod
    def _file_readable(cls, v: Path | None) -> Path | None:
        return _readable(v)

    @field_validator("password_env")
    @classmethod
    def _env_set(cls, v: str | None) -> str | None:
        if v is not None and v not in os.environ:
            raise PydanticCustomError("password_env", "environment variable {name} is not set", {"name": v})
        return v

    @model_validator(mode="after")
    def _one_secret(self) -> Credentials:
        _at_most_one(self, ("password", "password_file", "password_env"))
        return self

    def secret(self) -> str | None:
        """The password in clear; call only where it is sent, never to log it."""
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return _read_secret(self.password_file)
        if self.password_env is not None:
            return os.environ.get(self.password_env, "")
        return None


class DaemonConfig(Strict):
    state_dir: Path = Path("/var/lib/recorderd")
    timezone: TimeZoneName = "UTC"
    http_listen: str = "127.0.0.1:8765"
    http_token: SecretStr | None = None
    http_token_file: Path | None = None
    # bound: the endpoint's open connections (lowered to leave descriptors to the cameras)
    http_max_connections: Annotated[int, Field(ge=4, le=4096)] = 64
    log_level: LogLevel = "info"
    event_queue: Annotated[int, Field(ge=16, le=1_000_000)] = 1024

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _zone(v)

    @field_validator("http_token_file")
    @classmethod
    def _token_readable(cls, v: Path | None) -> Path | None:
        return _readable(v)

    @model_validator(mode="after")
    def _one_token(self) -> DaemonConfig:
        _at_most_one(self, ("http_token", "http_token_file"))
        return self

    @model_validator(mode="after")
    def _safe_endpoint(self) -> DaemonConfig:
        """Fail closed: an empty token never turns authentication off, and an endpoint other
        hosts can reach needs a token."""
        given = self.http_token is not None or self.http_token_file is not None
        try:
            token = self.token()
        except OSError:
            return self  # an unreadable file is reported by its own validator
        if given and token is None:
            where = "http_token_file" if self.http_token_file is not None else "http_token"
            raise PydanticCustomError(
                "empty_token",
                "{where} is empty: give a token (for example `openssl rand -hex 32`) or remove the key",
                {"where": where},
            )
        host = self.http_listen.rpartition(":")[0]
        if self.http_listen and token is None and not _loopback(host):
            raise PydanticCustomError(
                "open_endpoint",
                'http_listen "{listen}" is reachable from other hosts: set http_token or '
                'http_token_file, or listen on "127.0.0.1:PORT"',
                {"listen": self.http_listen},
            )
        return self

    def token(self) -> str | None:
        """The HTTP API's bearer token in clear (surrounding blanks stripped), or None for none."""
        if self.http_token is not None:
            return self.http_token.get_secret_value().strip() or None
        if self.http_token_file is not None:
            return _read_secret(self.http_token_file).strip() or None
        return None

    @field_validator("http_listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        if v and not re.fullmatch(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}", v):
            raise PydanticCustomError(
                "listen", 'expected host:port like "127.0.0.1:8765" or "" for off, got "{got}"', {"got": v}
            )
        return v


class StorageConfig(Strict):
    max_age: Duration | None = None
    max_usage: UsageLimit = Usage(share=0.9)
    min_free: Size = 5 * 1024**3
    check_interval: Duration = 60.0
    # bound: the outbox database (snapshots of undelivered actions are its bulk); counted with the
    # index and the recordings against max_usage
    outbox_max: Size = 256 * 1024**2


class MqttTls(Strict):
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False


class MqttConfig(Credentials):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    topic: Annotated[str, Field(pattern=r"^[^#+\s]+$")] = "recorderd"
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    client_id: str | None = None
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    keepalive: Duration = 30.0
    qos: Literal[0, 1, 2] = 1
    tls: bool | MqttTls = False


class TargetBase(Credentials):
    schedule: ScheduleSpec | None = None
    timeout: Duration = 30.0
    expire: Duration = 86400.0
    concurrency: Annotated[int, Field(ge=1, le=64)] = 1


class EmailTarget(TargetBase):
    kind: Literal["email"]
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    security: Literal["none", "tls", "starttls"] = "starttls"
    sender: str = Field(alias="from")
    to: Annotated[list[str], Field(min_length=1)]
    subject: str = "[recorderd] {camera}: {trigger} {type}"
    body: str = "Camera {camera} reported {trigger} ({type}) at {time}.\n"
    attach_snapshots: bool = True
    min_interval: Duration = 0.0
    ca_file: Path | None = None  # trust this CA for TLS/STARTTLS instead of the system store
    tls_insecure: bool = False  # skip certificate checks (a camera-grade mail box with a self-signed cert)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FtpTarget(TargetBase):
    kind: Literal["ftp"]
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 21
    passive: bool = True
    directory: str = "{camera}/{date}"
    base_name: str = "{camera}"  # IPCamCGI FTP*BaseFileName / Foscam CGI ftp_filename; naming adds the suffix
    naming: Naming = "timestamp"
    sequence_max: Annotated[int, Field(ge=1)] = 1000
    retain_connection: bool = False
    upload: list[Literal["snapshot", "clip"]] = ["snapshot"]
    snapshot_interval: Duration | None = None


class HttpTarget(TargetBase):
    kind: Literal["http"]
    url: Annotated[str, Field(pattern=r"^https?://")]
    method: Literal["GET", "POST"] = "GET"
    auth: Literal["basic", "digest"] = "basic"
    headers: dict[str, str] = {}


Target = Annotated[EmailTarget | FtpTarget | HttpTarget, Field(discriminator="kind")]


class RecordConfig(Strict):
    mode: RecordMode = "event"
    pre: Duration = 5.0
    post: Duration = 10.0
    max: Duration = 600.0
    segment: Duration = 60.0
    pre_bytes: Size = 64 * 1024**2

    @model_validator(mode="after")
    def _positive(self) -> RecordConfig:
        if self.segment <= 0:
            raise PydanticCustomError("segment", "segment must be longer than 0s", {})
        return self


class ActionRule(Strict):
    """An action with options: which target, for which triggers, under which schedule."""

    target: str
    triggers: list[str] | None = None
    schedule: ScheduleSpec | None = None
    # output:N only: alternating on/off times, e.g. ["300ms", "500ms", "300ms"] (VAPIX /300\500/300\)
    pulses: Annotated[list[Duration], Field(min_length=1, max_length=32)] | None = None

    @field_validator("pulses")
    @classmethod
    def _pattern(cls, v: list[float] | None, info: ValidationInfo) -> list[float] | None:
        if v is None:
            return v
        if not str(info.data.get("target", "output:")).startswith("output:"):
            raise PydanticCustomError("pulses", "pulses apply to output:<n> actions only", {})
        if any(round(p * 1000) <= 0 for p in v[::2]):
            raise PydanticCustomError("pulses", "an active time must be at least 1ms", {})
        if sum(v) > MAX_PATTERN_S:
            raise PydanticCustomError(
                "pulses",
                "a pulse pattern may last at most {max} in all, got {got}",
                {"max": f"{MAX_PATTERN_S:g}s", "got": format_duration(sum(v))},
            )
        return v

    def pulse_pairs(self) -> list[tuple[int, int]] | None:
        """[(on_ms, off_ms), ...]; the last off is 0 (the relay stays off)."""
        if not self.pulses:
            return None
        ms = [round(p * 1000) for p in self.pulses] + [0]
        return [(ms[i], ms[i + 1]) for i in range(0, len(self.pulses), 2)]


# a string names the action, a table is an ActionRule: only that branch's errors are reported
ActionEntry = Annotated[
    Annotated[str, Tag("str")] | Annotated[ActionRule, Tag("ActionRule")],
    Discriminator(lambda v: "str" if isinstance(v, str) else "ActionRule"),
]


def _dialect_of(raw: Any) -> Dialect | None:
    name = raw.get("dialect") if isinstance(raw, dict) else None
    if isinstance(name, str) and name.strip().lower() in ALIASES:
        return ALIASES[name.strip().lower()]
    return None


class CameraConfig(Credentials):
    """One camera. Defaults follow the dialect: where the document gives no trigger source (a plain
    MJPEG URL), `triggers` defaults to none and `record.mode` to "continuous"; elsewhere to
    ["motion"] and "event"."""

    dialect: Dialect
    enabled: bool = True
    # validate_default: "needs url" is reported even when other keys of the camera are wrong
    url: Annotated[str | None, Field(pattern=r"^https?://", validate_default=True)] = None
    video_url: Annotated[str | None, Field(pattern=r"^https?://", validate_default=True)] = None
    audio_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    auth: AuthMode = "auto"
    triggers: list[str] = ["motion"]
    audio: bool = False
    timezone: TimeZoneName | None = None
    schedule: ScheduleSpec = "always"
    privacy: ScheduleSpec = "never"
    armed: ArmedMode = "auto"
    record: RecordConfig = RecordConfig()
    # None: ["mqtt"] when [mqtt] is configured, else nothing
    actions: list[ActionEntry] | None = None
    poll_interval: Duration = 1.0
    read_timeout: Duration = 10.0
    alarm_timeout: Duration = 300.0
    min_on: Duration = 0.0
    # debounce of the end: a trigger back on within min_off continues its incident (chatter,
    # a flapping sensor: one incident); the end is dated at the last off
    min_off: Duration = 2.0
    hold_off: Duration = 0.0
    # the incident rate limit: more than max_incidents incidents (0: no limit) within
    # incident_window make the camera flapping: one incident covers the storm until no trigger
    # started for flap_calm
    max_incidents: Annotated[int, Field(ge=0, le=10_000)] = 20
    incident_window: Duration = 60.0
    flap_calm: Duration = 30.0
    # how long a manual trigger (POST /api/cameras/<c>/trigger) stays on unless the POST says
    manual_duration: Annotated[Duration, Field(gt=0, le=MAX_MANUAL_S)] = 10.0
    max_part_size: Size = 4 * 1024**2

    @model_validator(mode="before")
    @classmethod
    def _dialect_defaults(cls, raw: Any) -> Any:
        dialect = _dialect_of(raw)
        if dialect is None or DIALECTS[dialect].triggers:
            return raw
        out = dict(raw)
        out.setdefault("triggers", [])
        record = out.get("record", {})
        if isinstance(record, dict) and "mode" not in record:
            out["record"] = {**record, "mode": "continuous"}
        return out

    @field_validator("dialect", mode="before")
    @classmethod
    def _alias(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().lower() in ALIASES:
            return ALIASES[v.strip().lower()]
        if isinstance(v, str):
            raise PydanticCustomError(
                "dialect",
                'unknown dialect "{got}" (expected one of {known})',
                {"got": v, "known": ", ".join(sorted(ALIASES))},
            )
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else _zone(v)

    @field_validator("triggers")
    @classmethod
    def _triggers(cls, v: list[str], info: ValidationInfo) -> list[str]:
        dialect = info.data.get("dialect")
        for t in v:
            if not TRIGGER_RE.match(t):
                raise PydanticCustomError(
                    "trigger",
                    'unknown trigger "{got}" (expected motion, motion:<window>, input:<n>, '
                    "output:<n>, sound, tamper, face)",
                    {"got": t},
                )
            why = trigger_problem(DIALECTS[dialect], t) if dialect is not None else None
            if why is not None:
                raise PydanticCustomError("trigger", "{why}", {"why": why})
        return v

    @field_validator("audio")
    @classmethod
    def _audio(cls, v: bool, info: ValidationInfo) -> bool:
        dialect = info.data.get("dialect")
        if v and dialect is not None and not DIALECTS[dialect].audio:
            raise PydanticCustomError(
                "audio", "{d} offers no audio stream (its document describes none)", {"d": dialect}
            )
        return v

    @field_validator("schedule", "privacy")
    @classmethod
    def _camera_kept(cls, v: Any, info: ValidationInfo) -> Any:
        dialect = info.data.get("dialect")
        if v != "camera" or dialect is None:
            return v
        spec = DIALECTS[dialect]
        readable = spec.camera_schedule if info.field_name == "schedule" else spec.camera_privacy
        if not readable:
            other = spec.camera_privacy if info.field_name == "schedule" else spec.camera_schedule
            raise PydanticCustomError(
                "camera_schedule",
                '"camera": {d} cameras keep no {what} a client can read{only}',
                {
                    "d": dialect,
                    "what": "arming schedule" if info.field_name == "schedule" else "privacy schedule",
                    "only": f' (only {"privacy" if info.field_name == "schedule" else "schedule"} = "camera")'
                    if other
                    else "",
                },
            )
        return v

    @field_validator("actions")
    @classmethod
    def _actions(
        cls, v: list[str | ActionRule] | None, info: ValidationInfo
    ) -> list[str | ActionRule] | None:
        ctx = info.context or {}
        targets: set[str] = ctx.get("targets", set())
        dialect = info.data.get("dialect")  # absent when the dialect itself is wrong
        for a in v or ():
            name = a if isinstance(a, str) else a.target
            if name == "mqtt" and not ctx.get("mqtt", True):
                raise PydanticCustomError("action", 'action "mqtt" needs an [mqtt] section', {})
            if ACTION_LINK_RE.match(name):
                if dialect is not None:
                    # the sender's own per-dialect steps: what they cannot do is refused here
                    try:
                        action_steps(dialect, name, None if isinstance(a, str) else a.pulse_pairs())
                    except LinkUnsupported as e:
                        raise PydanticCustomError(
                            "action", '"{got}": {why}', {"got": name, "why": str(e)}
                        ) from None
                    loop = name.startswith("output:") and loop_problem(
                        DIALECTS[dialect], info.data.get("triggers", ()), int(name[7:])
                    )
                    if loop:
                        raise PydanticCustomError("action_loop", "{why}", {"why": loop})
            elif name != "mqtt" and name not in targets:
                raise PydanticCustomError(
                    "action",
                    'unknown target "{got}" (expected mqtt, output:<n>, preset:<n> or one of '
                    "[targets]: {known})",
                    {"got": name, "known": ", ".join(sorted(targets)) or "none defined"},
                )
        return v

    @field_validator("url", "video_url")
    @classmethod
    def _needed(cls, v: str | None, info: ValidationInfo) -> str | None:
        dialect = info.data.get("dialect")
        wanted = DIALECTS[dialect].needs if dialect is not None else None
        if v is None and dialect is not None and info.field_name == wanted:
            raise PydanticCustomError(
                "missing_url", 'missing (dialect "{d}" needs {k})', {"d": dialect, "k": wanted}
            )
        return v

    def action_list(self, mqtt_configured: bool) -> list[str | ActionRule]:
        if self.actions is not None:
            return self.actions
        return ["mqtt"] if mqtt_configured else []

    def zone(self, default: str) -> ZoneInfo:
        return ZoneInfo(self.timezone or default)


class Config(Strict):
    daemon: DaemonConfig = DaemonConfig()
    storage: StorageConfig = StorageConfig()
    mqtt: MqttConfig | None = None
    targets: dict[Name, Target] = {}
    cameras: dict[Name, CameraConfig] = {}
