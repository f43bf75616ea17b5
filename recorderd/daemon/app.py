"""The daemon assembled: index, event bus, camera engine, and the consumers that plug into them.

    daemon = Daemon(cfg)
    async with trio.open_nursery() as n:
        await n.start(daemon.run)      # READY: index open, every camera's tasks running

Plug-in points (each optional; a stage that has not landed is simply absent):
- the recorder: `recorder_for(camera) -> MemorySendChannel[RecorderInput] | None` (the engine sends
  frames, audio format, incident start/end and privacy on it; `send_nowait`, drops counted);
  `wire()` starts recorderd.recording's RecordingService and uses its `recorder_for`;
- consumers of the bus (actions, MQTT, status): `add_consumer(name, fn)` where
  `fn(receive_channel, daemon)` is awaited in the daemon's nursery with its own bounded channel;
- controls (MQTT armed/set, HTTP API): `daemon.set_armed`, `daemon.trigger`, `daemon.snapshot`,
  `daemon.status`, `daemon.metrics` (this class satisfies recorderd.service.http.Control).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from typing import Any

import trio

from recorderd.cameras import bus as ev
from recorderd.cameras.engine import Engine, UnknownCamera
from recorderd.config.model import Config
from recorderd.recording.frames import RecorderInput
from recorderd.recording.index import Index

log = logging.getLogger("recorderd.daemon")

Consumer = Callable[["trio.MemoryReceiveChannel[ev.BusEvent]", "Daemon"], Awaitable[None]]
RecorderFor = Callable[[str], "trio.MemorySendChannel[RecorderInput] | None"]


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
        self.snapshots: dict[str, bytes] = {}  # incident id -> JPEG at its start (actions, MQTT)
        self.serve_http = False
        self.record = False

    def wire(self) -> None:
        """Plug in the stages the config asks for: actions, MQTT, the HTTP endpoint."""
        from recorderd.daemon import wiring

        if self.cfg.targets or any(
            a != "mqtt" for c in self.cfg.cameras.values() for a in c.action_list(self.cfg.mqtt is not None)
        ):
            self.add_consumer("actions", wiring.actions_consumer)
        if self.cfg.mqtt is not None:
            self.add_consumer("mqtt", wiring.mqtt_consumer)
        self.serve_http = bool(self.cfg.daemon.http_listen)
        self.record = any(c.record.mode != "off" for c in self.cfg.cameras.values() if c.enabled)

    def add_consumer(self, name: str, fn: Consumer, size: int | None = None) -> None:
        """Run `fn(channel, daemon)` with a bus subscription of its own (call before `run`)."""
        self._consumers.append((name, fn, size or self.cfg.daemon.event_queue))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        if self.index is None:
            self.index = await trio.to_thread.run_sync(Index.open, self.cfg.daemon.state_dir)
        closed = await trio.to_thread.run_sync(self.index.close_open_incidents, datetime.now(UTC))
        if closed:
            log.info("closed %d incident(s) left open by the last run", closed)
        try:
            async with trio.open_nursery() as nursery:
                if self.record:
                    # recovery of unfinished files first, then each camera gets its recorder's channel
                    from recorderd.recording.recorder import RecordingService

                    recording = RecordingService(self.cfg, self.index)
                    await nursery.start(recording.run)
                    self.recorder_for = recording.recorder_for
                self.engine = Engine(self.cfg, bus=self.bus, index=self.index, recorder_for=self.recorder_for)
                for name, fn, size in self._consumers:
                    nursery.start_soon(fn, self.bus.subscribe(name, size), self, name=f"consumer {name}")
                await nursery.start(self.engine.run)
                if self.serve_http:
                    from recorderd.daemon.wiring import serve_http

                    await nursery.start(serve_http, self)
                self.started = True
                task_status.started()
        finally:
            self.started = False
            self.bus.close()
            if self._own_index and self.index is not None:
                self.index.close()

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
        return self._engine().status()

    def snapshot(self, camera: str) -> bytes | None:
        return self._engine().snapshot(camera)

    async def trigger(self, camera: str) -> str:
        iid = await self._engine().trigger(camera)
        return iid or ""

    def set_armed(self, camera: str, mode: str) -> None:
        self._engine().set_armed(camera, mode)

    def metrics(self) -> Any:
        """recorderd.service.http.MetricsSnapshot of the cameras (outbox and disk: their stages)."""
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
        return snap
