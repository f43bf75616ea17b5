"""One camera at run time: its streams, trigger edges, schedules, incident machine and outputs.

Everything of one camera runs in one nursery (`Camera.run`). Stream tasks call the synchronous
methods here (`video`, `samples`, ...) directly: they run on the same trio thread, so no channel or
lock is needed between a stream and the camera's state. What leaves the camera goes out without
waiting: frames to the recorder's channel (`send_nowait`, counted when dropped), events to the bus.

The only awaited outside work, the index writes for incidents, runs in the camera's own writer task
fed in order from an unbounded channel (a handful of items per incident), so a slow disk delays
incident rows, never the streams.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

from recorderd.cameras.clock import CLOCK_EVERY, CameraClock
from recorderd.cameras.connection import Connectivity
from recorderd.cameras.http import CameraError
from recorderd.cameras.incident import (
    ArmingChanged,
    Closed,
    IncidentMachine,
    Joined,
    Opened,
    Output,
)
from recorderd.cameras.live import LiveFeed
from recorderd.cameras.liveness import LIVENESS, Liveness
from recorderd.cameras.snapshot import SnapshotFetcher
from recorderd.cameras.streams import StreamFailure, StreamSpec, run_stream
from recorderd.cameras.triggers import TriggerMap
from recorderd.core import events as ev
from recorderd.core.backoff import Backoff
from recorderd.core.bus import Bus
from recorderd.core.clock import SYSTEM_CLOCK, Clock
from recorderd.core.errors import safe_reason
from recorderd.core.events import Override
from recorderd.core.pacer import Pacer
from recorderd.protocol.errors import ProtocolError
from recorderd.protocol.events import EdgeDetector, TriggerSample
from recorderd.recording.frames import (
    AudioFormat,
    ClipEnd,
    ClipStart,
    Frame,
    Privacy,
    RecorderInput,
    RecorderSink,
)
from recorderd.recording.index import new_incident_id
from recorderd.schedule.engine import CameraScheduleError, Schedule, ScheduleError, compile_schedule
from recorderd.schedule.week import EMPTY, FULL

if TYPE_CHECKING:
    from recorderd.cameras.drivers.base import Driver
    from recorderd.cameras.http import CameraHttp
    from recorderd.config.model import CameraConfig
    from recorderd.recording.index import Index

log = logging.getLogger("recorderd.cameras")

MANUAL = "manual"
WRITES_BEHIND = 256  # incident events waiting for the writer: from here on, coalesce
TRIGGER_RATE = 10.0  # trigger state changes published per second and camera, after a burst of
TRIGGER_BURST = 20
INDEX_RETRY_FOR = 30.0  # seconds an incident row waits for a full or locked index


@dataclass
class CameraStats:
    """Counters for status and metrics (read by the service; cheap to keep)."""

    connected: bool = False
    frames: int = 0
    audio_blocks: int = 0
    bytes: int = 0
    reconnects: int = 0
    incidents: int = 0
    dropped_frames: int = 0  # recorder channel full
    parts_dropped: int = 0  # stream parts skipped: oversize, garbage, not a JPEG on a video stream
    storms: int = 0  # flapping incidents (the incident rate limit was reached)
    connects: int = 0
    failures: int = 0  # failed attempts of any stream
    last_error: str = ""
    last_error_at: float | None = None  # wall
    # (mono time, frames) samples for fps over the last seconds
    _fps_marks: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=16))

    def fps(self, now: float) -> float:
        marks = self._fps_marks
        if not marks or marks[-1][0] < now - 1.0:
            marks.append((now, self.frames))
        while len(marks) > 2 and marks[0][0] < now - 10.0:
            marks.popleft()
        t0, f0 = marks[0]
        dt = now - t0
        return (self.frames - f0) / dt if dt > 0.5 else 0.0


@dataclass(frozen=True, slots=True)
class _Write:
    out: Output
    mono: float
    wall: datetime
    armed: bool


class Camera:
    """A configured camera's engine; `run` it in a nursery with `nursery.start`."""

    def __init__(
        self,
        name: str,
        cfg: CameraConfig,
        *,
        http: CameraHttp,
        driver: Driver,
        bus: Bus[ev.BusEvent],
        zone: tzinfo,
        index: Index | None = None,
        recorder: RecorderSink | None = None,
        clock: Clock = SYSTEM_CLOCK,
        liveness: Liveness = LIVENESS,
    ) -> None:
        self.name = name
        self.liveness = liveness
        self.clock = clock
        self.cfg = cfg
        self.http = http
        self.driver = driver
        self.bus = bus
        self.zone = zone
        self.index = index
        self.recorder = recorder
        self.read_timeout = float(cfg.read_timeout)
        self.max_part_size = int(cfg.max_part_size)
        self.stats = CameraStats()
        self.triggers = TriggerMap([*cfg.triggers, MANUAL])
        self.machine = IncidentMachine(
            min_on=float(cfg.min_on),
            min_off=float(cfg.min_off),
            hold_off=float(cfg.hold_off),
            alarm_timeout=float(cfg.alarm_timeout),
            override=Override.parse(cfg.armed),
            max_incidents=cfg.max_incidents,
            incident_window=float(cfg.incident_window),
            flap_calm=float(cfg.flap_calm),
        )
        # trigger states to the bus: a trigger flipping 1000 times a second is published at
        # most TRIGGER_RATE times a second, its latest state last
        self._trigger_pace = Pacer(TRIGGER_RATE, TRIGGER_BURST)
        self._trigger_pending: dict[str, ev.TriggerChanged] = {}  # bound: the configured triggers
        self.last_jpeg: bytes | None = None
        self.live = LiveFeed()  # live viewers (web UI); kept across a supervisor restart
        # a picture while no video stream is open: the dialect's snapshot CGI (bounded)
        self.snapshots = SnapshotFetcher(name, http, driver.spec.paths.snapshot, self.max_part_size)
        self.clock_state = CameraClock(name)  # the camera's own clock, read after each connect
        self.specs: list[StreamSpec] = driver.streams()
        self.link = Connectivity(name, self.specs, self.stats, clock, self._connected)
        self._retry = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._timer_wake = trio.Event()
        self._deadline: float | None = None
        self._schedule_wake = trio.Event()
        self._arming: Schedule | None = None
        self._privacy: Schedule | None = None
        # bound: WRITES_BEHIND + the configured triggers + 2: from WRITES_BEHIND waiting on, the
        # machine coalesces (force_flapping), which adds one start, its joins and one end at most
        self._writes_send, self._writes_recv = trio.open_memory_channel[_Write](math.inf)
        # bound: incidents opened and not yet ended (one, or a few waiting in the writer)
        self._ids: dict[int, str] = {}
        self._id_ready: dict[int, trio.Event] = {}  # bound: manual triggers waiting for their id
        self._audio_ctype: str | None = None
        self._manual_until: float | None = None  # the running manual trigger's end (trio time)

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run every stream and timer of the camera until cancelled. Ready at once (a camera that
        is down does not hold up the daemon's start)."""
        self._arming = self._compile("schedule", self.cfg.schedule, default=FULL)
        self._privacy = self._compile("privacy", self.cfg.privacy, default=EMPTY)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._writer)
                nursery.start_soon(self._timers)
                nursery.start_soon(self._schedules)
                if self.driver.has_clock:
                    nursery.start_soon(self._clock_every)
                for i, spec in enumerate(self.specs):
                    # a small stagger: a camera's streams do not all knock at once
                    nursery.start_soon(self._stream, spec, 0.02 * i)
                task_status.started()
        finally:
            with trio.CancelScope(shield=True):
                self._apply(self.machine.close(trio.current_time()))
                self._writes_send.close()
                with trio.move_on_after(5):
                    await self._drain_writes()

    async def _stream(self, spec: StreamSpec, first_delay: float) -> None:
        await run_stream(spec, self, first_delay=first_delay)

    def _compile(self, what: str, spec: Any, *, default: Any) -> Schedule:
        try:
            return compile_schedule(spec, self.zone)
        except CameraScheduleError:
            # read from the camera at connect; until then the default (armed; no privacy)
            return Schedule(default, self.zone)
        except ScheduleError as e:
            log.error("%s: %s: %s; using %s", self.name, what, e, "always" if default is FULL else "never")
            return Schedule(default, self.zone)

    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(fn)

    # -- from the streams (synchronous, per frame / per part) ---------------------------------------

    def video(self, data: bytes, at: float) -> None:
        """A frame that arrived at `at` (trio's clock; earlier than now when read on a cadence)."""
        st = self.stats
        st.frames += 1
        self.last_jpeg = data
        if self.live.viewers:
            self.live.publish(data)
        rec = self.recorder
        if rec is not None:
            try:
                rec.send_nowait(Frame(data, "video", at, self.clock.wall_at(at)))
            except trio.WouldBlock:
                st.dropped_frames += 1
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self.recorder = None

    def watched(self) -> bool:
        """Whether someone watches the live view: its frames are then read as they come."""
        return bool(self.live.viewers)

    def audio(self, data: bytes, content_type: str, at: float) -> None:
        self.stats.audio_blocks += 1
        rec = self.recorder
        if rec is None:
            return
        try:
            if content_type and content_type != self._audio_ctype:
                fmt = AudioFormat.from_mime(content_type)
                if fmt is None:
                    log.warning("%s: audio type %r cannot be stored; audio ignored", self.name, content_type)
                self._audio_ctype = content_type
                if fmt is not None:
                    rec.send_nowait(fmt)
            if self._audio_ctype and AudioFormat.from_mime(self._audio_ctype) is None:
                return
            rec.send_nowait(Frame(data, "audio", at, self.clock.wall_at(at)))
        except trio.WouldBlock:
            self.stats.dropped_frames += 1
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.recorder = None

    def part_dropped(self) -> None:
        self.stats.parts_dropped += 1

    def samples(self, samples: list[TriggerSample], detector: EdgeDetector) -> None:
        if not samples:
            return
        edges = detector.update(samples)
        if not edges:
            return
        now = trio.current_time()
        for e in edges:
            for ch in self.triggers.sample(e.trigger, e.active):
                self._publish_trigger(ev.TriggerChanged(self.name, ch.trigger, ch.on, self._wall(now)), now)
                self._apply(self.machine.trigger(now, ch.trigger, ch.on))

    def _publish_trigger(self, change: ev.TriggerChanged, now: float) -> None:
        if not self._trigger_pending and self._trigger_pace.take(now):
            self.bus.publish(change)
            return
        if not self._trigger_pending:
            self.spawn(self._flush_triggers)
        self._trigger_pending[change.trigger] = change  # the latest state wins

    async def _flush_triggers(self) -> None:
        while self._trigger_pending:
            await trio.sleep_until(self._trigger_pace.next_at(trio.current_time()))
            if self._trigger_pace.take(trio.current_time()):
                pending, self._trigger_pending = self._trigger_pending, {}
                for change in pending.values():
                    self.bus.publish(change)

    def stream_connecting(self, spec: StreamSpec) -> None:
        self.link.connecting(spec)

    def stream_up(self, spec: StreamSpec) -> None:
        self.link.up(spec)

    def stream_failed(self, spec: StreamSpec, failure: StreamFailure) -> None:
        self.link.failed(spec, failure)

    def stream_down(self, spec: StreamSpec, reason: str) -> None:
        self.link.stopped(spec)

    def stream_unreadable(self, spec: StreamSpec) -> None:
        self.link.unreadable(spec)

    def retry_event(self) -> trio.Event:
        return self._retry

    def retry_now(self) -> None:
        """Streams waiting to try again (refused ones too) try now (a config reload)."""
        self._retry.set()
        self._retry = trio.Event()

    def _connected(self, connected: bool) -> None:
        self.bus.publish(ev.Connected(self.name, connected, self.clock.utc()))
        if connected:
            self.spawn(self._after_connect)

    # -- control (MQTT, HTTP) ------------------------------------------------------------------

    def set_override(self, override: Override) -> None:
        self._apply(self.machine.set_override(trio.current_time(), override))
        self.bus.publish(self._armed_event())
        log.info(
            "%s: armed set to %s (now %s)",
            self.name,
            override.value,
            "armed" if self.machine.armed else "disarmed",
        )

    async def manual_trigger(self, duration: float | None = None) -> str | None:
        """A manual incident (HTTP API): trigger "manual" on for `duration` seconds (the camera's
        `manual_duration` by default); returns the incident's id (of the incident it joined), or
        None in privacy. A trigger while one runs extends it to the later of the two ends: one
        release per camera, so an earlier request never cuts a later incident short."""
        now = trio.current_time()
        if duration is None:
            duration = float(self.cfg.manual_duration)
        self._apply(self.machine.trigger(now, MANUAL, True, force=True))
        number = self.machine.incident_number
        if number is None or not self.machine.active(MANUAL):
            return None
        until = now + duration
        if self._manual_until is None:
            self._manual_until = until
            self.spawn(self._release_manual)
        else:
            self._manual_until = max(self._manual_until, until)
        return await self.incident_id(number)

    async def _release_manual(self) -> None:
        while self._manual_until is not None and trio.current_time() < self._manual_until:
            await trio.sleep_until(self._manual_until)
        self._manual_until = None
        self._apply(self.machine.trigger(trio.current_time(), MANUAL, False))

    async def incident_id(self, number: int) -> str:
        """The index id of the machine's incident `number`, once written."""
        while number not in self._ids:
            event = self._id_ready.setdefault(number, trio.Event())
            await event.wait()
        return self._ids[number]

    def live_jpeg(self) -> bytes | None:
        """The video's last frame while the video stream is up."""
        video = self.link.streams.get("video")
        return self.last_jpeg if video is not None and video.state == "up" else None

    async def snapshot(self) -> bytes | None:
        """A picture now: the live video's last frame, else one from the camera's snapshot CGI
        (bounded in time and size); None when neither is there (an old frame is no picture of now)."""
        return self.live_jpeg() or await self.snapshots.fetch()

    def status(self) -> dict[str, Any]:
        st = self.stats
        return {
            "dialect": self.cfg.dialect,
            "connected": st.connected,
            **self.link.status(),
            "armed": self.machine.armed,
            "override": self.machine.override.value,
            "schedule_armed": self.machine.schedule_armed,
            "privacy": self.machine.privacy,
            "incident": self._ids.get(self.machine.incident_number or -1),
            "triggers": {t: self.triggers.is_on(t) for t in self.triggers.configured if t != MANUAL},
            "fps": round(st.fps(trio.current_time()), 2),
            "frames": st.frames,
            "bytes": st.bytes,
            "reconnects": st.reconnects,
            "incidents": st.incidents,
            "flapping": self.machine.flapping,
            "storms": st.storms,
            "dropped": st.dropped_frames,
            "parts_dropped": st.parts_dropped,
            "auth": self.http.chosen,
            "clock": self.clock_state.status() if self.driver.has_clock else None,
            "snapshots_fetched": self.snapshots.fetched,
        }

    # -- internals -----------------------------------------------------------------------------

    def _wall(self, mono: float) -> datetime:
        """The wall-clock time of a trio clock instant (in the past or now)."""
        return datetime.fromtimestamp(self.clock.wall_at(mono), UTC).astimezone(self.zone)

    def _armed_event(self) -> ev.ArmedChanged:
        m = self.machine
        return ev.ArmedChanged(self.name, m.armed, m.override, m.privacy, self.clock.utc())

    def _apply(self, outs: list[Output]) -> None:
        for o in outs:
            if isinstance(o, ArmingChanged):
                self.bus.publish(self._armed_event())
            else:
                at = o.at
                self._writes_send.send_nowait(_Write(o, at, self._wall(at), self.machine.armed))
        behind = self._writes_send.statistics().current_buffer_used
        if behind >= WRITES_BEHIND and not self.machine.force_flapping:
            self.machine.force_flapping = True
            log.warning(
                "%s: %d incident events wait for the index and the outbox; this camera's incidents "
                "are coalesced until they catch up",
                self.name,
                behind,
            )
        dl = self.machine.next_deadline()
        if dl != self._deadline:
            self._deadline = dl
            self._timer_wake.set()

    async def _timers(self) -> None:
        """Fire the machine's timers (min_on confirmations, alarm timeouts) when due."""
        while True:
            self._timer_wake = trio.Event()
            deadline = self.machine.next_deadline()
            self._deadline = deadline
            with trio.move_on_at(deadline if deadline is not None else math.inf):
                await self._timer_wake.wait()
            self._apply(self.machine.advance(trio.current_time()))

    async def _schedules(self) -> None:
        """Follow the arming and privacy schedules: sleep until the next change, never poll."""
        first = True
        while True:
            self._schedule_wake = trio.Event()
            now = self.clock.utc()
            assert self._arming is not None and self._privacy is not None
            mono = trio.current_time()
            privacy = self._privacy.armed(now)
            if privacy != self.machine.privacy and not first:
                self._send_recorder(Privacy(privacy, mono, self.clock.wall()))
            self._apply(self.machine.set_privacy(mono, privacy))
            self._apply(self.machine.set_schedule(mono, self._arming.armed(now)))
            if first:  # the initial state, for MQTT's retained topic and the status
                self.bus.publish(self._armed_event())
                if privacy:
                    self._send_recorder(Privacy(True, mono, self.clock.wall()))
                first = False
            changes = [c for c in (self._arming.next_change(now), self._privacy.next_change(now)) if c]
            wait = (min(changes) - now).total_seconds() if changes else math.inf
            with trio.move_on_after(max(0.0, wait)):
                await self._schedule_wake.wait()

    async def _after_connect(self) -> None:
        """The camera's clock first (its zone is the one its schedules are kept in), then the
        schedules kept on the camera."""
        if self.driver.has_clock:
            await self._read_clock()
        if self.cfg.schedule == "camera" or self.cfg.privacy == "camera":
            await self._read_camera_schedules()

    async def _clock_every(self) -> None:
        while True:
            await trio.sleep(CLOCK_EVERY)
            if self.stats.connected:
                await self._read_clock()

    async def _read_clock(self) -> None:
        sent = self.clock.wall()
        try:
            with trio.fail_after(self.read_timeout):
                reading = await self.driver.read_clock(self.http)
        except (CameraError, ProtocolError, trio.TooSlowError, ValueError, OverflowError, OSError) as e:
            # whatever the camera answers, a clock it cannot tell never costs the camera its tasks
            self.clock_state.failed(str(e) or f"no answer within {self.read_timeout:g}s")
            return
        if reading is not None:
            self.clock_state.update(reading, self.zone, sent, self.clock.wall())

    async def _read_camera_schedules(self) -> None:
        # followed in the zone the camera says it keeps, where it says one
        zone = self.clock_state.zone or self.zone
        try:
            arming, privacy = await self.driver.read_schedules(self.http, zone)
        except Exception as e:  # a schedule that cannot be read keeps the last one
            log.warning("%s: cannot read the schedule from the camera: %s", self.name, e)
            return
        if self.cfg.schedule == "camera" and arming is not None:
            if arming != self._arming:
                log.info("%s: arming schedule read from the camera", self.name)
            self._arming = arming
        if self.cfg.privacy == "camera" and privacy is not None:
            self._privacy = privacy
        self._schedule_wake.set()

    def _send_recorder(self, item: RecorderInput) -> None:
        rec = self.recorder
        if rec is None:
            return
        try:
            rec.send_nowait(item)
        except trio.WouldBlock:
            self.stats.dropped_frames += 1
            log.warning("%s: recorder queue full, %s lost", self.name, type(item).__name__)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.recorder = None

    async def _writer(self) -> None:
        # not `async with`: at shutdown `run` still sends the closing incident end and drains it
        async for w in self._writes_recv:
            await self._write(w)
            if self.machine.force_flapping and self._writes_recv.statistics().current_buffer_used == 0:
                self.machine.force_flapping = False

    async def _drain_writes(self) -> None:
        while True:
            try:
                w = self._writes_recv.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                return
            await self._write(w)

    async def _write(self, w: _Write) -> None:
        o = w.out
        if isinstance(o, Opened):
            self.stats.incidents += 1
            # the id is ours, so the alarm leaves before the index row's fsync; the row follows
            iid = new_incident_id(self.name, w.wall)
            self._ids[o.number] = iid
            ready = self._id_ready.pop(o.number, None)
            if ready is not None:
                ready.set()
            if o.flapping:
                self.stats.storms += 1
                log.warning(
                    "%s: flapping: incident %s covers the storm (started by %s) until no trigger "
                    "started for %gs",
                    self.name,
                    iid,
                    o.trigger,
                    self.machine.flap_calm,
                )
            else:
                log.info("%s: incident %s started by %s", self.name, iid, o.trigger)
            self._send_recorder(ClipStart(iid, o.trigger, w.mono, w.wall.timestamp()))
            # first: consumers have the picture when the start comes. Without a video stream it
            # comes from the camera's snapshot CGI, which the start waits for (bounded). Both are
            # delivered, never dropped: the camera's own lane waits (core/bus.py)
            jpeg = await self.snapshot()
            if jpeg is not None:
                await self.bus.deliver(ev.Snapshot(self.name, iid, jpeg, w.wall))
            await self.bus.deliver(
                ev.IncidentEvent(iid, self.name, o.trigger, "start", w.wall, w.armed, (o.trigger,))
            )
            if self.index is not None:
                await self._index_call(
                    partial(self.index.start_incident, incident_id=iid),
                    self.name,
                    o.trigger,
                    w.wall,
                    w.armed,
                )
        elif isinstance(o, Joined):
            joined = self._ids.get(o.number)
            if joined is not None and self.index is not None:
                await self._index_call(self.index.add_incident_trigger, joined, o.trigger)
        elif isinstance(o, Closed):
            if o.number not in self._ids:
                return
            iid = self._ids.pop(o.number)
            if self.index is not None:
                await self._index_call(self.index.end_incident, iid, w.wall)
            log.info("%s: incident %s ended (%s)%s", self.name, iid, o.reason, "; calm again" * o.flapping)
            self._send_recorder(ClipEnd(iid, w.mono, w.wall.timestamp()))
            await self.bus.deliver(
                ev.IncidentEvent(iid, self.name, o.triggers[0], "end", w.wall, w.armed, o.triggers, o.reason)
            )

    async def _index_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """An incident row written in order; a full or locked database is tried again for a while
        (the recorder's retention makes room on a full disk), anything else is logged and skipped."""
        backoff = Backoff(0.25, 5.0, jitter=0.0)
        give_up = trio.current_time() + INDEX_RETRY_FOR
        while True:
            try:
                return await trio.to_thread.run_sync(fn, *args)
            except sqlite3.OperationalError as e:
                why = str(e)
                if trio.current_time() >= give_up or not ("full" in why or "locked" in why):
                    log.error("%s: index write failed: %s", self.name, safe_reason(e))
                    return None
                await trio.sleep(backoff.next_delay())
            except Exception as e:
                log.error("%s: index write failed: %s", self.name, safe_reason(e))
                return None
