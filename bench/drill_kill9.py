"""Drill: kill -9 a process that records, over and over; nothing recorded may be lost or unreadable.

    python bench/drill_kill9.py [--runs 100] [--dir DIR] [--seed 1]

Each run starts `python -m tests.support.feeder` (the real RecordingService with one
CameraRecorder, fed 25 fps JPEGs and mu-law audio in real time; modes alternate between continuous
5 s segments and event clips with an incident every 2 s), waits for READY (its start-up recovery
done), lets it record for a random 0.5 to 6 s, and sends SIGKILL. Then:
  - every cut-off .part file with a whole cluster must be read by ffprobe, at least up to its last
    whole cluster (packets >= the video frames our scan finds);
  - odd runs: we run recovery ourselves and check index == files at once (scan only);
    even runs: the next run's own start-up recovery must do it (checked after the next kill).
At the end: recovery, then the full check with ffprobe of every file. Exit 1 on any problem.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: the shared synthetic input

from recorderd.recording.index import Index
from recorderd.recording.layout import recordings_root
from recorderd.recording.recovery import recover
from tests.support.ffprobe import check_recordings
from tests.support.kill9 import check_cut, kill_feeder


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--dir", type=Path, default=None)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    rng = random.Random(args.seed)
    state = args.dir or Path(tempfile.mkdtemp(prefix="drill-kill9-"))
    problems: list[str] = []
    cut_files = repaired_by_feeder = 0
    t0 = time.monotonic()
    for run in range(1, args.runs + 1):
        mode = "continuous" if run % 2 else "event"
        ready = kill_feeder(state, mode, rng.uniform(0.5, 6.0))
        repaired_by_feeder += len(ready["repaired"])
        cut, _empty, found = check_cut(state)
        parts = sum(1 for frames in cut.values() if frames)
        cut_files += parts
        problems += [f"run {run}: {x}" for x in found]
        if run % 2:
            with Index.open(state) as index:
                recover(index, recordings_root(state))
            problems += [f"run {run}: {x}" for x in check_recordings(state, with_ffprobe=False)]
        print(
            f"run {run}/{args.runs} ({mode}): {parts} cut-off file(s) playable; {len(problems)} problem(s) so far",
            flush=True,
        )
    with Index.open(state) as index:
        final = recover(index, recordings_root(state))
    problems += [f"final: {x}" for x in check_recordings(state, with_ffprobe=True)]
    files = len(list(recordings_root(state).glob("*/*/*.mkv")))
    with Index.open(state) as index:
        rows = index.list_recordings()
    print(
        f"{args.runs} kills in {time.monotonic() - t0:.0f} s: {files} files, {len(rows)} rows "
        f"({sum(not r.complete for r in rows)} cut short and repaired); {cut_files} cut-off files were "
        f"playable before repair; {repaired_by_feeder} repaired by the next run's start-up recovery; "
        f"final recovery: {final.summary()}; problems: {len(problems)}"
    )
    for x in problems:
        print("PROBLEM", x)
    print(f"state kept in {state}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
