"""What the daemon says about itself: the status JSON, the metrics, the one-line STATUS, health.

Reads each stage through the little it offers (the engine's cameras, the outbox's counts, the MQTT
connection, the recorders' status, the disk figures); changes nothing.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from recorderd.daemon.health import RecorderWatch, status_line
from recorderd.service.http import CameraMetrics, MetricsSnapshot, StreamMetrics

if TYPE_CHECKING:
    from recorderd.daemon.assembly import Stages

log = logging.getLogger("recorderd.daemon")

STATS_INTERVAL = 10.0


class DiskFigures:
    """Disk figures for /metrics, read in a worker thread (a hung filesystem must not block trio)."""

    def __init__(self) -> None:
        self.total = self.free = self.recordings = 0

    async def run(self, stages: Stages) -> None:
        n = 0
        while True:
            try:
                usage = await trio.to_thread.run_sync(shutil.disk_usage, stages.config().daemon.state_dir)
                self.total, self.free = usage.total, usage.free
                if stages.recording.service is not None and n % 3 == 0:
                    rows = await trio.to_thread.run_sync(stages.index.list_recordings)
                    self.recordings = sum(r.bytes for r in rows) + stages.recording.active_bytes()
            except OSError as e:
                log.debug("disk figures: %s", e)
            n += 1
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
