"""Benchmark of the recorder's write path: CPU microseconds per ~22 KB frame (25 fps + mu-law audio).

    python bench/bench_recording.py [--seconds 120] [--repeat 5]

Stages, each over --seconds of a camera (25 fps of 640x480 ~22 KB JPEGs and a 240-byte audio
block every 30 ms), best of --repeat runs of time.process_time (the machine is shared):
  machine   the pure state machine (continuous mode: a decision per frame)
  muxer     machine + Matroska muxing in memory (cluster bytes built with one join)
  file      machine + muxer + one os.write per cluster to a real file, closed with Cues
  trio      the whole CameraRecorder: frames taken from a trio memory channel (queued up front: the
            sender's cost is the engine's), files and index rows in worker threads
The budget: 50 us CPU per frame end to end for the whole daemon, so a few us here.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: the shared synthetic input

import trio

from recorderd.config.model import RecordConfig
from recorderd.recording.frames import AudioFormat, Frame, RecorderInput
from recorderd.recording.index import Index
from recorderd.recording.layout import recordings_root
from recorderd.recording.machine import Open, RecordMachine, Write
from recorderd.recording.mkv import MkvFile, Muxer
from recorderd.recording.recorder import CameraRecorder
from tests.support.synth import make_jpegs, mulaw_block

WALL0 = 1_750_003_200.0


def frames_for(seconds: float) -> list[Frame]:
    jpegs = make_jpegs(25, (640, 480), quality=80, noise=0.06)
    out = []
    n_audio = 0
    for i in range(int(seconds * 25)):
        t = i * 0.04
        while n_audio * 0.03 <= t:
            out.append(Frame(mulaw_block(n_audio), "audio", n_audio * 0.03, WALL0 + n_audio * 0.03))
            n_audio += 1
        out.append(Frame(jpegs[i % 25], "video", t, WALL0 + t))
    return out


def run_sync(frames: list[Frame], stage: str, tmp: Path) -> None:
    m = RecordMachine("continuous", segment=60.0, zone=ZoneInfo("Europe/Berlin"))
    mux: Muxer | None = None
    f: MkvFile | None = None
    origin = 0.0
    n = 0
    for fr in frames:
        for a in m.frame(fr):
            if stage == "machine":
                continue
            if type(a) is Write:
                assert mux is not None
                ms = (a.frame.mono - origin) * 1000.0
                chunk = (
                    mux.add_video(round(ms), a.frame.data)
                    if a.frame.kind == "video"
                    else mux.add_audio(ms, a.frame.data)
                )
                if chunk and f is not None:
                    f.write(chunk)
            elif type(a) is Open:
                if f is not None:
                    f.finish()
                    f.close()
                origin = a.first.mono
                mux = Muxer(origin_wall=a.first.wall, audio=AudioFormat(), tags={"camera": "bench"})
                if stage == "file":
                    n += 1
                    f = MkvFile(tmp / f"{n}.mkv", mux)
    if f is not None:
        f.finish()
        f.close()


async def run_trio(frames: list[Frame], tmp: Path) -> None:
    index = Index.open(tmp)
    rec = CameraRecorder(
        "bench", RecordConfig(mode="continuous", segment="60s"), root=recordings_root(tmp), index=index,
        zone=ZoneInfo("Europe/Berlin"), audio=AudioFormat(),
    )  # fmt: skip
    # the engine's side (send_nowait per frame) is the engine's cost: queue everything up front
    send, recv = trio.open_memory_channel[RecorderInput](len(frames) + 1)
    for fr in frames:
        send.send_nowait(fr)
    send.close()
    async with trio.open_nursery() as n:
        await n.start(rec.run, recv)
    index.close()


def best(fn: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    frames = frames_for(args.seconds)
    video = sum(1 for f in frames if f.kind == "video")
    size = sum(len(f.data) for f in frames if f.kind == "video") / video
    print(f"{video} video frames of {size / 1000:.1f} KB on average, {len(frames) - video} audio blocks")
    for stage in ("machine", "muxer", "file", "trio"):

        def one(stage: str = stage) -> None:
            with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as d:
                if stage == "trio":
                    trio.run(run_trio, frames, Path(d))
                else:
                    run_sync(frames, stage, Path(d))

        cpu = best(one, args.repeat)
        print(f"{stage:8s} {cpu / video * 1e6:7.2f} us CPU per video frame (audio included)  {cpu:.3f} s")


if __name__ == "__main__":
    main()
