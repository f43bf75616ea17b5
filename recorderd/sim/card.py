"""The test card: a cycle of distinct JPEG frames, drawn and encoded once, shared by every camera.

Each frame shows a big frame counter, a sweeping clock hand (one turn per cycle) and the time within
the cycle, so a recording can be checked by eye. What makes every frame sent unique is a JPEG comment
segment (COM, like the ones Axis cameras put there) inserted after APP0 when the frame is sent:
`recorderd-sim camera=<name> seq=<n> wall=<unix time>`. The pixels are encoded once; the bytes of a
sent frame are the card frame with that comment, so they can be rebuilt exactly from (index, seq, wall).
"""

from __future__ import annotations

import functools
import io
import math
import struct
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

_BARS = ((192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0), (192, 0, 192), (192, 0, 0), (0, 0, 192))


@dataclass(frozen=True)
class CardFrames:
    """The encoded cycle; `head`/`tail` split each JPEG where the comment goes (after SOI and APP0)."""

    width: int
    height: int
    heads: tuple[bytes, ...]
    tails: tuple[bytes, ...]

    def __len__(self) -> int:
        return len(self.heads)

    def jpeg(self, index: int, comment: bytes = b"") -> bytes:
        i = index % len(self.heads)
        if not comment:
            return self.heads[i] + self.tails[i]
        return b"".join((self.heads[i], com_segment(comment), self.tails[i]))


def com_segment(text: bytes) -> bytes:
    """A JPEG COM marker segment holding `text` (at most 65533 bytes)."""
    return b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text


def frame_comment(camera: str, seq: int, wall: float) -> bytes:
    return f"recorderd-sim camera={camera} seq={seq} wall={wall:.6f}".encode()


def _split(jpeg: bytes) -> tuple[bytes, bytes]:
    if jpeg[2:4] == b"\xff\xe0":  # APP0 (JFIF): the comment follows it, as on real cameras
        end = 4 + struct.unpack(">H", jpeg[4:6])[0]
        return jpeg[:end], jpeg[end:]
    return jpeg[:2], jpeg[2:]


def _background(w: int, h: int) -> Image.Image:
    im = Image.new("RGB", (w, h), (16, 16, 16))
    d = ImageDraw.Draw(im)
    bar_h = h * 5 // 8
    for i, c in enumerate(_BARS):
        d.rectangle((i * w // 7, 0, (i + 1) * w // 7, bar_h), fill=c)
    for x in range(w):  # a grey ramp: gives the encoder some real detail
        v = 255 * x // max(1, w - 1)
        d.line((x, bar_h, x, bar_h + h // 16), fill=(v, v, v))
    step = max(4, w // 32)
    for y in range(bar_h + h // 16, h, step):
        for x in range(0, w // 2, step):
            if (x // step + y // step) % 2:
                d.rectangle((x, y, x + step - 1, y + step - 1), fill=(60, 60, 60))
    return im


@functools.lru_cache(maxsize=8)
def card_frames(
    width: int = 640, height: int = 480, count: int = 100, quality: int = 60, fps: float = 10.0
) -> CardFrames:
    """The cycle of `count` frames (cached per process: cameras and simulators share it)."""
    big = ImageFont.load_default(size=max(12, height // 4))
    small = ImageFont.load_default(size=max(8, height // 18))
    base = _background(width, height)
    heads: list[bytes] = []
    tails: list[bytes] = []
    for k in range(count):
        im = base.copy()
        d = ImageDraw.Draw(im)
        bx = (width // 20, height // 10, width - width // 20, height // 10 + height * 3 // 8)
        d.rectangle(bx, fill=(0, 0, 0))
        d.text((bx[0] + width // 40, bx[1]), f"{k:04d}", font=big, fill=(255, 255, 255))
        t = k / fps
        clock = f"{int(t // 60):02d}:{t % 60:04.1f}"
        d.text((bx[2] - width * 7 // 24, bx[3] - height // 8), clock, font=small, fill=(0, 255, 0))
        r = min(width, height) // 8
        cx, cy = width - r - width // 20, height - r - height // 30
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(255, 255, 255), width=3, fill=(0, 0, 0))
        a = 2 * math.pi * k / count
        d.line((cx, cy, cx + r * math.sin(a), cy - r * math.cos(a)), fill=(255, 64, 64), width=5)
        # a block moving across: motion a viewer (or a motion detector) can see
        mx = int((width - width // 8) * k / max(1, count - 1))
        d.rectangle(
            (mx, height * 5 // 8 - height // 12, mx + width // 8, height * 5 // 8), fill=(255, 255, 255)
        )
        label = f"recorderd sim  {k + 1}/{count}"
        d.text((width // 20, height - height // 6), label, font=small, fill=(255, 255, 0))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        head, tail = _split(buf.getvalue())
        heads.append(head)
        tails.append(tail)
    return CardFrames(width, height, tuple(heads), tuple(tails))
