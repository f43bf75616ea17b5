"""Control of the cameras from outside (HTTP API, MQTT commands): arming, manual trigger, snapshot."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from recorderd.cameras.engine import Engine
from recorderd.daemon.status import DaemonStatus
from recorderd.service.http import ArmedMode, Control, MetricsSnapshot


class CameraControl:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def cameras(self) -> Collection[str]:
        return self._engine.names()

    async def snapshot(self, camera: str) -> bytes | None:
        return await self._engine.snapshot(camera)

    async def trigger(self, camera: str) -> str:
        return await self._engine.trigger(camera) or ""

    def set_armed(self, camera: str, mode: str) -> None:
        self._engine.set_armed(camera, mode)


class Endpoint(Control):
    """What the HTTP endpoint is given: the controls and the status, nothing else of the daemon."""

    def __init__(self, control: CameraControl, status: DaemonStatus) -> None:
        self._control = control
        self._status = status

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

    async def trigger(self, camera: str) -> str:
        return await self._control.trigger(camera)

    def set_armed(self, camera: str, mode: ArmedMode) -> None:
        self._control.set_armed(camera, mode)
