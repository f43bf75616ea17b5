"""Synthetic camera input for tests, benchmarks and drills: distinct JPEGs, mu-law audio, real frames.

Nothing here runs in the daemon; it lives in the package so that tests and bench/ scripts share it.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

REAL_CAPTURE = Path(__file__).resolve().parents[2] / "tests/fixtures/real/axis-mjpeg-capture.mjpg"


def make_jpegs(n: int, size: tuple[int, int] = (160, 120), quality: int = 60) -> list[bytes]:
    """n distinct JPEGs (the frame number drawn in), made with Pillow."""
    from PIL import Image, ImageDraw

    out = []
    for i in range(n):
        im = Image.new("RGB", size, ((i * 37) % 256, 90, 160))
        ImageDraw.Draw(im).text((8, 8), f"{i}", fill=(255, 255, 255))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        out.append(buf.getvalue())
    return out


def mulaw_block(i: int, n: int = 240) -> bytes:
    """Block i of a mu-law 440 Hz tone: what a camera sends as one 30 ms audio packet."""
    return bytes(0xFF ^ (int(60 * math.sin(2 * math.pi * 440 * (i * n + k) / 8000)) & 0x7F) for k in range(n))


def real_axis_jpegs(path: Path = REAL_CAPTURE) -> list[bytes]:
    """The JPEGs of the real Axis capture, split by their exact Content-Length."""
    data = path.read_bytes()
    frames = []
    for m in re.finditer(rb"Content-Length: (\d+)\r\n\r\n", data):
        body = data[m.end() : m.end() + int(m.group(1))]
        if len(body) == int(m.group(1)):
            frames.append(body)
    return frames
