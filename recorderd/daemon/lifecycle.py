"""The daemon's life: start the stages, apply a reload, stop in order within a bound.

    daemon = Daemon(cfg)
    async with trio.open_nursery() as n:
        await n.start(daemon.run)      # READY: index open, every camera's tasks running
        ...
        await daemon.reload(new_cfg)   # SIGHUP: only what changed restarts
        daemon.stop()                  # SIGTERM: the stages are left from the inside out

What the daemon says about itself is `daemon.view` (status, metrics, STATUS line), what controls
its cameras is `daemon.control`; both exist while it runs. Cancelling `run` from outside skips the
order (each part still closes its own files and rows, shielded).
"""

from __future__ import annotations

import logging

import trio

from recorderd.cameras.engine import Engine, RecorderFor
from recorderd.config.model import Config
from recorderd.core import events as ev
from recorderd.core.bus import Bus
from recorderd.core.clock import SYSTEM_CLOCK, Clock
from recorderd.daemon.assembly import Stages, open_stages
from recorderd.daemon.control import CameraControl, Endpoint
from recorderd.daemon.health import RecorderWatch
from recorderd.daemon.reload import ConfigDiff, diff
from recorderd.daemon.status import DaemonStatus, DiskFigures
from recorderd.mqtt.client import Tuning
from recorderd.recording.index import Index
from recorderd.service.httpserve import raise_fd_limit

log = logging.getLogger("recorderd.daemon")

STOP_TIMEOUT = 20.0  # below systemd's TimeoutStopSec (30 s in systemd/recorderd.service)


class Daemon:
    def __init__(
        self,
        cfg: Config,
        *,
        index: Index | None = None,
        clock: Clock = SYSTEM_CLOCK,
        recorder_for: RecorderFor | None = None,
        mqtt_tuning: Tuning | None = None,
        stop_timeout: float = STOP_TIMEOUT,
    ) -> None:
        self.cfg = cfg
        self.bus: Bus[ev.BusEvent] = Bus()
        self.clock = clock
        self.stop_timeout = stop_timeout
        self.stages: Stages | None = None
        self.view: DaemonStatus | None = None
        self.control: CameraControl | None = None
        self.started = False
        self.recorder_watch = RecorderWatch(lambda: self.stages.recording.inlets if self.stages else {})
        self.disk = DiskFigures()
        self._index = index
        self._recorder_for = recorder_for
        self._mqtt_tuning = mqtt_tuning
        self._stop = trio.Event()
        self._reload_lock = trio.Lock()

    @property
    def engine(self) -> Engine | None:
        return self.stages.engine if self.stages is not None else None

    @property
    def index(self) -> Index | None:
        return self.stages.index if self.stages is not None else None

    @property
    def http_addresses(self) -> list[str]:
        http = self.stages.http if self.stages is not None else None
        return http.addresses if http is not None else []

    def _endpoint(self, stages: Stages) -> Endpoint:
        self.control = CameraControl(stages.engine)
        self.view = DaemonStatus(stages, self.recorder_watch, self.disk, lambda: self.started)
        return Endpoint(self.control, self.view, stages)

    # -- running -----------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        soft, hard = raise_fd_limit()  # streams, files and connections: the usual 1024 is low
        log.debug("file descriptors: soft limit %d, hard %d", soft, hard)
        try:
            with trio.CancelScope() as bound:
                async with trio.open_nursery() as watch:
                    watch.start_soon(self.recorder_watch.run)  # beats until the very end of a stop
                    async with open_stages(
                        lambda: self.cfg,
                        self.bus,
                        self.clock,
                        self._endpoint,
                        index=self._index,
                        recorder_for=self._recorder_for,
                        mqtt_tuning=self._mqtt_tuning,
                    ) as stages:
                        self.stages = stages
                        async with trio.open_nursery() as body:
                            body.start_soon(self.disk.run, stages)
                            self.started = True
                            task_status.started()
                            await self._stop.wait()
                            self.started = False
                            body.cancel_scope.cancel()
                        # leaving open_stages is the ordered stop; all of it within the bound
                        bound.deadline = trio.current_time() + self.stop_timeout
                    watch.cancel_scope.cancel()
            if bound.cancelled_caught:
                log.warning(
                    "stopping: not everything finished within %gs; the rest is cut short", self.stop_timeout
                )
        finally:
            self.started = False
            self.stages = None
            self.bus.close()

    def stop(self) -> None:
        """Stop in order (see recorderd/daemon/assembly.py); `run` returns when done or after stop_timeout."""
        self._stop.set()

    def status_line(self) -> str:
        return self.view.status_line() if self.view is not None and self.stages is not None else "starting"

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
            st = self.stages
            if st is not None:
                await self._apply(st, new, d)
            log.info("configuration reloaded: %s", d.summary())
            return d

    async def _apply(self, st: Stages, new: Config, d: ConfigDiff) -> None:
        st.engine.cfg = new
        await st.recording.ensure()
        async with trio.open_nursery() as nursery:
            for name in d.cameras_removed + d.cameras_changed:
                nursery.start_soon(self._stop_camera, st, name)
        for name in d.cameras_changed + d.cameras_added:
            try:
                await st.engine.start_camera(name, new.cameras[name])
            except Exception as e:  # e.g. its password_file became unreadable
                log.error("reload: camera %s not started: %s", name, e)
        st.engine.retry_now()  # refused and failing streams ask again: the cameras may have changed
        if d.mqtt_changed:
            st.mqtt.runner.restart()
        st.alarms.apply(new, d)
        if d.http_changed and st.http is not None:
            st.http.runner.restart()

    async def _stop_camera(self, st: Stages, name: str) -> None:
        await st.engine.stop_camera(name)
        st.recording.close_inlet(name)
