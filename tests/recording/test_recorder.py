"""CameraRecorder in trio (virtual time): event clips and continuous segments on disk, checked with ffprobe."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import trio
import trio.testing

from recorderd.config.model import RecordConfig
from recorderd.recording.frames import AudioFormat, Frame, RecorderInput
from recorderd.recording.index import Index
from recorderd.recording.layout import recordings_root
from recorderd.recording.mkv import read_file
from recorderd.recording.recorder import CameraRecorder
from tests.support.ffprobe import ffprobe, packet_md5s
from tests.support.synth import Scripted, feed_camera

BERLIN = ZoneInfo("Europe/Berlin")
WALL0 = 1_750_003_200.0  # a whole hour (UTC and Berlin)


def md5s(frames: list[Frame], kind: str = "video") -> list[str]:
    return [hashlib.md5(f.data).hexdigest() for f in frames if f.kind == kind]


async def record(
    tmp_path: Path, cfg: RecordConfig, jpegs: list[bytes], seconds: float, **feed: object
) -> tuple[CameraRecorder, list[Frame], Index, float]:
    index = Index.open(tmp_path)
    rec = CameraRecorder(
        "front", cfg, root=recordings_root(tmp_path), index=index, zone=BERLIN, audio=AudioFormat()
    )
    send, recv = trio.open_memory_channel[RecorderInput](1000)
    t0 = trio.current_time()
    async with trio.open_nursery() as n:
        await n.start(rec.run, recv)
        async with send:
            frames = await feed_camera(
                send,
                seconds=seconds,
                jpegs=jpegs,
                wall_of=lambda m: WALL0 + m - t0,
                **feed,  # type: ignore[arg-type]
            )
    return rec, frames, index, t0


async def test_event_clip_pre_post_identical_frames(
    tmp_path: Path, jpegs: list[bytes], autojump_clock: trio.testing.MockClock
) -> None:
    cfg = RecordConfig(mode="event", pre="5s", post="10s")
    rec, frames, index, t0 = await record(
        tmp_path, cfg, jpegs, 40, incidents=[Scripted(12, 17, "inc-1"), Scripted(25, 26, "inc-2", "input:1")]
    )
    (path,) = rec.closed  # inc-2 started in post-time: the same clip, extended
    assert path.parent == recordings_root(tmp_path) / "front/2025-06-15"
    assert path.name == "180007-motion.mkv"  # Berlin time of the first frame (7 s in)
    # from the video frame 5 s before the trigger to the first one 10 s after the last end, all between
    first = next(i for i, f in enumerate(frames) if f.kind == "video" and f.mono - t0 >= 7)
    last = next(i for i, f in enumerate(frames) if f.kind == "video" and f.mono - t0 >= 36)
    clip = frames[first : last + 1]
    assert (clip[0].mono - t0, clip[-1].mono - t0) == (7.0, 36.0)
    info = ffprobe(path)
    v, a = info["streams"]
    assert (v["codec_name"], a["codec_name"]) == ("mjpeg", "pcm_mulaw")
    assert int(v["nb_read_packets"]) == 29 * 25 + 1
    assert abs(float(info["format"]["duration"]) - 29.04) < 0.05
    assert info["format"]["tags"]["INCIDENT"] == "inc-1,inc-2"
    assert info["format"]["tags"]["TRIGGER"] == "motion,input:1"
    assert packet_md5s(path, "v") == md5s(clip)
    assert packet_md5s(path, "a") == md5s(clip, "audio")
    (row,) = index.list_recordings()
    assert row.path == path and row.complete and row.frames == 726 and row.incident == "inc-1"
    assert row.start == datetime.fromtimestamp(clip[0].wall, BERLIN)
    assert row.start.isoformat() == "2025-06-15T18:00:07+02:00"
    assert row.end is not None and abs((row.end - row.start).total_seconds() - 29.04) < 0.05
    assert row.bytes == path.stat().st_size and not list(path.parent.glob("*.part"))


async def test_continuous_five_segments_lose_nothing(
    tmp_path: Path, jpegs: list[bytes], autojump_clock: trio.testing.MockClock
) -> None:
    cfg = RecordConfig(mode="continuous", segment="10s")  # 60 s works the same, only slower here
    rec, frames, index, _ = await record(tmp_path, cfg, jpegs, 50)
    assert len(rec.closed) == 5
    rows = index.list_recordings()
    assert [r.path for r in rows] == list(rec.closed) and all(r.complete for r in rows)
    assert [r.path.name for r in rows] == [f"1800{m}0-continuous.mkv" for m in range(5)]
    video, audio, ends = [], [], []
    for r in rows:
        s, blocks = read_file(r.path)
        assert s.complete and r.frames == s.video_frames == 250
        video += [b.data for b in blocks if b.track == 1]
        audio += [b.data for b in blocks if b.track == 2]
        first_wall = s.origin_wall
        ends.append((first_wall, first_wall + [b.ts for b in blocks if b.track == 1][-1] / 1000))
        assert first_wall % 10 == 0  # cut on the wall clock
        assert int(ffprobe(r.path)["streams"][0]["nb_read_packets"]) == 250
    assert video == [f.data for f in frames if f.kind == "video"]  # no gap, no overlap, in order
    assert audio == [f.data for f in frames if f.kind == "audio"]
    for (_, last), (nxt, _) in itertools.pairwise(ends):
        assert abs(nxt - last - 0.04) < 1e-6  # the next file starts one frame interval later


async def test_privacy_suppresses_recording(
    tmp_path: Path, jpegs: list[bytes], autojump_clock: trio.testing.MockClock
) -> None:
    cfg = RecordConfig(mode="continuous", segment="60s")
    rec, frames, index, t0 = await record(tmp_path, cfg, jpegs, 30, privacy=[(10, 20)])
    assert len(rec.closed) == 2
    recorded = [b.data for p in rec.closed for b in read_file(p)[1] if b.track == 1]
    assert recorded == [f.data for f in frames if f.kind == "video" and not t0 + 10 <= f.mono < t0 + 20]
    assert len(index.list_recordings()) == 2
