"""Running the daemon's engine against the project's simulator, and waiting on the bus with deadlines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from recorderd.config.model import Config
from recorderd.core import events as ev
from recorderd.daemon.lifecycle import Daemon
from recorderd.recording.frames import RecorderInput
from recorderd.sim import SimCameraConfig, SimConfig, Simulator, open_simulator

SMALL = {"width": 160, "height": 120, "frames": 10, "quality": 50, "event_interval": "200ms"}


def sim_config(cameras: dict[str, dict[str, Any]]) -> SimConfig:
    return SimConfig(cameras={n: SimCameraConfig(**{**SMALL, **c}) for n, c in cameras.items()})


def daemon_config(
    sim: Simulator,
    state_dir: Path,
    cameras: dict[str, dict[str, Any]],
    daemon: dict[str, Any] | None = None,
) -> Config:
    raw: dict[str, Any] = {
        "daemon": {"state_dir": str(state_dir), "timezone": "UTC", "http_listen": "", **(daemon or {})},
        "cameras": {},
    }
    for name, extra in cameras.items():
        table = sim[name].recorderd_camera()
        table.update({"read_timeout": "2s", "poll_interval": "100ms", "alarm_timeout": "1m"})
        table.update(extra)
        raw["cameras"][name] = table
    return Config.model_validate(raw, context={"targets": set(), "mqtt": False})


@dataclass
class Watch:
    """Bus events as they come, kept in order, with waits that have deadlines. Each camera has its
    own cursor: waiting for one camera's event never skips another camera's."""

    recv: trio.MemoryReceiveChannel[ev.BusEvent]
    seen: list[ev.BusEvent] = field(default_factory=list)
    _pos: dict[str | None, int] = field(default_factory=dict)

    async def next(self, kind: type, camera: str | None = None, timeout: float = 10.0, **match: Any) -> Any:
        with trio.fail_after(timeout):
            while True:
                pos = self._pos.get(camera, 0)
                while pos < len(self.seen):
                    e = self.seen[pos]
                    pos += 1
                    ours = camera is None or getattr(e, "camera", None) == camera
                    if isinstance(e, kind) and ours and all(getattr(e, k) == v for k, v in match.items()):
                        self._pos[camera] = pos
                        return e
                self._pos[camera] = pos
                self.seen.append(await self.recv.receive())

    def incidents(self, camera: str | None = None) -> list[ev.IncidentEvent]:
        return [
            e for e in self.seen if isinstance(e, ev.IncidentEvent) and (camera is None or e.camera == camera)
        ]

    def drain(self) -> None:
        while True:
            try:
                self.seen.append(self.recv.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                return


@dataclass
class Rig:
    sim: Simulator
    daemon: Daemon
    watch: Watch
    recorder: dict[str, trio.MemoryReceiveChannel[RecorderInput]]


@asynccontextmanager
async def rig(
    tmp_path: Path,
    sim_cams: dict[str, dict[str, Any]],
    cam_extra: dict[str, dict[str, Any]] | None = None,
    *,
    recorder: bool = False,
    queue: int = 100_000,
    daemon_extra: dict[str, Any] | None = None,
) -> AsyncIterator[Rig]:
    async with open_simulator(sim_config(sim_cams)) as sim:
        extra = {n: (cam_extra or {}).get(n, {}) for n in sim_cams}
        cfg = daemon_config(sim, tmp_path / "state", extra, daemon_extra)
        channels: dict[str, trio.MemoryReceiveChannel[RecorderInput]] = {}
        sends: dict[str, trio.MemorySendChannel[RecorderInput]] = {}
        if recorder:
            for n in sim_cams:
                s, r = trio.open_memory_channel[RecorderInput](queue)
                sends[n], channels[n] = s, r
        daemon = Daemon(cfg, recorder_for=sends.get if recorder else None)
        watch = Watch(daemon.bus.subscribe("test", queue))
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            yield Rig(sim, daemon, watch, channels)
            nursery.cancel_scope.cancel()
