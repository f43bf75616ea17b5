"""The simulator, the real daemon (in this process or as `recorderd run`), and ffmpeg as the judge.

Identity of frames is proved without our own Matroska reader: ffmpeg's packet MD5s (`-c copy -f
framemd5`) are looked up among the MD5s of the JPEGs the simulator sent (`SimCamera.frame_bytes`);
each sent frame carries its seq in a JPEG comment, so an MD5 names exactly one sent frame.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from recorderd.config.model import Config
from recorderd.core import events as ev
from recorderd.daemon.lifecycle import Daemon
from recorderd.sim import SimCamera, SimCameraConfig, SimConfig, Simulator, open_simulator
from tests.support.ffprobe import Packet

# small frames keep the files and the CPU small; the proofs are about timing and bytes
SMALL: dict[str, Any] = {"width": 160, "height": 120, "frames": 20, "quality": 50, "event_interval": "200ms"}


def sim_config(cameras: dict[str, dict[str, Any]]) -> SimConfig:
    return SimConfig(cameras={n: SimCameraConfig(**{**SMALL, **c}) for n, c in cameras.items()})


def daemon_raw(sim: Simulator, state_dir: Path, cameras: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A daemon config (as TOML-like data) watching the simulated cameras, no HTTP, no MQTT."""
    raw: dict[str, Any] = {
        "daemon": {"state_dir": str(state_dir), "timezone": "UTC", "http_listen": ""},
        "cameras": {},
    }
    for name, extra in cameras.items():
        table = sim[name].recorderd_camera()
        table.update({"read_timeout": "3s", "alarm_timeout": "5m"})
        table.update(extra)
        raw["cameras"][name] = table
    return raw


def daemon_config(raw: dict[str, Any]) -> Config:
    return Config.model_validate(raw, context={"targets": set(), "mqtt": False})


def toml_text(raw: dict[str, Any]) -> str:
    """The few shapes daemon_raw makes (tables of str/int/float/bool/list/inline tables) as TOML."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        raise TypeError(type(v))

    out = []
    for section, body in raw.items():
        tables = body.items() if section == "cameras" else [(None, body)]
        for name, table in tables:
            out.append(f"[{section}.{name}]" if name else f"[{section}]")
            out += [f"{k} = {value(v)}" for k, v in table.items()]
            out.append("")
    return "\n".join(out)


@dataclass
class Watch:
    """The daemon's bus events, kept in order, with waits that have deadlines."""

    recv: trio.MemoryReceiveChannel[ev.BusEvent]
    seen: list[ev.BusEvent] = field(default_factory=list)
    pos: int = 0

    async def next(self, kind: type, timeout: float = 10.0, **match: Any) -> Any:
        with trio.fail_after(timeout):
            while True:
                while self.pos < len(self.seen):
                    e = self.seen[self.pos]
                    self.pos += 1
                    if isinstance(e, kind) and all(getattr(e, k) == v for k, v in match.items()):
                        return e
                self.seen.append(await self.recv.receive())


@dataclass
class Rig:
    sim: Simulator
    daemon: Daemon
    watch: Watch
    state: Path
    raw: dict[str, Any]  # the daemon's config, as data (toml_text(raw) writes it for the CLI)


@asynccontextmanager
async def running(
    tmp_path: Path, sim_cams: dict[str, dict[str, Any]], cams: dict[str, dict[str, Any]]
) -> AsyncIterator[Rig]:
    """The simulator and the wired daemon in this process; on exit the daemon stops in order
    (`Daemon.stop`: cameras, then recorders finish their files) and the block waits for it."""
    state = tmp_path / "state"
    async with open_simulator(sim_config(sim_cams)) as sim:
        raw = daemon_raw(sim, state, cams)
        daemon = Daemon(daemon_config(raw))
        watch = Watch(daemon.bus.subscribe("e2e", 100_000))
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            try:
                yield Rig(sim, daemon, watch, state, raw)
            finally:
                daemon.stop()  # run() returns once every file is finished
                nursery.cancel_scope.deadline = trio.current_time() + 30
        assert not nursery.cancel_scope.cancelled_caught, "the daemon did not stop within 30 s"


async def until(predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    """Wait for a condition nobody signals (files, index rows): checked every `step`, with a deadline."""
    with trio.move_on_after(timeout):
        while not predicate():
            await trio.sleep(step)
        return
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def mid_interval(cam: SimCamera, fps: float) -> None:
    """Return half a frame interval after the next frame was sent: a trigger set now is as far as
    it can be from any frame, so which frames a clip must hold does not depend on jitter."""
    n = cam.seq
    with trio.fail_after(5):
        await cam.wait_until(lambda: cam.seq > n)
    sent = cam.frame(cam.seq).mono
    await trio.sleep(max(0.0, sent + 0.5 / fps - time.monotonic()))


# -- ffmpeg as the judge ----------------------------------------------------------------------


def raw_audio(path: Path) -> bytes:
    """The audio track's coded bytes, concatenated (mu-law, -c copy)."""
    r = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a", "-c", "copy", "-f", "mulaw", "-"],
        capture_output=True,
        timeout=120,
    )
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr.decode(errors="replace")
    return r.stdout


def seqs_of(cam: SimCamera, pkts: list[Packet], candidates: list[int]) -> list[int]:
    """The sent frame seq of every packet, by MD5; AssertionError for a packet that was never sent."""
    by_md5 = {hashlib.md5(cam.frame_bytes(q)).hexdigest(): q for q in candidates}
    out = []
    for i, p in enumerate(pkts):
        q = by_md5.get(p.md5)
        assert q is not None, f"packet {i} (pts {p.pts} ms, {p.size} bytes) is no frame the camera sent"
        out.append(q)
    return out
