"""Control of the cameras from outside (HTTP API, MQTT commands): arming, manual trigger, snapshot."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import trio

from recorderd.cameras.engine import Engine
from recorderd.cameras.live import LiveFeed
from recorderd.config.model import Config
from recorderd.core.events import ArmedMode, BusEvent
from recorderd.daemon.status import DaemonStatus
from recorderd.recording.index import Index
from recorderd.service.http import Control, MetricsSnapshot

if TYPE_CHECKING:
    from recorderd.daemon.assembly import Stages


class CameraControl:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def cameras(self) -> Collection[str]:
        return self._engine.names()

    async def snapshot(self, camera: str) -> bytes | None:
        return await self._engine.snapshot(camera)

    async def trigger(self, camera: str, duration: float | None = None) -> str:
        return await self._engine.trigger(camera, duration) or ""

    def set_armed(self, camera: str, mode: str) -> None:
        self._engine.set_armed(camera, mode)


class Endpoint(Control):
    """What the HTTP endpoint is given: the controls and the status, and for the web UI
    (recorderd/web/source.py) the config, the index, the live views and a bus subscription."""

    def __init__(self, control: CameraControl, status: DaemonStatus, stages: Stages) -> None:
        self._control = control
        self._status = status
        self._stages = stages

    def healthy(self) -> bool:
        return self._status.healthy()

    def not_ready(self) -> list[str]:
        return self._status.not_ready()

    def status(self) -> dict[str, Any]:
        return self._status.status()

    def metrics(self) -> MetricsSnapshot:
        return self._status.metrics()

    def cameras(self) -> Collection[str]:
        return self._control.cameras()

    async def snapshot(self, camera: str) -> bytes | None:
        return await self._control.snapshot(camera)

    async def trigger(self, camera: str, duration: float | None = None) -> str:
        return await self._control.trigger(camera, duration)

    def set_armed(self, camera: str, mode: ArmedMode) -> None:
        self._control.set_armed(camera, mode)

    # -- for the web UI (recorderd.web.source.UiSource) ----------------------------------------

    def config(self) -> Config:
        return self._stages.config()

    def index(self) -> Index:
        return self._stages.index

    def live(self, camera: str) -> LiveFeed:
        return self._stages.engine.live(camera)

    def subscribe(self, name: str, size: int) -> trio.MemoryReceiveChannel[BusEvent]:
        return self._stages.engine.bus.subscribe(name, size)
