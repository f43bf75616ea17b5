"""The supervisor: every configured camera in its own nursery under one supervisor nursery.

`Engine.run` starts each camera with `nursery.start` (a camera is ready as soon as its tasks run;
connecting is its own business, so a camera that is down never holds up the others). A camera
whose code fails unexpectedly is logged with its traceback and restarted after a backoff, alone.

How the daemon assembles it (see recorderd/daemon/app.py):
    engine = Engine(cfg, bus=bus, index=index, recorder_for=recorder_channels.get)
    async with trio.open_nursery() as n:
        await n.start(engine.run)
Consumers read `bus.subscribe(name)`; controls call `engine.set_armed`, `engine.trigger`, ...
"""

from __future__ import annotations

import logging
import select
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import trio

from recorderd.cameras.camera import Camera
from recorderd.cameras.drivers import driver_for
from recorderd.cameras.http import CameraHttp, new_client
from recorderd.cameras.live import LiveFeed
from recorderd.cameras.readmux import ReadMux
from recorderd.core import events as ev
from recorderd.core.backoff import Backoff
from recorderd.core.bus import Bus
from recorderd.core.clock import SYSTEM_CLOCK, Clock
from recorderd.core.errors import UnknownCamera
from recorderd.core.events import Override
from recorderd.core.text import plural
from recorderd.recording.index import INCIDENT_IDS

if TYPE_CHECKING:
    from recorderd.config.model import CameraConfig, Config
    from recorderd.recording.frames import RecorderSink
    from recorderd.recording.index import Index

log = logging.getLogger("recorderd.cameras")

RecorderFor = Callable[[str], "RecorderSink | None"]


@dataclass(frozen=True)
class CameraState:
    """A camera's state as MQTT's retained topics show it."""

    name: str
    connected: bool
    triggers: dict[str, bool]
    armed: bool


class Engine:
    def __init__(
        self,
        cfg: Config,
        *,
        bus: Bus[ev.BusEvent] | None = None,
        index: Index | None = None,
        recorder_for: RecorderFor | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.cfg = cfg
        self.clock = clock
        self.bus: Bus[ev.BusEvent] = bus if bus is not None else Bus()
        self.index = index
        self.recorder_for = recorder_for
        self._client = client
        self.cameras: dict[str, Camera] = {}
        self._http: httpx.AsyncClient | None = None  # the client in use while running
        self._nursery: trio.Nursery | None = None
        self._scopes: dict[str, trio.CancelScope] = {}
        self._stopped: dict[str, trio.Event] = {}
        # one task reads every camera's plain-TCP body (Linux epoll); elsewhere each stream reads
        self.mux: ReadMux | None = ReadMux() if hasattr(select, "epoll") else None

    def camera(self, name: str) -> Camera:
        try:
            return self.cameras[name]
        except KeyError:
            raise UnknownCamera(name) from None

    def build(self, client: httpx.AsyncClient) -> None:
        zone_default = self.cfg.daemon.timezone
        for name, cc in self.cfg.cameras.items():
            if not cc.enabled:
                continue
            self.cameras[name] = self._make(name, cc, client, zone_default)

    def _make(self, name: str, cc: CameraConfig, client: httpx.AsyncClient, zone: str) -> Camera:
        base = cc.url or cc.video_url
        assert base is not None
        http = CameraHttp(
            client,
            name,
            base,
            username=cc.username,
            password=cc.secret(),
            auth=cc.auth,
            read_timeout=float(cc.read_timeout),
            mux=self.mux,
        )
        recorder = self.recorder_for(name) if self.recorder_for is not None else None
        return Camera(
            name,
            cc,
            http=http,
            driver=driver_for(cc),
            bus=self.bus,
            zone=cc.zone(zone),
            index=self.index,
            recorder=recorder,
            clock=self.clock,
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run every enabled camera until cancelled; ready once all have started."""
        client = self._client or new_client()
        self._http = client
        if self.index is not None:  # incident ids continue above every id the index holds
            INCIDENT_IDS.seed(await trio.to_thread.run_sync(self.index.last_incident_stamp))
        try:
            if not self.cameras:
                self.build(client)
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if self.mux is not None:
                    await nursery.start(self.mux.run)
                for cam in list(self.cameras.values()):
                    await nursery.start(self._supervise, cam)
                log.info("engine: %s started", plural(len(self.cameras), "camera"))
                task_status.started()
                await trio.sleep_forever()  # cameras may be started later (reload), even from none
        finally:
            self._nursery = None
            if self._client is None:
                with trio.CancelScope(shield=True):
                    await client.aclose()

    async def _supervise(
        self, cam: Camera, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        scope = self._scopes[cam.name] = trio.CancelScope()
        stopped = self._stopped[cam.name] = trio.Event()
        try:
            with scope:
                await self._supervised(cam, task_status)
        finally:
            stopped.set()
            if self._scopes.get(cam.name) is scope:
                del self._scopes[cam.name]

    async def _supervised(self, cam: Camera, task_status: trio.TaskStatus[None]) -> None:
        backoff = Backoff(1.0, 60.0, stable_after=60.0)
        status: trio.TaskStatus[None] | None = task_status
        while True:
            t0 = trio.current_time()
            try:
                if status is not None:
                    await cam.run(task_status=status)
                else:
                    await cam.run()
                return
            except Exception:
                log.exception("%s: camera task failed; restarting it", cam.name)
            finally:
                status = None
            backoff.ended(trio.current_time() - t0)
            await trio.sleep(backoff.next_delay())
            # a fresh state; the same HTTP side, recorder channel, bus and live viewers
            live = cam.live
            cam = Camera(
                cam.name,
                cam.cfg,
                http=cam.http,
                driver=driver_for(cam.cfg),
                bus=self.bus,
                zone=cam.zone,
                index=self.index,
                recorder=cam.recorder,
                clock=self.clock,
            )
            cam.live = live
            self.cameras[cam.name] = cam

    # -- one camera at a time (config reload) ----------------------------------------------------

    async def start_camera(self, name: str, cc: CameraConfig) -> Camera:
        """Start a camera (new, or again after `stop_camera`) while the engine runs."""
        if self._nursery is None or self._http is None:
            raise RuntimeError("the engine is not running")
        if name in self._scopes:
            raise RuntimeError(f"camera {name} is already running")
        cam = self._make(name, cc, self._http, self.cfg.daemon.timezone)
        self.cameras[name] = cam
        await self._nursery.start(self._supervise, cam)
        return cam

    async def stop_camera(self, name: str) -> Camera | None:
        """Stop one camera and wait until its tasks ended (its open incident is ended, reason
        "stopped", and written). Returns it (its `recorder` channel is the caller's to close)."""
        scope = self._scopes.get(name)
        cam = self.cameras.pop(name, None)
        if scope is None:
            return cam
        scope.cancel()
        await self._stopped[name].wait()
        return cam

    # -- controls (MQTT armed/set, HTTP API) ----------------------------------------------------

    def names(self) -> Collection[str]:
        return list(self.cameras)

    def states(self) -> list[CameraState]:
        """Every running camera's state, for a new MQTT publisher to start from."""
        return [
            CameraState(
                name,
                cam.stats.connected,
                {t: cam.triggers.is_on(t) for t in cam.cfg.triggers},
                cam.machine.armed,
            )
            for name, cam in list(self.cameras.items())
        ]

    def set_armed(self, camera: str, mode: str) -> None:
        """'on' | 'off' | 'auto' (also ON/OFF/AUTO, true/false); raises UnknownCamera, ValueError."""
        self.camera(camera).set_override(Override.parse(mode))

    async def trigger(self, camera: str, duration: float | None = None) -> str | None:
        """A manual incident on a camera for `duration` seconds (its `manual_duration` by
        default); its incident id (None during privacy)."""
        return await self.camera(camera).manual_trigger(duration)

    async def snapshot(self, camera: str) -> bytes | None:
        """A picture of the camera now: its live video's frame, else from its snapshot CGI."""
        return await self.camera(camera).snapshot()

    def live(self, camera: str) -> LiveFeed:
        """The camera's live view fan-out (raises UnknownCamera)."""
        return self.camera(camera).live

    def retry_now(self) -> None:
        """Every stream waiting to try again, refused ones too, tries now (a config reload: the
        camera may have been set up meanwhile)."""
        for cam in list(self.cameras.values()):
            cam.retry_now()

    def status(self) -> dict[str, Any]:
        return {
            "cameras": {n: c.status() for n, c in self.cameras.items()},
            "bus_dropped": self.bus.dropped(),
        }
