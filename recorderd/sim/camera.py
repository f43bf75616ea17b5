"""One simulated camera at run time: its event state, its frames, and everything it was asked and sent.

This is the handle tests hold (`sim["front"]`). State changes wake the event streams at once; the
shared ticker calls `_tick` at the camera's frame rate and wakes its video streams. Times are
reported as `time.monotonic()` (the system-wide CLOCK_MONOTONIC, comparable across processes) and
`time.time()`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import trio

from recorderd.dialects.registry import DIALECTS, Dialect
from recorderd.sim import audio
from recorderd.sim.auth import AuthPolicy
from recorderd.sim.card import CardFrames, frame_comment
from recorderd.sim.config import EVENT_TRIGGERS, Faults, SimCameraConfig
from recorderd.sim.framing import LENGTH, Framing
from recorderd.sim.logs import FrameLog, SeqRuns
from recorderd.sim.params import ParamTree, axis_tree, foscam_forbidden, foscam_vars, ipcam_tables, move_tree
from recorderd.sim.render import ipcam_date

# who set a trigger: the API, the scenario, a CGI the client called, the /_sim/ HTTP control
EffectSource = Literal["api", "scenario", "control", "http"]
StreamKind = Literal["video", "event", "audio"]

# the documents' paths (the dialect registry); a plain MJPEG camera has none, so it gets the usual ones
VIDEO_PATHS = {str(d): "/" + e.paths.video for d, e in DIALECTS.items() if d != Dialect.MJPEG} | {
    "mjpeg": "/video.mjpg"
}
SNAPSHOT_PATHS = {str(d): "/" + e.paths.snapshot for d, e in DIALECTS.items() if d != Dialect.MJPEG} | {
    "mjpeg": "/image.jpg"
}
AUDIO_PATHS = {str(d): "/" + e.paths.audio for d, e in DIALECTS.items() if e.paths.audio} | {
    "mjpeg": "/audio"
}
REALMS = {
    "ipcamcgi": "IPCamCGI",
    "openapi": "IP Camera",
    "vapix": "AXIS_SIM",
    "foscam": "ipcamera",
    "move": "MOVE",
    "mjpeg": "mjpeg",
}


@dataclass(frozen=True)
class Effect:
    """A state change and when it took effect (streams were woken at that instant)."""

    trigger: str  # as asked, e.g. "motion"
    on: bool
    mono: float
    wall: float
    source: EffectSource = "api"
    kind: str = ""  # canonical: motion | input | output | sound | tamper | face | email
    index: int = 0  # motion window, input or output number


@dataclass
class EventState:
    """Motion windows, inputs, outputs and flags; event streams keep a copy and replay Effects on it,
    so a pulse shorter than a scheduling pass still reaches every stream.

    `linked_io`: input n and output n are one line (IPCamCGI's Trigger1/Trigger2: switched through
    iocontrol.cgi, §5.1.2, and reported in every frame header, §4.1.2)."""

    motion: dict[int, bool]
    inputs: list[bool]
    outputs: list[bool]
    flags: dict[str, bool]
    linked_io: bool = False

    def copy(self) -> EventState:
        return EventState(
            dict(self.motion), list(self.inputs), list(self.outputs), dict(self.flags), self.linked_io
        )

    def apply(self, kind: str, index: int, on: bool) -> None:
        if kind == "motion":
            self.motion[index] = on
        elif kind in ("input", "output"):
            if kind == "input" or self.linked_io:
                self.inputs[index - 1] = on
            if kind == "output" or self.linked_io:
                self.outputs[index - 1] = on
        else:
            self.flags[kind] = on

    def get(self, kind: str, index: int) -> bool:
        if kind == "motion":
            return self.motion[index]
        if kind == "input":
            return self.inputs[index - 1]
        if kind == "output":
            return self.outputs[index - 1]
        return self.flags[kind]


@dataclass(frozen=True)
class FrameInfo:
    seq: int  # the camera's frame number since it started (ticks, including frames nobody received)
    index: int  # which test card frame
    mono: float
    wall: float


@dataclass(frozen=True)
class RequestRecord:
    method: str
    target: str  # path and query as sent (the query may hold Foscam CGI credentials)
    status: int
    mono: float


@dataclass(frozen=True)
class ControlCall:
    """A request that asked the camera to do something (relay, PTZ, decoder, settings)."""

    kind: str  # output | ptz | ptzconfig | decoder_control | pantilt | iocontrol | params | alarm | ...
    path: str
    params: dict[str, str]  # without credentials
    mono: float
    wall: float


@dataclass
class StreamStats:
    id: int
    kind: StreamKind
    path: str
    opened: float  # monotonic
    closed: float | None = None
    parts: int = 0  # whole parts written (frames, event parts, audio blocks)
    bytes: int = 0
    runs: SeqRuns = field(default_factory=SeqRuns, repr=False)  # video: seqs of the whole frames sent

    @property
    def seqs(self) -> list[int]:
        """The frame seq of each whole frame sent on this stream, in order."""
        return list(self.runs)


_AUTH_PARAMS = ("user", "pwd", "cam_user", "cam_pwd")


def _url(host: str, port: int, path: str = "/") -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/{path.lstrip('/')}"


def _video_url(dialect: str, host: str, port: int, stream_port: int | None) -> str | None:
    if dialect == "move":
        return _url(host, stream_port) if stream_port else None
    return _url(host, port, VIDEO_PATHS[dialect]) if port else None


def describe_camera(
    name: str, cfg: SimCameraConfig, host: str, port: int, stream_port: int | None
) -> dict[str, Any]:
    """name, dialect, url (base URL), username, password, and where its streams are; URLs are null
    for a port that is only picked when serving (port 0)."""
    audio = AUDIO_PATHS.get(cfg.dialect) if cfg.has_audio else None
    return {
        "name": name,
        "dialect": cfg.dialect,
        "url": _url(host, port) if port else None,
        "username": cfg.username,
        "password": cfg.password,
        "auth": cfg.auth_mode,
        "video_url": _video_url(cfg.dialect, host, port, stream_port),
        "audio_url": _url(host, port, audio) if audio and port else None,
        "snapshot_url": _url(host, port, SNAPSHOT_PATHS[cfg.dialect]) if port else None,
    }


class SimCamera:
    def __init__(
        self, name: str, config: SimCameraConfig, frames: CardFrames, *, host: str, frame_log: int
    ) -> None:
        self.name = name
        self.config = config
        self.dialect: str = config.dialect
        self.host = host
        self.port = 0
        self.stream_port: int | None = None
        self.username = config.username
        self.password = config.password
        self.faults: Faults = config.faults
        self._status_left = config.faults.status_count
        self.frames = frames
        self.auth = AuthPolicy(
            mode=config.auth_mode,
            username=config.username,
            password=config.password,
            realm=config.realm or REALMS[config.dialect],
            qop=config.digest_qop,
            opaque=secrets.token_hex(16),
            secret=secrets.token_bytes(32),
        )
        self.tz = ZoneInfo(config.timezone)
        self.clock_skew = config.clock_skew  # camera time - true time (settable while running)
        # event state; IPCamCGI has exactly its two Trigger lines, inputs and outputs alike
        linked = config.dialect == "ipcamcgi"
        self.state = EventState(
            dict.fromkeys(config.motion_windows, False),
            [False] * (2 if linked else config.inputs),
            [False] * (2 if linked else config.outputs),
            {"sound": False, "tamper": False, "face": False, "email": False},
            linked,
        )
        self.pan, self.tilt, self.zoom, self.preset = 0, 0, 1, 0
        # settings the CGIs report and accept
        self.params: ParamTree = (
            move_tree(config, name) if config.dialect == "move" else axis_tree(config, name)
        )
        self.fvars = foscam_vars(config, name)
        self.forbidden = foscam_forbidden(config)
        self.tables = ipcam_tables(config, name)
        # what happened
        self.changes: list[Effect] = []
        self.requests: list[RequestRecord] = []
        self.controls: list[ControlCall] = []
        self.streams: list[StreamStats] = []
        # video
        self.seq = -1
        self.current: FrameInfo | None = None
        self._frame_log = FrameLog(frame_log)
        self._jpeg: bytes | None = None
        self._parts: dict[Framing, bytes] = {}
        self.video_subscribers = 0
        self._frame_lot = trio.lowlevel.ParkingLot()
        self._change_lot = trio.lowlevel.ParkingLot()
        self._activity_lot = trio.lowlevel.ParkingLot()
        self._refuse_changed = trio.lowlevel.ParkingLot()
        self._nursery: trio.Nursery | None = None
        self.listening = False  # False while refusing connections (fault `refuse`)

    # ----- addresses -----
    @property
    def base_url(self) -> str:
        return _url(self.host, self.port)

    def url(self, path: str) -> str:
        return _url(self.host, self.port, path)

    @property
    def video_url(self) -> str:
        """The dialect's main MJPEG stream (MOBOTIX MOVE: its own port)."""
        return _video_url(self.dialect, self.host, self.port, self.stream_port) or ""

    @property
    def snapshot_url(self) -> str:
        return self.url(SNAPSHOT_PATHS[self.dialect])

    @property
    def audio_url(self) -> str | None:
        return self.url(AUDIO_PATHS[self.dialect]) if self.config.has_audio else None

    def describe(self) -> dict[str, Any]:
        """The `recorderd simulate --list` entry, with the ports actually bound."""
        return describe_camera(self.name, self.config, self.host, self.port, self.stream_port)

    def recorderd_camera(self) -> dict[str, Any]:
        """A `[cameras.NAME]` table for a recorderd config that watches this camera."""
        auth = {"none": "auto"}.get(self.auth.mode, self.auth.mode)
        out: dict[str, Any] = {"dialect": self.dialect, "username": self.username, "password": self.password}
        out["auth"] = auth
        if self.dialect == "mjpeg":
            out["video_url"] = self.video_url
            if self.audio_url:
                out["audio_url"] = self.audio_url
        else:
            out["url"] = self.base_url
            if self.dialect == "move":
                out["video_url"] = self.video_url
        return out

    # ----- triggers -----
    def _canonical(self, trigger: str) -> tuple[str, int]:
        """('motion', window) | ('input', n) | ('output', n) | (flag, 0); ValueError if not supported."""
        kind, sep, arg = trigger.partition(":")
        if kind == "upload" and self.dialect == "ipcamcgi":
            kind = "motion"
        if kind == "output" and arg.isdigit() and 1 <= int(arg) <= len(self.state.outputs):
            return kind, int(arg)
        if kind not in EVENT_TRIGGERS[self.dialect]:
            known = ", ".join(EVENT_TRIGGERS[self.dialect]) or "none"
            raise ValueError(
                f"camera {self.name} ({self.dialect}) has no trigger {trigger!r} (kinds: {known})"
            )
        if kind == "motion":
            motion = self.state.motion
            if not motion:
                raise ValueError(f"camera {self.name} has no motion windows defined")
            window = int(arg) if arg.isdigit() else next(iter(motion))
            if (sep and not arg.isdigit()) or window not in motion:
                raise ValueError(f"camera {self.name} has no motion window {arg!r} (has {list(motion)})")
            return kind, window
        if kind == "input":
            n_in = len(self.state.inputs)
            if not arg.isdigit() or not 1 <= int(arg) <= n_in:
                raise ValueError(f"camera {self.name} has inputs 1..{n_in}, not {arg!r}")
            return kind, int(arg)
        if sep:
            raise ValueError(f"camera {self.name}: {kind} takes no argument")
        return kind, 0

    def trigger(self, trigger: str) -> bool:
        """The current state of a trigger (`motion`, `motion:1`, `input:2`, `output:1`, `sound`, ...)."""
        return self.state.get(*self._canonical(trigger))

    def _set(self, trigger: str, on: bool, source: EffectSource) -> Effect:
        kind, n = self._canonical(trigger)
        self.state.apply(kind, n, on)
        effect = Effect(trigger, on, time.monotonic(), time.time(), source, kind, n)
        self.changes.append(effect)
        self._change_lot.unpark_all()
        self._activity_lot.unpark_all()
        return effect

    async def set_trigger(self, trigger: str, on: bool = True, *, source: EffectSource = "api") -> Effect:
        """Set a trigger; returns when and (after one checkpoint) the event streams have been woken."""
        effect = self._set(trigger, on, source)
        await trio.lowlevel.checkpoint()
        return effect

    def motion_levels(self, tick: int, state: EventState | None = None) -> list[tuple[int, int, int]]:
        """(group, level, threshold) per window; an idle window wanders below its threshold."""
        th = self.config.motion_threshold
        out = []
        for w, on in (state or self.state).motion.items():
            idle = (tick * 7 + w * 13) % max(1, th // 2)
            out.append((w, self.config.motion_level if on else idle, th))
        return out

    def ipcam_bits(self) -> list[bool]:
        """IPCamCGI IO field: Trigger1, Trigger2, Image Upload (motion), Image Email, 4 reserved."""
        st = self.state
        ins = [*st.inputs, False, False]
        return [ins[0], ins[1], any(st.motion.values()), st.flags["email"], False, False, False, False]

    def foscam_alarm_status(self) -> int:
        """Foscam CGI: 0 none, 1 motion, 2 input, 3 sound (the first that is active)."""
        st = self.state
        if any(st.motion.values()):
            return 1
        if any(st.inputs):
            return 2
        return 3 if st.flags["sound"] else 0

    # ----- the camera's clock -----
    def clock(self, wall: float | None = None) -> float:
        """The camera's time (UNIX seconds) at true time `wall` (now): true time plus its skew."""
        return (time.time() if wall is None else wall) + self.clock_skew

    def local_now(self, wall: float | None = None) -> datetime:
        """The camera's clock in its zone, at true time `wall` (now)."""
        return datetime.fromtimestamp(self.clock(wall), self.tz)

    def utc_offset(self, wall: float | None = None) -> int:
        """Seconds east of UTC the camera's zone has now."""
        offset = self.local_now(wall).utcoffset()
        return int(offset.total_seconds()) if offset else 0

    # ----- faults -----
    def set_faults(self, **changes: Any) -> Faults:
        """Switch faults on or off (see Faults); returns the new set."""
        old = self.faults
        self.faults = old.with_changes(**changes)
        if "status_count" in changes or "status" in changes:
            self._status_left = self.faults.status_count
        if self.faults.refuse != old.refuse:
            self._refuse_changed.unpark_all()
        self._activity_lot.unpark_all()
        return self.faults

    def clear_faults(self) -> Faults:
        """Back to the faults the config started with (usually none)."""
        return self.set_faults(**self.config.faults.model_dump())

    def _take_status_fault(self) -> int | None:
        status = self.faults.status
        if status is None:
            return None
        if self._status_left is None:
            return status
        if self._status_left <= 0:
            return None
        self._status_left -= 1
        if self._status_left == 0:
            self.faults = self.faults.with_changes(status=None, status_count=None)
        return status

    # ----- records -----
    def _record_request(self, method: str, target: str, status: int) -> None:
        self.requests.append(RequestRecord(method, target, status, time.monotonic()))
        self._activity_lot.unpark_all()

    def _record_control(self, kind: str, path: str, params: dict[str, str]) -> ControlCall:
        clean = {k: v for k, v in params.items() if k not in _AUTH_PARAMS}
        call = ControlCall(kind, path, clean, time.monotonic(), time.time())
        self.controls.append(call)
        self._activity_lot.unpark_all()
        return call

    def _open_stream(self, kind: StreamKind, path: str) -> StreamStats:
        stats = StreamStats(len(self.streams), kind, path, time.monotonic())
        self.streams.append(stats)
        self._activity_lot.unpark_all()
        return stats

    def _set_listening(self, on: bool) -> None:
        self.listening = on
        self._activity_lot.unpark_all()

    def _close_stream(self, stats: StreamStats) -> None:
        stats.closed = time.monotonic()
        self._activity_lot.unpark_all()

    def calls(self, kind: str | None = None) -> list[ControlCall]:
        return [c for c in self.controls if kind is None or c.kind == kind]

    def open_streams(self, kind: StreamKind | None = None) -> list[StreamStats]:
        return [s for s in self.streams if s.closed is None and (kind is None or s.kind == kind)]

    @property
    def frames_sent(self) -> int:
        """Whole frames written on all video streams so far."""
        return sum(s.parts for s in self.streams if s.kind == "video")

    def sent_seqs(self, stream: int | None = None) -> list[int]:
        """Frame seqs written whole, on one stream or (sorted, without repeats) on all video streams."""
        if stream is not None:
            return self.streams[stream].seqs
        return sorted({q for s in self.streams if s.kind == "video" for q in s.runs})

    def audio_payload(self, stream: int) -> bytes:
        """The coded audio written whole on an audio stream: every stream starts at the tone loop's start."""
        loop = audio.tone(self.config.tone_hz, self.config.audio)
        n = self.streams[stream].parts * audio.BLOCK
        return (loop * (n // len(loop) + 1))[:n]

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds; re-checked on every request, stream, frame and change.

        Bound it with trio.fail_after(); this never sleeps on a guess.
        """
        while not predicate():
            await self._activity_lot.park()

    # ----- video -----
    def _tick(self, mono: float, wall: float) -> None:
        self.seq += 1
        if not self.video_subscribers:
            return
        info = FrameInfo(self.seq, self.seq % len(self.frames), mono, wall)
        self.current = info
        self._frame_log.add(info.seq, mono, wall)
        self._jpeg = None
        self._parts.clear()
        self._frame_lot.unpark_all()
        if self._activity_lot.statistics().tasks_waiting:
            self._activity_lot.unpark_all()

    def frame(self, seq: int) -> FrameInfo:
        """What frame `seq` was (KeyError if it was never sent or has left the log)."""
        mono, wall = self._frame_log.get(seq)
        return FrameInfo(seq, seq % len(self.frames), mono, wall)

    def frame_bytes(self, seq: int) -> bytes:
        """The exact JPEG bytes sent as frame `seq` (rebuilt: card frame + its comment)."""
        info = self.frame(seq)
        return self.frames.jpeg(info.index, frame_comment(self.name, info.seq, info.wall))

    def current_jpeg(self) -> bytes:
        info = self.current
        if info is None:
            return self.frames.jpeg(0)
        if self._jpeg is None:
            self._jpeg = self.frames.jpeg(info.index, frame_comment(self.name, info.seq, info.wall))
        return self._jpeg

    def snapshot(self) -> bytes:
        """A JPEG for the snapshot CGIs: the current frame, or a fresh card frame when none streams."""
        if self.video_subscribers and self.current is not None:
            return self.current_jpeg()
        seq = max(self.seq, 0)
        return self.frames.jpeg(seq % len(self.frames), frame_comment(self.name, seq, time.time()))

    def video_part(self, framing: Framing) -> bytes:
        """The current frame as one part in `framing`, built once per tick per framing."""
        part = self._parts.get(framing)
        if part is None:
            jpeg = self.current_jpeg()
            if self.dialect == "ipcamcgi":
                f = self.faults
                info = self.current
                wall = info.wall if info else time.time()
                date = ipcam_date(
                    self.local_now(wall), self.ipcam_bits(), self.pan, self.tilt, f.date_format, f.io_digits
                )
                # IPCamCGI §4.1.2: Content-Length, Date, Content-Type; JPEG data then CRLF CRLF
                part = framing.part(jpeg, (LENGTH, f"Date: {date}", "Content-Type: image/jpeg"), b"\r\n\r\n")
            else:
                part = framing.part(jpeg, ("Content-Type: image/jpeg", LENGTH))
            self._parts[framing] = part
        return part
