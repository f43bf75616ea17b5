"""A stop right after frames were sent: every frame the engine sent is in the file (ffmpeg judges)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import trio
import trio.testing

from recorderd.config.model import RecordConfig
from recorderd.recording.frames import AudioFormat, Frame, RecorderInput
from recorderd.recording.index import Index
from recorderd.recording.layout import recordings_root
from recorderd.recording.recorder import CameraRecorder
from tests.support.ffprobe import packet_md5s
from tests.support.synth import mulaw_block

WALL0 = 1_750_003_200.0


def md5s(frames: list[Frame], kind: str) -> list[str]:
    return [hashlib.md5(f.data).hexdigest() for f in frames if f.kind == kind]


@pytest.mark.parametrize("stop", ["cancel", "close"])
async def test_stop_right_after_frames_keeps_them(tmp_path: Path, jpegs: list[bytes], stop: str) -> None:
    # real time: the recorder must be found waiting between two wake-ups, which virtual time (the
    # clock jumps while a worker thread runs) does not let a test arrange
    index = Index.open(tmp_path)
    rec = CameraRecorder(
        "front",
        RecordConfig(mode="continuous", segment="60s"),
        root=recordings_root(tmp_path),
        index=index,
        zone=ZoneInfo("UTC"),
        audio=AudioFormat(),
    )
    send, recv = trio.open_memory_channel[RecorderInput](512)
    t0 = trio.current_time()
    fed: list[Frame] = []

    def frame(i: int, kind: str, mono: float) -> None:
        data = jpegs[i % len(jpegs)] if kind == "video" else mulaw_block(i)
        f = Frame(data, kind, mono, WALL0 + mono - t0)  # type: ignore[arg-type]
        send.send_nowait(f)
        fed.append(f)

    with trio.fail_after(30):
        async with trio.open_nursery() as n:
            await n.start(rec.run, recv)
            for i in range(10):  # 1 s at 10 fps, with the recorder keeping up
                frame(i, "video", trio.current_time())
                frame(i, "audio", trio.current_time() + 0.001)
                await trio.sleep(0.1)
            await trio.testing.wait_all_tasks_blocked(0.02)  # the recorder waits for its next wake-up
            # then a burst it has not seen yet, and the stop (no checkpoint in between)
            now = trio.current_time()
            for i in range(10, 20):
                frame(i, "video", now + (i - 10) * 0.01)
            if stop == "cancel":
                n.cancel_scope.cancel()  # what a stop timeout or the daemon's teardown does
            else:
                send.close()
    assert rec.done.is_set()
    (path,) = rec.closed
    assert packet_md5s(path, "v") == md5s(fed, "video")  # the burst's last frame included
    assert packet_md5s(path, "a") == md5s(fed, "audio")
    (row,) = index.list_recordings()
    assert row.path == path and row.complete and row.frames == 20
    index.close()
