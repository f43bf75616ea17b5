"""Audio framing and codec descriptions; ffmpeg decodes what the descriptions say."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from recorderd.protocol.audio import (
    AudioData,
    MultipartAudioReader,
    SinglepartAudioReader,
    codec_for_mime,
    open_audio_reader,
)
from recorderd.protocol.errors import ProtocolError
from recorderd.protocol.multipart import PartDropped, Truncated


def test_mime_mapping() -> None:
    mu = codec_for_mime("audio/basic")
    g32 = codec_for_mime("Audio/32KADPCM")
    g24 = codec_for_mime("audio/G723; rate=8000")
    assert mu is not None and g32 is not None and g24 is not None
    assert (mu.codec, mu.sample_rate, mu.bits_per_sample, mu.bitrate) == ("mulaw", 8000, 8, 64000)
    assert (g32.codec, g32.bits_per_sample, g32.bitrate, g32.samples_per_block) == ("g726", 4, 32000, 480)
    assert (g24.codec, g24.bits_per_sample, g24.bitrate, g24.samples_per_block) == ("g726", 3, 24000, 640)
    assert mu.block_size == 240 and mu.duration_ns(240) == 30_000_000 and g24.duration_ns(240) == 80_000_000
    assert mu.matroska_codec_id == "A_MS/ACM" and mu.wave_format_tag == 7 and g32.wave_format_tag == 0x45
    assert codec_for_mime("audio/aac") is None


def test_singlepart_whole_blocks_any_chunking() -> None:
    mu = codec_for_mime("audio/basic")
    assert mu is not None
    body = bytes(range(256)) * 4 + b"xyz"  # 4 blocks + 67 bytes
    for size in (1, 7, 240, 241, 5000):
        r = SinglepartAudioReader(mu)
        out = []
        for i in range(0, len(body), size):
            out += r.feed(body[i : i + size])
        assert all(isinstance(e, AudioData) and len(e.data) % 240 == 0 for e in out)
        assert b"".join(e.data for e in out if isinstance(e, AudioData)) == body[:960]
        assert r.close() == [Truncated(len(body) - 960)]


def test_multipart_audio_vapix_example() -> None:
    block = bytes((i * 7) % 256 for i in range(240)).replace(b"\n", b"\x00")
    data = b"--myboundary\r\nContent-Type: audio/32KADPCM\r\n\r\n" + block + b"\r\n"
    data += b"--myboundary\r\nContent-Type: audio/32KADPCM\r\n" + block + b"\r\n"  # no blank line
    data += b"--myboundary\r\nContent-Type: video/mp4\r\n\r\nnope\r\n"
    data += b"--myboundary\r\n\r\n" + block + b"\r\n--myboundary\r\n"  # no type: previous codec
    r = open_audio_reader("multipart/x-mixed-replace; boundary=--myboundary")
    assert isinstance(r, MultipartAudioReader)
    events = [e for i in range(len(data)) for e in r.feed(data[i : i + 1])] + r.close()
    audio = [e for e in events if isinstance(e, AudioData)]
    assert [e.data for e in audio] == [block] * 3
    assert all(e.codec.bits_per_sample == 4 for e in audio)
    assert [e for e in events if isinstance(e, PartDropped)] == [
        PartDropped("not a known audio type: video/mp4", 4)
    ]


def test_open_audio_reader_singlepart_and_unknown() -> None:
    r = open_audio_reader("audio/G723")
    assert isinstance(r, SinglepartAudioReader) and r.codec.bits_per_sample == 3
    with pytest.raises(ProtocolError):
        open_audio_reader("text/html")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
@pytest.mark.parametrize("mime", ["audio/basic", "audio/32KADPCM", "audio/G723"])
def test_ffmpeg_reads_the_described_stream(mime: str, tmp_path: Path) -> None:
    codec = codec_for_mime(mime)
    assert codec is not None
    raw = tmp_path / "in.raw"
    raw.write_bytes(bytes((i * 37) % 256 for i in range(240 * 100)))  # 100 blocks
    wav = tmp_path / "out.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *codec.ffmpeg_input_args(), "-i", str(raw), str(wav)],
        check=True,
        timeout=60,
    )
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(wav)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    stream = json.loads(probe.stdout)["streams"][0]
    assert int(stream["sample_rate"]) == 8000 and int(stream["channels"]) == 1
    # 100 blocks of 240 bytes: mu-law 3 s, G.726-32 6 s, G.726-24 8 s
    assert float(stream["duration"]) == pytest.approx(codec.duration_ns(24000) / 1e9, abs=0.01)
