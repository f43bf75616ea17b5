"""Audio the simulated cameras send: an 8 kHz tone, G.711 mu-law or G.726-32, in 240-byte blocks.

Open API/VAPIX: "Each block of coded audio data is 240 byte"; audio/basic is G.711 mu-law (a block is
30 ms), audio/32KADPCM is G.726 at 32 kbit/s (60 ms). One second of tone is encoded once and looped
(a whole number of cycles for any whole frequency); the G.726 loop is taken from the encoder's steady
state, so the decoder's state hardly jumps where the loop restarts.
"""

from __future__ import annotations

import functools
import math

from recorderd.sim import g726

RATE = 8000  # samples per second
BLOCK = 240  # bytes per block (Open API/VAPIX)
MIME = {"mulaw": "audio/basic", "g726": "audio/32KADPCM"}
BYTES_PER_SECOND = {"mulaw": 8000, "g726": 4000}


def mulaw_byte(sample: int) -> int:
    """One 16-bit linear sample -> one G.711 mu-law byte."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, 32635) + 0x84
    exponent = min(7, max(0, magnitude.bit_length() - 8))
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _sine(hz: int, n: int, amplitude: float) -> list[int]:
    peak = amplitude * 32767
    return [round(peak * math.sin(2 * math.pi * hz * i / RATE)) for i in range(n)]


@functools.lru_cache(maxsize=8)
def tone(hz: int = 1000, codec: str = "mulaw", amplitude: float = 0.3) -> bytes:
    """One second of a sine tone at `hz`, coded (a whole number of 240-byte blocks)."""
    if codec == "g726":
        coded = g726.encode(_sine(hz, 2 * RATE, amplitude))[BYTES_PER_SECOND["g726"] :]  # the 2nd second
    else:
        coded = bytes(mulaw_byte(s) for s in _sine(hz, RATE, amplitude))
    return coded[: len(coded) - len(coded) % BLOCK]


def blocks(data: bytes) -> list[bytes]:
    return [data[i : i + BLOCK] for i in range(0, len(data), BLOCK)]
