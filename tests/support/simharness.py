"""The project's simulator and the daemon in this process: configs for both, the daemon's bus
events with deadlines (`Watch`), and the running pair (`rig`, or `running` for a config of one's own).

The daemon stops in order on leaving (`Daemon.stop`: cameras end their incidents, recorders finish
their files) and the block waits for that, so a test sees the files and rows a stop leaves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from recorderd.config.model import Config
from recorderd.core import events as ev
from recorderd.daemon.lifecycle import Daemon
from recorderd.recording.frames import Frame, RecorderInput
from recorderd.sim import SimCameraConfig, SimConfig, Simulator, open_simulator

# small frames keep files and CPU small; the proofs are about timing and bytes
SMALL: dict[str, Any] = {"width": 160, "height": 120, "frames": 10, "quality": 50, "event_interval": "200ms"}

# what the daemon's camera tables get unless a test says otherwise: quick to notice a dead stream,
# an incident ends with its trigger (no min_off debounce: its own tests set it)
CAMERA: dict[str, Any] = {
    "read_timeout": "2s",
    "poll_interval": "100ms",
    "alarm_timeout": "1m",
    "min_off": "0s",
}

STOP_WAIT = 30.0  # the daemon's own stop bound is 20 s


def sim_config(cameras: Mapping[str, Mapping[str, Any]], **common: Any) -> SimConfig:
    """Simulated cameras: SMALL, then `common`, then each camera's own settings."""
    return SimConfig(cameras={n: SimCameraConfig(**{**SMALL, **common, **c}) for n, c in cameras.items()})


def daemon_raw(
    sim: Simulator,
    state_dir: Path,
    cameras: Mapping[str, Mapping[str, Any]],
    defaults: Mapping[str, Any] = CAMERA,
    daemon: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A daemon config (TOML-like data) watching the simulated cameras, without HTTP or MQTT
    (`daemon` adds to its [daemon] table): each camera's table is what the simulator says, then
    `defaults`, then the test's settings."""
    raw: dict[str, Any] = {
        "daemon": {"state_dir": str(state_dir), "timezone": "UTC", "http_listen": "", **(daemon or {})},
        "cameras": {},
    }
    for name, extra in cameras.items():
        raw["cameras"][name] = {**sim[name].recorderd_camera(), **defaults, **extra}
    return raw


def daemon_config(raw: dict[str, Any]) -> Config:
    """`raw` validated as the daemon's config (its targets and MQTT section as written)."""
    return Config.model_validate(raw, context={"targets": set(raw.get("targets", {})), "mqtt": "mqtt" in raw})


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


@asynccontextmanager
async def running(cfg: Config, **daemon_kw: Any) -> AsyncIterator[tuple[Daemon, Watch]]:
    """The daemon on `cfg` (Daemon's keywords pass through) and a Watch on its bus, from READY on."""
    daemon = Daemon(cfg, **daemon_kw)
    watch = Watch(daemon.bus.subscribe("test", 100_000))
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        try:
            yield daemon, watch
        finally:
            daemon.stop()  # run() returns once every file is finished
            nursery.cancel_scope.deadline = trio.current_time() + STOP_WAIT
    assert not nursery.cancel_scope.cancelled_caught, f"the daemon did not stop within {STOP_WAIT} s"


@dataclass
class Rig:
    sim: Simulator
    daemon: Daemon
    watch: Watch
    state: Path
    raw: dict[str, Any]  # the daemon's config as data (daemonharness.toml writes it for the CLI)
    recorder: dict[str, trio.MemoryReceiveChannel[RecorderInput]]  # with recorder=True

    async def video(self, camera: str, n: int, timeout: float = 15.0) -> list[bytes]:
        """The JPEGs of the video frames `camera` handed its recorder channel: waits for `n`,
        then takes whatever else is queued."""
        got: list[bytes] = []
        recv = self.recorder[camera]
        with trio.fail_after(timeout):
            while True:
                try:
                    item = recv.receive_nowait()
                except trio.WouldBlock:
                    if len(got) >= n:
                        return got
                    item = await recv.receive()
                if isinstance(item, Frame) and item.kind == "video":
                    got.append(item.data)


@asynccontextmanager
async def rig(
    tmp_path: Path,
    sim_cams: Mapping[str, Mapping[str, Any]],
    cams: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    recorder: bool = False,
    queue: int = 100_000,
    sim_common: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] = CAMERA,
    daemon_extra: Mapping[str, Any] | None = None,
) -> AsyncIterator[Rig]:
    """The simulator with `sim_cams` and the daemon watching each of them (`cams` adds settings,
    `daemon_extra` to its [daemon] table). recorder=True hands the daemon a memory channel per
    camera instead of its recorder: the test reads what the cameras send (`Rig.recorder`), no
    files are written."""
    state = tmp_path / "state"
    async with open_simulator(sim_config(sim_cams, **(sim_common or {}))) as sim:
        raw = daemon_raw(sim, state, {n: (cams or {}).get(n, {}) for n in sim_cams}, defaults, daemon_extra)
        channels: dict[str, trio.MemoryReceiveChannel[RecorderInput]] = {}
        sends: dict[str, trio.MemorySendChannel[RecorderInput]] = {}
        if recorder:
            for n in sim_cams:
                sends[n], channels[n] = trio.open_memory_channel[RecorderInput](queue)
        async with running(daemon_config(raw), recorder_for=sends.get if recorder else None) as (
            daemon,
            watch,
        ):
            yield Rig(sim, daemon, watch, state, raw, channels)
