"""The live fan-out's bounds and the PCM decoders (against ffmpeg's)."""

from __future__ import annotations

import array
import math
import subprocess
from pathlib import Path

import pytest
import trio

from recorderd.cameras.live import LiveFeed, TooManyViewers
from recorderd.recording.frames import AudioFormat
from recorderd.recording.pcm import G726Decoder, PcmDecoder


async def test_a_slow_viewer_skips_frames_and_holds_one() -> None:
    feed = LiveFeed(max_viewers=3)
    fast, slow = feed.open(), feed.open()
    got: list[bytes] = []
    for i in range(100):
        feed.publish(b"%d" % i)
        got.append(await fast.next())  # keeps up: every frame, in order
    assert got == [b"%d" % i for i in range(100)]
    assert await slow.next() == b"99" and slow.skipped == 99  # never read: only the newest was kept
    third = feed.open()
    with pytest.raises(TooManyViewers):
        feed.open()
    third.close()
    feed.open()  # a closed viewer frees its place
    slow.close()
    fast.close()
    assert len(feed.viewers) == 1


async def test_next_waits_for_a_frame() -> None:
    feed = LiveFeed()
    v = feed.open()

    async def later() -> None:
        await trio.sleep(0.01)
        feed.publish(b"x")

    async with trio.open_nursery() as n:
        n.start_soon(later)
        with trio.fail_after(1):
            assert await v.next() == b"x"


def _ffmpeg(args: list[str], data: bytes) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-v", "error", *args], input=data, capture_output=True, check=True
    ).stdout


def _snr(ref: array.array[int], x: array.array[int]) -> float:
    n = min(len(ref), len(x))
    err = sum((ref[i] - x[i]) ** 2 for i in range(n))
    return 10 * math.log10(sum(v * v for v in ref[:n]) / max(err, 1))


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _ffmpeg(
        ["-f", "lavfi", "-i", "sine=frequency=700:sample_rate=8000:duration=1", "-f", "s16le", "-"], b""
    )


@pytest.mark.parametrize("codec", ["mulaw", "alaw"])
def test_g711_decodes_as_ffmpeg_does(tone: bytes, codec: str) -> None:
    coded = _ffmpeg(["-f", "s16le", "-ar", "8000", "-i", "-", "-f", codec, "-"], tone)
    want = _ffmpeg(["-f", codec, "-ar", "8000", "-i", "-", "-f", "s16le", "-"], coded)
    assert PcmDecoder(AudioFormat(codec=codec)).decode(coded) == want  # type: ignore[arg-type]


@pytest.mark.parametrize("bits", [2, 3, 4, 5])
def test_g726_decodes_the_tone_as_well_as_ffmpeg(tone: bytes, bits: int, tmp_path: Path) -> None:
    coded = _ffmpeg(
        ["-f", "s16le", "-ar", "8000", "-i", "-", "-c:a", "g726", "-b:a", f"{8 * bits}k", "-f", "g726", "-"],
        tone,
    )
    ff = array.array(
        "h",
        _ffmpeg(["-f", "g726", "-code_size", str(bits), "-ar", "8000", "-i", "-", "-f", "s16le", "-"], coded),
    )
    ref = array.array("h", tone)
    # fed in uneven pieces: a code split across two calls is kept for the next
    dec = G726Decoder(bits)
    ours = array.array("h", b"".join(dec.decode(coded[i : i + 7]) for i in range(0, len(coded), 7)))
    assert len(ours) == len(ff)
    assert _snr(ref, ours) > _snr(ref, ff) - 3.0, (_snr(ref, ours), _snr(ref, ff))
