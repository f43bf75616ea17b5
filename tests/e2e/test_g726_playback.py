"""G.726-32 from a camera plays back as what it carried: simulator tone → daemon → Matroska → ffmpeg.

The recorder passes the coded bytes through and labels them WAVE 0x45; this holds only if camera,
protocol core and recorder agree on the nibble order (AAL2, first code in the high nibble). With
the other order the tone decodes to noise (docs/recording.md), so the SNR bound below catches a mismatch.
"""

from __future__ import annotations

import math
import struct
import subprocess
from pathlib import Path

from tests.support.e2eharness import E2E
from tests.support.ffprobe import ffprobe
from tests.support.simharness import rig
from tests.support.wait import wait_until

TONE_HZ = 1000


def _tone_snr_db(pcm: bytes, rate: int = 8000) -> float:
    """Power at the tone's frequency (Goertzel) against the rest, over whole tone periods."""
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm[: len(pcm) // 2 * 2])
    n = len(samples) - len(samples) % (rate // TONE_HZ)
    x = samples[:n]
    w = 2 * math.pi * TONE_HZ / rate
    s1 = s2 = 0.0
    coeff = 2 * math.cos(w)
    for v in x:
        s1, s2 = v + coeff * s1 - s2, s1
    tone = (s1 * s1 + s2 * s2 - coeff * s1 * s2) * 2 / n  # mean power of the tone component
    total = sum(v * v for v in x) / n
    return 10 * math.log10(tone / max(total - tone, 1e-9))


async def test_g726_recording_decodes_to_the_tone(tmp_path: Path) -> None:
    sims = {"cam": {"dialect": "vapix", "fps": 5.0, "audio": "g726", "tone_hz": TONE_HZ}}
    cams = {"cam": {"triggers": ["motion"], "audio": True, "record": {"mode": "continuous", "segment": "2s"}}}
    async with rig(tmp_path, sims, cams, **E2E) as r:
        index = r.daemon.index
        assert index is not None

        # the first segment ends at the next 2 s wall-clock mark and may be short: take the second
        def complete() -> list[str]:
            return [str(row.path) for row in index.list_recordings("cam") if row.complete]

        await wait_until(lambda: len(complete()) >= 2, 30, "two closed segments", 0.1)
        path = complete()[1]
    codecs = [st["codec_name"] for st in ffprobe(Path(path))["streams"] if st["codec_type"] == "audio"]
    assert codecs == ["adpcm_g726"], codecs
    pcm = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:a",
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            "8000",
            "-",
        ],
        capture_output=True,
        timeout=60,
    ).stdout
    assert len(pcm) >= 8000  # at least half a second of audio
    snr = _tone_snr_db(pcm[1600:])  # skip the codec's first 100 ms of adaptation
    assert snr > 15, f"tone SNR {snr:.1f} dB: the G.726 nibble order does not match"
