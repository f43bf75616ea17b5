"""The daemon assembled: index, event bus, camera engine, and the stages that plug into them.

    daemon = Daemon(cfg)
    daemon.wire()                      # recorder, actions (outbox, MQTT events), MQTT state, HTTP
    async with trio.open_nursery() as n:
        await n.start(daemon.run)      # READY: index open, every camera's tasks running
        ...
        await daemon.reload(new_cfg)   # SIGHUP: only what changed restarts
        daemon.stop()                  # SIGTERM: cameras, recorders, outbox wound down in order

Plug-in points (each optional):
- the recorder: `recorder_for(camera) -> RecorderSink | None` (the engine sends
  frames, audio format, incident start/end and privacy on it; `send_nowait`, drops counted);
  `wire()` starts recorderd.recording's RecordingService and uses its `recorder_for`;
- consumers of the bus: `add_consumer(name, fn)` where `fn(receive_channel, daemon)` is awaited in
  the daemon's nursery with its own bounded channel;
- controls (MQTT armed/set, HTTP API): `daemon.set_armed`, `daemon.trigger`, `daemon.snapshot`,
  `daemon.status`, `daemon.metrics` (this class satisfies recorderd.service.http.Control).

Stopping: `stop()` ends the cameras (each writes its open incident's end, reason "stopped"), then
closes the recorder channels so each recorder finishes its file (Duration, Cues, rename), then
closes the bus so the consumers commit what they hold to the outbox, then says `offline` on MQTT;
all within `stop_timeout`. Cancelling `run` from outside skips the order (each part still closes
its own files and rows, shielded).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import trio

from recorderd.cameras.engine import Engine
from recorderd.config.model import Config
from recorderd.core import bus as ev
from recorderd.core.errors import UnknownCamera
from recorderd.daemon.health import RecorderWatch, status_line
from recorderd.daemon.reload import ConfigDiff, diff
from recorderd.recording.frames import RecorderSink
from recorderd.recording.index import Index

if TYPE_CHECKING:
    from recorderd.daemon.actions import ActionsStage
    from recorderd.daemon.mqtt import MqttService
    from recorderd.mqtt.client import Tuning
    from recorderd.mqtt.publisher import MqttPublisher
    from recorderd.recording.recorder import RecordingService

log = logging.getLogger("recorderd.daemon")

Consumer = Callable[["trio.MemoryReceiveChannel[ev.BusEvent]", "Daemon"], Awaitable[None]]
RecorderFor = Callable[[str], "RecorderSink | None"]

STOP_TIMEOUT = 20.0  # below systemd's TimeoutStopSec (30 s in systemd/recorderd.service)
STATS_INTERVAL = 10.0


class Restartable:
    """A service task (`fn(task_status=...)`, runs until cancelled) that `restart()` starts afresh."""

    def __init__(self, name: str, fn: Callable[..., Awaitable[None]]) -> None:
        self.name = name
        self.fn = fn
        self._restart = trio.Event()

    def restart(self) -> None:
        self._restart.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        first = True
        while True:
            self._restart = trio.Event()
            async with trio.open_nursery() as nursery:
                await nursery.start(self.fn)
                if first:
                    task_status.started()
                    first = False
                await self._restart.wait()
                nursery.cancel_scope.cancel()


def needs_actions(cfg: Config) -> bool:
    return bool(cfg.targets) or cfg.mqtt is not None or any(c.actions for c in cfg.cameras.values())


def needs_recording(cfg: Config) -> bool:
    return any(c.record.mode != "off" for c in cfg.cameras.values() if c.enabled)


class Daemon:
    def __init__(self, cfg: Config, *, index: Index | None = None) -> None:
        self.cfg = cfg
        self.bus: ev.Bus[ev.BusEvent] = ev.Bus()
        self.index = index
        self._own_index = index is None
        self._consumers: list[tuple[str, Consumer, int]] = []
        self.recorder_for: RecorderFor | None = None
        self.engine: Engine | None = None
        self.started = False
        self.snapshots: dict[str, bytes] = {}  # incident id -> JPEG at its start (actions)
        self.serve_http = False
        self.record = False
        self.stop_timeout = STOP_TIMEOUT
        self.mqtt_tuning: Tuning | None = None  # the MQTT client's timing (tests shorten the backoff)
        # set by wire() / run(); None where not configured
        self.recording: RecordingService | None = None
        self.actions: ActionsStage | None = None
        self.mqtt: MqttService | None = None
        self.recorder_watch = RecorderWatch(lambda: self._rec_channels)
        self.disk_total = self.disk_free = self.recordings_bytes = 0
        self.http_addresses: list[str] = []  # where the HTTP endpoint listens, once it does
        self._wired = False
        self._rec_channels: dict[str, RecorderSink] = {}
        self._services: trio.Nursery | None = None
        self._http: Restartable | None = None
        self._consumers_done: list[trio.Event] = []
        self._stop = trio.Event()
        self._reload_lock = trio.Lock()

    def wire(self) -> None:
        """Plug in the stages the config asks for: recorder, actions and MQTT, the HTTP endpoint."""
        self._wired = True
        self.serve_http = bool(self.cfg.daemon.http_listen)
        self.record = needs_recording(self.cfg)

    def add_consumer(self, name: str, fn: Consumer, size: int | None = None) -> None:
        """Run `fn(channel, daemon)` with a bus subscription of its own (call before `run`)."""
        self._consumers.append((name, fn, size or self.cfg.daemon.event_queue))

    @property
    def mqtt_publisher(self) -> MqttPublisher | None:
        return self.mqtt.publisher if self.mqtt is not None else None

    # -- running -----------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        if self.index is None:
            self.index = await trio.to_thread.run_sync(Index.open, self.cfg.daemon.state_dir)
        closed = await trio.to_thread.run_sync(self.index.close_open_incidents, datetime.now(UTC))
        if closed:
            log.info("closed %d incident(s) left open by the last run", closed)
        try:
            async with trio.open_nursery() as services:
                self._services = services
                if self.record:
                    await self._start_recording()
                if self._wired:
                    await self._start_stages()
                for name, fn, size in self._consumers:
                    self._start_consumer(name, fn, self.bus.subscribe(name, size))
                services.start_soon(self.recorder_watch.run)
                services.start_soon(self._watch_disk)
                self.engine = Engine(
                    self.cfg, bus=self.bus, index=self.index, recorder_for=self._recorder_channel
                )
                async with trio.open_nursery() as cameras:
                    await cameras.start(self.engine.run)
                    if self.serve_http:
                        from recorderd.daemon.wiring import serve_http

                        self._http = Restartable(
                            "http", lambda task_status: serve_http(self, task_status=task_status)
                        )
                        await services.start(self._http.run)
                    self.started = True
                    task_status.started()
                    await self._stop.wait()
                    self.started = False
                    log.info("stopping: cameras")
                    cameras.cancel_scope.cancel()
                await self._wind_down()
                services.cancel_scope.cancel()
        finally:
            self.started = False
            self._services = None
            self.bus.close()
            if self._own_index and self.index is not None:
                self.index.close()

    def stop(self) -> None:
        """Wind down in order (see the module doc); `run` returns when done or after stop_timeout."""
        self._stop.set()

    async def _wind_down(self) -> None:
        with trio.move_on_after(self.stop_timeout) as scope:
            for ch in self._rec_channels.values():
                ch.close()  # each recorder works off its queue, then finishes its file
            self._rec_channels.clear()
            if self.recording is not None:
                log.info("stopping: recorders")
                for rec in list(self.recording.recorders.values()):
                    await rec.done.wait()
            log.info("stopping: actions")
            self.bus.close()  # the consumers commit what they hold, then end
            for done in self._consumers_done:
                await done.wait()
            if self.mqtt is not None:
                await self.mqtt.close()
        if scope.cancelled_caught:
            log.warning(
                "stopping: not everything finished within %gs; the rest is cut short", self.stop_timeout
            )

    def _start_consumer(self, name: str, fn: Consumer, recv: trio.MemoryReceiveChannel[ev.BusEvent]) -> None:
        assert self._services is not None
        done = trio.Event()
        self._consumers_done.append(done)

        async def consume() -> None:
            try:
                await fn(recv, self)
            finally:
                done.set()

        self._services.start_soon(consume, name=f"consumer {name}")

    async def _start_actions(self, recv: trio.MemoryReceiveChannel[ev.BusEvent]) -> None:
        """The actions consumer, started once its outbox is open (part of READY)."""
        from recorderd.daemon.wiring import actions_consumer

        assert self._services is not None
        done = trio.Event()
        self._consumers_done.append(done)

        async def consume(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            try:
                await actions_consumer(recv, self, task_status=task_status)
            finally:
                done.set()

        await self._services.start(consume, name="consumer actions")

    async def _start_recording(self) -> None:
        from recorderd.recording.recorder import RecordingService

        assert self._services is not None and self.index is not None
        # recovery of unfinished files first, then each camera gets its recorder's channel
        self.recording = RecordingService(self.cfg, self.index)
        await self._services.start(self.recording.run)
        self.recorder_for = self.recording.recorder_for

    async def _start_stages(self) -> None:
        """Actions (outbox, MQTT events) and MQTT state, when the config asks and not yet running."""
        from recorderd.daemon import wiring
        from recorderd.daemon.actions import ActionsStage
        from recorderd.daemon.mqtt import MqttService

        assert self._services is not None
        size = self.cfg.daemon.event_queue
        start_mqtt = self.mqtt is None and self.cfg.mqtt is not None
        start_actions = self.actions is None and needs_actions(self.cfg)
        if start_actions:
            self.actions = ActionsStage(self)
        if start_mqtt:
            self.mqtt = MqttService(self)
            await self._services.start(self.mqtt.run)
            self._start_consumer("mqtt", wiring.mqtt_consumer, self.bus.subscribe("mqtt", size))
        if start_actions:
            assert self.actions is not None
            self.actions.mqtt_sender.set_publisher(self.mqtt_publisher)
            await self._start_actions(self.bus.subscribe("actions", size))

    def _recorder_channel(self, camera: str) -> RecorderSink | None:
        ch = self.recorder_for(camera) if self.recorder_for is not None else None
        if ch is not None:
            self._rec_channels[camera] = ch
        return ch

    async def _watch_disk(self) -> None:
        """Disk figures for /metrics, read in a worker thread (a hung filesystem must not block trio)."""
        n = 0
        while True:
            root = self.cfg.daemon.state_dir
            try:
                usage = await trio.to_thread.run_sync(shutil.disk_usage, root)
                self.disk_total, self.disk_free = usage.total, usage.free
                if self.recording is not None and self.index is not None and n % 3 == 0:
                    rows = await trio.to_thread.run_sync(self.index.list_recordings)
                    self.recordings_bytes = sum(r.bytes for r in rows) + sum(
                        self.recording.storage.active.values()
                    )
            except OSError as e:
                log.debug("disk figures: %s", e)
            n += 1
            await trio.sleep(STATS_INTERVAL)

    # -- reload ------------------------------------------------------------------------------

    async def reload(self, new: Config) -> ConfigDiff:
        """Apply a validated config: only changed cameras and targets restart (see reload.py)."""
        async with self._reload_lock:
            d = diff(self.cfg, new)
            if d.needs_restart:  # these keep their running values
                keep = {
                    k.removeprefix("daemon."): getattr(self.cfg.daemon, k.removeprefix("daemon."))
                    for k in d.needs_restart
                }
                new = new.model_copy(update={"daemon": new.daemon.model_copy(update=keep)})
            self.cfg = new
            engine = self.engine
            if engine is not None:
                engine.cfg = new
            if self.recording is not None:
                self.recording.cfg = new
                self.recording.storage.cfg = new.storage
            elif self._wired and needs_recording(new) and self._services is not None:
                await self._start_recording()
            if engine is not None:
                async with trio.open_nursery() as nursery:
                    for name in d.cameras_removed + d.cameras_changed:
                        nursery.start_soon(self._stop_camera, engine, name)
                for name in d.cameras_changed + d.cameras_added:
                    try:
                        await engine.start_camera(name, new.cameras[name])
                    except Exception as e:  # e.g. its password_file became unreadable
                        log.error("reload: camera %s not started: %s", name, e)
            mqtt_before = self.mqtt
            if self._wired and self._services is not None:
                await self._start_stages()
            if d.mqtt_changed and self.mqtt is not None and self.mqtt is mqtt_before:
                self.mqtt.restart()
            if self.actions is not None:
                self.actions.apply(new, d)
            if d.http_changed:
                if self._http is not None:
                    self._http.restart()
                elif self._wired and new.daemon.http_listen and self._services is not None:
                    from recorderd.daemon.wiring import serve_http

                    self._http = Restartable(
                        "http", lambda task_status: serve_http(self, task_status=task_status)
                    )
                    await self._services.start(self._http.run)
            log.info("configuration reloaded: %s", d.summary())
            return d

    async def _stop_camera(self, engine: Engine, name: str) -> None:
        await engine.stop_camera(name)
        ch = self._rec_channels.pop(name, None)
        if ch is not None:
            ch.close()  # its recorder finishes the file; the restarted camera gets a new one

    # -- controls (recorderd.service.http.Control) ----------------------------------------------

    def _engine(self) -> Engine:
        if self.engine is None:
            raise UnknownCamera("the engine is not running")
        return self.engine

    def healthy(self) -> bool:
        return self.started

    def cameras(self) -> Collection[str]:
        return self._engine().names()

    def status(self) -> dict[str, Any]:
        out = self._engine().status()
        if self.actions is not None:
            out["outbox"] = {"pending": dict(self.actions.depth), "dead": dict(self.actions.dead)}
        if self.mqtt is not None:
            pub = self.mqtt.publisher
            out["mqtt"] = {"connected": bool(pub is not None and pub.connected)}
        if self.recording is not None:
            out["recording"] = self.recording.status()
        out["disk"] = {"total": self.disk_total, "free": self.disk_free, "recordings": self.recordings_bytes}
        out["summary"] = self.status_line()
        return out

    def status_line(self) -> str:
        """'5 cameras, 5 connected, 2 incidents open' (for STATUS= and the status JSON)."""
        cams = list(self.engine.cameras.values()) if self.engine is not None else []
        pending = sum(self.actions.depth.values()) if self.actions is not None else 0
        return status_line(
            len(cams),
            sum(c.stats.connected for c in cams),
            sum(c.machine.incident_open for c in cams),
            pending,
            len(self.recorder_watch.lagging(trio.current_time())),
        )

    def snapshot(self, camera: str) -> bytes | None:
        return self._engine().snapshot(camera)

    async def trigger(self, camera: str) -> str:
        iid = await self._engine().trigger(camera)
        return iid or ""

    def set_armed(self, camera: str, mode: str) -> None:
        self._engine().set_armed(camera, mode)

    def metrics(self) -> Any:
        """recorderd.service.http.MetricsSnapshot: cameras, outbox depth per target, disk."""
        from recorderd.service.http import CameraMetrics, MetricsSnapshot

        snap = MetricsSnapshot()
        engine = self._engine()
        now = trio.current_time()
        for name, cam in engine.cameras.items():
            st = cam.stats
            snap.cameras[name] = CameraMetrics(
                connected=st.connected,
                fps=st.fps(now),
                frames=st.frames,
                bytes=st.bytes,
                reconnects=st.reconnects,
                incidents=st.incidents,
                dropped=st.dropped_frames,
            )
        if self.actions is not None:
            snap.outbox_depth = dict(self.actions.depth)
        snap.disk_total_bytes = self.disk_total
        snap.disk_free_bytes = self.disk_free
        snap.recordings_bytes = self.recordings_bytes
        return snap
