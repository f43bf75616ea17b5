"""Audio the simulated cameras send: a G.711 mu-law 8 kHz tone, cut in the documents' 240-byte blocks.

Seeds 001/002: "Each block of coded audio data is 240 byte"; audio/basic is G.711 mu-law at 8 kHz,
so a block is 30 ms of sound. One second of tone is encoded once and looped; a tone whose frequency
divides 8000 Hz loops without a click.
"""

from __future__ import annotations

import functools
import math

RATE = 8000
BLOCK = 240  # bytes per block (seeds 001/002)
MIME = {"mulaw": "audio/basic"}


def mulaw_byte(sample: int) -> int:
    """One 16-bit linear sample -> one G.711 mu-law byte."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, 32635) + 0x84
    exponent = min(7, max(0, magnitude.bit_length() - 8))
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


@functools.lru_cache(maxsize=8)
def tone(hz: int = 1000, seconds: int = 1, amplitude: float = 0.3) -> bytes:
    """`seconds` of a sine tone at `hz`, mu-law coded (a whole number of blocks)."""
    n = RATE * seconds
    n -= n % BLOCK
    peak = amplitude * 32767
    return bytes(mulaw_byte(round(peak * math.sin(2 * math.pi * hz * i / RATE))) for i in range(n))


def blocks(data: bytes) -> list[bytes]:
    return [data[i : i + BLOCK] for i in range(0, len(data), BLOCK)]
