#!/usr/bin/env python3
"""The recorder's CPU per frame when frames arrive at camera rate (not queued up front).

    python bench/bench_recorder_rate.py -n 50

bench/bench_recording.py (the recorder's own benchmark) queues all frames before the recorder runs,
so every wake-up finds hundreds of frames. In the daemon, frames come one at a time at 10 fps per
camera, and each CameraRecorder wakes when its channel has a message: one wake-up per frame. This script
feeds N CameraRecorders (RecordingService's setup: one Index, one Storage, real files under a
temporary directory) from one trio task at --fps each, with ~22 KB JPEGs, and measures the process
CPU (getrusage: main thread and worker threads) per frame over the window, against the same feeder
with the recorders replaced by a null consumer (the feeder's own cost, subtracted).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: the shared synthetic input

import benchlib as bl
import trio


async def run(n: int, args: argparse.Namespace, record: bool, root: Path) -> dict[str, Any]:
    from recorderd.config.model import RecordConfig
    from recorderd.recording.frames import Frame, RecorderInput
    from recorderd.recording.index import Index
    from recorderd.recording.layout import recordings_root
    from recorderd.recording.recorder import CameraRecorder
    from tests.support.synth import make_jpegs

    jpegs = make_jpegs(10, (640, 480), quality=80, noise=0.06)
    index = Index.open(root)
    sends: list[trio.MemorySendChannel[RecorderInput]] = []
    recvs: list[trio.MemoryReceiveChannel[RecorderInput]] = []
    for _ in range(n):
        s, r = trio.open_memory_channel[RecorderInput](512)
        sends.append(s)
        recvs.append(r)
    period = 1.0 / args.fps
    sent = [0]

    async def feeder() -> None:
        # one frame per camera per period, spread over the period like unsynchronised cameras
        t = trio.current_time()
        i = 0
        while True:
            for k, s in enumerate(sends):
                await trio.sleep_until(t + period * k / n)
                now = trio.current_time()
                s.send_nowait(Frame(jpegs[i % len(jpegs)], "video", now, time.time()))
                sent[0] += 1
                if not record:
                    recvs[k].receive_nowait()  # the null consumer
            i += 1
            t += period

    async with trio.open_nursery() as nursery:
        if record:
            for k in range(n):
                rec = CameraRecorder(
                    f"c{k:04d}",
                    RecordConfig(mode="continuous", segment="60s"),
                    root=recordings_root(root),
                    index=index,
                    zone=ZoneInfo("UTC"),
                )
                await nursery.start(rec.run, recvs[k])
        nursery.start_soon(feeder)
        await trio.sleep(args.warmup)
        f0, r0, t0 = sent[0], resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        await trio.sleep(args.seconds)
        f1, r1, t1 = sent[0], resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        nursery.cancel_scope.cancel()
    index.close()
    frames = f1 - f0
    return {
        "n": n,
        "record": record,
        "frames": frames,
        "seconds": round(t1 - t0, 2),
        "user_us": (r1.ru_utime - r0.ru_utime) / frames * 1e6,
        "sys_us": (r1.ru_stime - r0.ru_stime) / frames * 1e6,
        "ctx_per_frame": ((r1.ru_nvcsw + r1.ru_nivcsw) - (r0.ru_nvcsw + r0.ru_nivcsw)) / frames,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--cameras", type=int, default=50)
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--json", type=Path, help="results file (default bench/results/recorder_rate.json)")
    args = ap.parse_args()
    rows = []
    for record in (False, True):
        tmp = Path(tempfile.mkdtemp(prefix="bench-rec-"))
        try:
            rows.append(trio.run(run, args.cameras, args, record, tmp))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    base, rec = rows
    rec["recorder_us_per_frame"] = round(rec["user_us"] + rec["sys_us"] - base["user_us"] - base["sys_us"], 1)
    for r in rows:
        r["user_us"], r["sys_us"], r["ctx_per_frame"] = (
            round(r["user_us"], 1),
            round(r["sys_us"], 1),
            round(r["ctx_per_frame"], 2),
        )
    cols = ["n", "record", "user_us", "sys_us", "ctx_per_frame", "recorder_us_per_frame"]
    print(bl.table(rows, cols, title=f"recorder at {args.fps:g} fps per camera, CPU per frame"))
    print(f"load average {bl.loadavg()}")
    print(f"JSON: {bl.write_results('recorder_rate', rows, args.json)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
