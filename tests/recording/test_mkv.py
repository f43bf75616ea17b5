"""Our Matroska files, checked with ffprobe/ffmpeg: streams, durations, byte-identical frames, crashes."""

from __future__ import annotations

import hashlib
import mmap
import os
from pathlib import Path

import pytest

from recorderd.recording import ebml
from recorderd.recording.frames import AudioFormat
from recorderd.recording.mkv import MkvError, MkvFile, Muxer, jpeg_size, read_file, repair, scan_file
from recorderd.recording.mkv.fileio import HEAD_KEPT
from tests.support.ffprobe import decode_errors as ffmpeg_decodes
from tests.support.ffprobe import ffprobe
from tests.support.ffprobe import packet_md5s as ffmpeg_packet_md5s
from tests.support.pagecache import drops_on_advice, resident
from tests.support.synth import mulaw_block, real_axis_jpegs

ORIGIN = 1_750_000_000.25
MULAW = AudioFormat()


def write(
    path: Path,
    jpegs: list[bytes],
    seconds: float,
    *,
    audio: AudioFormat | None = MULAW,
    fps: int = 25,
    finish: bool = True,
) -> tuple[MkvFile, list[bytes], list[bytes]]:
    """A file of `seconds` of video (and 30 ms audio blocks), timed as a camera's would be."""
    mux = Muxer(origin_wall=ORIGIN, audio=audio, tags={"camera": "front", "reason": "motion"})
    f = MkvFile(path, mux)
    video, sound = [], []
    block = 240 if audio is None or audio.codec != "g726" else audio.bits * 30
    n_audio = 0
    for i in range(int(seconds * fps)):
        ts = i * 1000 // fps
        while audio is not None and n_audio * 30 <= ts:
            data = mulaw_block(n_audio, block)
            sound.append(data)
            if chunk := mux.add_audio(n_audio * 30 + 3.7, data):  # arrival a little late
                f.write(chunk)
            n_audio += 1
        data = jpegs[i % len(jpegs)]
        video.append(data)
        if chunk := mux.add_video(ts, data):
            f.write(chunk)
    if finish:
        f.finish({"camera": "front", "reason": "motion", "incident": "inc-1"})
        f.close()
    return f, video, sound


def md5s(frames: list[bytes]) -> list[str]:
    return [hashlib.md5(d).hexdigest() for d in frames]


def test_mulaw_file_reads_back(tmp_path: Path, jpegs: list[bytes]) -> None:
    p = tmp_path / "a.mkv"
    _, video, sound = write(p, jpegs, 10.0)
    info = ffprobe(p)
    v, a = info["streams"]
    assert v["codec_name"] == "mjpeg" and (v["width"], v["height"]) == (160, 120)
    assert a["codec_name"] == "pcm_mulaw" and a["sample_rate"] == "8000" and a["channels"] == 1
    assert int(v["nb_read_packets"]) == 250 and int(a["nb_read_packets"]) == len(sound) == 333
    assert abs(float(info["format"]["duration"]) - 10.0) < 0.002
    assert info["format"]["tags"]["CAMERA"] == "front" and info["format"]["tags"]["INCIDENT"] == "inc-1"
    assert info["format"]["tags"]["creation_time"].startswith("2025-06-15T15:06:40.250")
    # every frame byte-identical, in order, as ffmpeg demuxes them and as we read them back
    assert ffmpeg_packet_md5s(p, "v") == md5s(video)
    assert ffmpeg_packet_md5s(p, "a") == md5s(sound)
    assert ffmpeg_decodes(p) == ""
    s, blocks = read_file(p)
    assert s.complete and s.video_frames == 250 and s.tags["incident"] == "inc-1"
    assert [b.data for b in blocks if b.track == 1] == video
    assert [b.ts for b in blocks if b.track == 1][:3] == [0, 40, 80]
    ts = [b.ts for b in blocks]
    assert ts == sorted(ts)  # interleaved in time
    assert abs(s.origin_wall - ORIGIN) < 1e-6
    # every cluster spans under one second
    raw = p.read_bytes()
    assert len(s.clusters) == 10
    for pos, _end in s.clusters:
        cluster = ebml.read_element(raw, pos)
        rels = [
            int.from_bytes(raw[el.data + 1 : el.data + 3], "big", signed=True)
            for el in ebml.children(raw, cluster.data, cluster.end)
            if el.id == 0xA3
        ]
        assert min(rels) == 0 and max(rels) < 1000


def test_g726_and_video_only(tmp_path: Path, jpegs: list[bytes]) -> None:
    p = tmp_path / "g726.mkv"
    write(p, jpegs, 3.0, audio=AudioFormat(codec="g726", bits=4))
    info = ffprobe(p)
    assert info["streams"][1]["codec_name"] == "adpcm_g726"
    assert abs(float(info["format"]["duration"]) - 3.0) < 0.05
    assert ffmpeg_decodes(p) == ""
    q = tmp_path / "video.mkv"
    write(q, jpegs, 2.0, audio=None)
    info = ffprobe(q)
    assert [s["codec_type"] for s in info["streams"]] == ["video"]
    assert abs(float(info["format"]["duration"]) - 2.0) < 0.001


def test_real_axis_frames_pass_through(tmp_path: Path) -> None:
    frames = real_axis_jpegs()
    assert len(frames) >= 9 and jpeg_size(frames[0]) == (320, 240)
    p = tmp_path / "axis.mkv"
    _, video, _ = write(p, frames, 2.0, audio=None, fps=5)
    assert ffmpeg_packet_md5s(p) == md5s(video)
    assert ffprobe(p)["streams"][0]["width"] == 320


def test_playable_while_written(tmp_path: Path, jpegs: list[bytes]) -> None:
    p = tmp_path / "live.mkv"
    f, _, _ = write(p, jpegs, 5.0, finish=False)
    os.fsync(f.fd)
    info = ffprobe(p)  # Segment of unknown size, no Duration, no Cues yet
    assert int(info["streams"][0]["nb_read_packets"]) == f.muxer.video_frames >= 100
    assert not scan_file(p).complete
    f.finish()
    f.close()
    assert scan_file(p).complete and scan_file(p).video_frames == 125


@pytest.mark.parametrize("cut", [0.999, 0.9, 0.5, 0.3])
def test_repair_after_a_torn_write(tmp_path: Path, jpegs: list[bytes], cut: float) -> None:
    p = tmp_path / "torn.mkv"
    f, video, _ = write(p, jpegs, 6.0, finish=False)
    f.close()
    size = p.stat().st_size
    os.truncate(p, int(size * cut))  # a crash mid-cluster
    before = scan_file(p)
    assert not before.complete
    s = repair(p)
    assert s.complete and s.size == p.stat().st_size
    assert s.video_frames == before.video_frames > 0
    info = ffprobe(p)
    assert int(info["streams"][0]["nb_read_packets"]) == s.video_frames
    assert abs(float(info["format"]["duration"]) * 1000 - s.duration_ms) < 1.5
    assert ffmpeg_packet_md5s(p) == md5s(video[: s.video_frames])
    assert ffmpeg_decodes(p) == ""
    assert repair(p).size == s.size  # idempotent


def test_repair_of_a_half_finished_close(tmp_path: Path, jpegs: list[bytes]) -> None:
    # the trailer appended but the patches never made: redone from the last whole cluster
    p = tmp_path / "half.mkv"
    f, _, _ = write(p, jpegs, 3.0, finish=False)
    tail, _patches = f.muxer.finish()
    f.write(tail)
    f.close()
    assert not scan_file(p).complete
    s = repair(p)
    assert s.complete and s.video_frames == 75 and ffprobe(p)["format"]["duration"].startswith("3.0")


def test_repair_refuses_a_file_without_header(tmp_path: Path) -> None:
    p = tmp_path / "junk.mkv"
    p.write_bytes(b"\x1a\x45\xdf\xa3")
    with pytest.raises(MkvError):
        repair(p)
    p.write_bytes(b"")
    with pytest.raises(MkvError):
        repair(p)


def test_ebml_vints() -> None:
    for n in (0, 1, 126, 127, 128, 16382, 16383, 2**30, 2**56 - 2):
        raw = ebml.size_vint(n)
        assert ebml.read_size(raw, 0) == (n, len(raw))
    assert ebml.read_size(ebml.size_vint(ebml.UNKNOWN_SIZE), 0)[0] == ebml.UNKNOWN_SIZE
    assert ebml.size_vint(5, 8) == b"\x01\x00\x00\x00\x00\x00\x00\x05"
    for total in (2, 3, 128, 129, 130, 1000):
        v = ebml.void(total)
        el = ebml.read_element(v, 0)
        assert len(v) == total and el.end == total and el.id == 0xEC


def test_fsynced_video_leaves_the_page_cache(tmp_path: Path, jpegs: list[bytes]) -> None:
    """Once on disk, written video goes back to the kernel (a recorder must not fill the page cache),
    except the header that finish() patches and a partly written last page the next append needs."""
    if not drops_on_advice(tmp_path):
        pytest.skip(f"{tmp_path}: this filesystem keeps fsynced pages on POSIX_FADV_DONTNEED")
    p = tmp_path / "live.mkv"
    f, _, _ = write(p, jpegs, 8.0, finish=False)
    head = HEAD_KEPT // mmap.PAGESIZE
    before = resident(p)
    assert len(before) > head + 16 and all(before)  # the check sees the cache at all
    f.sync()
    after = resident(p)
    assert all(after[:head])
    tail_partial = f.written % mmap.PAGESIZE != 0
    middle = after[head : len(after) - 1 if tail_partial else len(after)]
    assert middle and not any(middle)
    if tail_partial:
        assert after[-1]
    f.finish({"camera": "front"})
    f.close()
    assert not any(resident(p))
    assert scan_file(p).complete and scan_file(p).video_frames == 200
