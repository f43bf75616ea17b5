"""The simulator, the real daemon (in this process or as `recorderd run`), and ffmpeg as the judge.

Identity of frames is proved without our own Matroska reader: ffmpeg's packet MD5s (`-c copy -f
framemd5`) are looked up among the MD5s of the JPEGs the simulator sent (`SimCamera.frame_bytes`);
each sent frame carries its seq in a JPEG comment, so an MD5 names exactly one sent frame.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import trio

from recorderd.sim import SimCamera, SimConfig, Simulator
from tests.support.ffprobe import Packet
from tests.support.simharness import daemon_raw, sim_config

# the daemon records real files on a loaded machine: a little more room than the camera tests give
CAMERA: dict[str, Any] = {"read_timeout": "3s", "alarm_timeout": "5m", "min_off": "0s"}
SIM: dict[str, Any] = {"frames": 20}
E2E: dict[str, Any] = {"sim_common": SIM, "defaults": CAMERA}  # rig(tmp_path, sims, cams, **E2E)


def e2e_sim_config(cameras: Mapping[str, Mapping[str, Any]]) -> SimConfig:
    return sim_config(cameras, **SIM)


def e2e_raw(sim: Simulator, state_dir: Path, cameras: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return daemon_raw(sim, state_dir, cameras, CAMERA)


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
