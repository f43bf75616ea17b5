"""What the daemon says about itself: the status JSON, the metrics, the one-line STATUS, health.

Reads each stage through the little it offers (the engine's cameras, the outbox's counts, the MQTT
connection, the recorders' status, the disk figures); changes nothing.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from recorderd.core.text import plural
from recorderd.daemon.health import RecorderWatch, status_line
from recorderd.recording.index import Index
from recorderd.service.http import CameraMetrics, MetricsSnapshot, StreamMetrics

if TYPE_CHECKING:
    from recorderd.daemon.assembly import Stages

log = logging.getLogger("recorderd.daemon")

STATS_INTERVAL = 10.0


class DiskFigures:
    """Disk figures for /metrics and the status, read in a worker thread every STATS_INTERVAL (a
    hung filesystem must not block trio); the files being written are counted at each look."""

    def __init__(self) -> None:
        self.total = self.free = 0
        self._finished = 0  # bytes of the finished recordings, at the last refresh
        self._open: dict[Path, int] = {}  # files being written since then -> the size last seen
        self._active: Callable[[], Mapping[Path, int]] = dict

    @property
    def recordings(self) -> int:
        """Bytes of recordings kept: the finished ones and those being written, up to this moment. A
        file finished since the last refresh counts with the size last seen until the next one."""
        live = self._active()
        self._open.update(live)
        return self._finished + sum(self._open.values())

    async def refresh(self, state_dir: Path, index: Index, active: Callable[[], Mapping[Path, int]]) -> None:
        self._active = active
        usage = await trio.to_thread.run_sync(shutil.disk_usage, state_dir)
        self.total, self.free = usage.total, usage.free
        self._finished = await trio.to_thread.run_sync(index.finished_bytes)
        # after the sum: a file that finished while it ran is in the sum and no longer here
        self._open = dict(active())

    async def run(self, stages: Stages) -> None:
        while True:
            try:
                await self.refresh(
                    stages.config().daemon.state_dir, stages.index, stages.recording.active_sizes
                )
            except (OSError, sqlite3.Error) as e:
                log.debug("disk figures: %s", e)
            await trio.sleep(STATS_INTERVAL)


class DaemonStatus:
    def __init__(
        self,
        stages: Stages,
        watch: RecorderWatch,
        disk: DiskFigures,
        started: Callable[[], bool],
    ) -> None:
        self._stages = stages
        self._watch = watch
        self._disk = disk
        self._started = started

    def healthy(self) -> bool:
        return self._started()

    def not_ready(self) -> list[str]:
        """What the daemon still waits for before it is ready (empty: ready): started, every camera
        connected, and the MQTT broker when there is one. /readyz: 503 with these."""
        if not self._started():
            return ["not running (starting or stopping)"]
        st = self._stages
        cams = list(st.engine.cameras.values())
        waiting = []
        down = sum(not c.stats.connected for c in cams)
        if down:
            waiting.append(f"{down} of {plural(len(cams), 'camera')} not connected")
        if st.config().mqtt is not None and not st.mqtt.connected:
            waiting.append("mqtt not connected")
        return waiting

    def status(self) -> dict[str, Any]:
        st = self._stages
        out = st.engine.status()
        out["outbox"] = {"pending": dict(st.alarms.depth), "dead": dict(st.alarms.dead)}
        if st.config().mqtt is not None:
            out["mqtt"] = {"connected": st.mqtt.connected}
        rec = st.recording.status()
        if rec is not None:
            out["recording"] = rec
        d = self._disk
        out["disk"] = {"total": d.total, "free": d.free, "recordings": d.recordings}
        out["summary"] = self.status_line()
        out["ready"] = not self.not_ready()
        return out

    def status_line(self) -> str:
        """'5 cameras, 5 connected, 2 incidents open' (for STATUS= and the status JSON)."""
        st = self._stages
        cams = list(st.engine.cameras.values())
        return status_line(
            len(cams),
            sum(c.stats.connected for c in cams),
            sum(c.machine.incident_open for c in cams),
            sum(st.alarms.depth.values()),
            len(self._watch.lagging(trio.current_time())),
        )

    def metrics(self) -> MetricsSnapshot:
        st = self._stages
        snap = MetricsSnapshot()
        now = trio.current_time()
        wall = st.engine.clock.wall()
        for name, cam in st.engine.cameras.items():
            s = cam.stats
            snap.cameras[name] = CameraMetrics(
                connected=s.connected,
                fps=s.fps(now),
                frames=s.frames,
                bytes=s.bytes,
                reconnects=s.reconnects,
                incidents=s.incidents,
                dropped=s.dropped_frames,
                parts_dropped=s.parts_dropped,
                flapping=cam.machine.flapping,
                storms=s.storms,
                clock_skew=cam.clock_state.skew,
                streams={
                    n: StreamMetrics(
                        up=st.state == "up",
                        refused=st.state == "refused",
                        failures=dict(st.failures),
                        unreadable=st.unreadable,
                        last_success=wall if st.state == "up" else st.last_success or 0.0,
                    )
                    for n, st in cam.link.streams.items()
                },
            )
        snap.outbox_depth = dict(st.alarms.depth)
        snap.disk_total_bytes = self._disk.total
        snap.disk_free_bytes = self._disk.free
        snap.recordings_bytes = self._disk.recordings
        return snap
