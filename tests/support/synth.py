"""Synthetic camera input for tests, benchmarks and drills: distinct JPEGs, mu-law audio, real frames.

Nothing here runs in the daemon; it lives in the package so that tests and bench/ scripts share it.
"""

from __future__ import annotations

import functools
import io
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import trio

from recorderd.recording.frames import AudioFormat, ClipEnd, ClipStart, Frame, Privacy, RecorderInput

REAL_CAPTURE = Path(__file__).resolve().parents[2] / "tests/fixtures/real/axis-mjpeg-capture.mjpg"


def make_jpegs(
    n: int, size: tuple[int, int] = (160, 120), quality: int = 60, noise: float = 0.0
) -> list[bytes]:
    """n distinct JPEGs (the frame number drawn in), made with Pillow; `noise` (0..1) blends in
    random pixels, which makes them as large as a real camera's (640x480, quality 80, 0.06: 22 KB)."""
    import random

    from PIL import Image, ImageDraw

    out = []
    for i in range(n):
        im = Image.new("RGB", size, ((i * 37) % 256, 90, 160))
        if noise > 0:
            grain = Image.frombytes("RGB", size, random.Random(i).randbytes(size[0] * size[1] * 3))
            im = Image.blend(im, grain, noise)
        ImageDraw.Draw(im).text((8, 8), f"{i}", fill=(255, 255, 255))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        out.append(buf.getvalue())
    return out


@functools.cache
def _tone() -> bytes:
    """One second (8000 samples) of a mu-law 440 Hz tone, twice over for slicing."""
    one = bytes(0xFF ^ (int(60 * math.sin(2 * math.pi * 440 * k / 8000)) & 0x7F) for k in range(8000))
    return one + one


def mulaw_block(i: int, n: int = 240) -> bytes:
    """Block i of a mu-law 440 Hz tone: what a camera sends as one 30 ms audio packet."""
    start = (i * n) % 8000
    return _tone()[start : start + n]


def real_axis_jpegs(path: Path = REAL_CAPTURE) -> list[bytes]:
    """The JPEGs of the real Axis capture, split by their exact Content-Length."""
    data = path.read_bytes()
    frames = []
    for m in re.finditer(rb"Content-Length: (\d+)\r\n\r\n", data):
        body = data[m.end() : m.end() + int(m.group(1))]
        if len(body) == int(m.group(1)):
            frames.append(body)
    return frames


@dataclass(frozen=True, slots=True)
class Scripted:
    """An incident of the synthetic camera: starts and ends at these offsets (seconds) from the start."""

    start: float
    end: float
    incident: str
    trigger: str = "motion"


class _Sender(Protocol):
    async def send(self, value: RecorderInput, /) -> None: ...


async def feed_camera(
    send: _Sender,
    *,
    seconds: float,
    jpegs: Sequence[bytes],
    fps: float = 25.0,
    audio: bool = True,
    incidents: Sequence[Scripted] = (),
    privacy: Sequence[tuple[float, float]] = (),
    wall_of: Callable[[float], float] | None = None,
    sent: list[Frame] | None = None,
) -> list[Frame]:
    """Play a camera in (trio) time: video at `fps`, a 240-byte mu-law block every 30 ms, incidents
    and privacy windows (start, end offsets).

    Frames are stamped as the engine stamps them (mono = trio.current_time(), wall = wall_of(mono),
    by default time.time()). Sends with back-pressure (lossless). Returns the frames sent, in order
    (also appended to `sent` as they go, which survives a cancellation).
    """
    out: list[Frame] = [] if sent is None else sent
    t0 = trio.current_time()
    events: list[tuple[float, int, object]] = [(i / fps, 1, i) for i in range(int(seconds * fps))]
    if audio:
        events += [(k * 0.03, 2, k) for k in range(int(seconds / 0.03))]
    for s in incidents:
        events.append((s.start, 0, s))
        events.append((s.end, 3, s))
    for on, off in privacy:
        events.append((on, 0, True))
        events.append((off, 0, False))
    events.sort(key=lambda e: (e[0], e[1]))
    if audio:
        await send.send(AudioFormat())
    for at, kind, what in events:
        await trio.sleep_until(t0 + at)
        mono = trio.current_time()
        wall = wall_of(mono) if wall_of is not None else time.time()
        if kind == 1:
            assert isinstance(what, int)
            f = Frame(jpegs[what % len(jpegs)], "video", mono, wall)
        elif kind == 2:
            assert isinstance(what, int)
            f = Frame(mulaw_block(what), "audio", mono, wall)
        elif isinstance(what, bool):
            await send.send(Privacy(what, mono, wall))
            continue
        else:
            assert isinstance(what, Scripted)
            msg: RecorderInput = (
                ClipStart(what.incident, what.trigger, mono, wall)
                if kind == 0
                else ClipEnd(what.incident, mono, wall)
            )
            await send.send(msg)
            continue
        out.append(f)
        await send.send(f)
    return out
