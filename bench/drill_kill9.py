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
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: the shared synthetic input

from recorderd.recording.index import Index
from recorderd.recording.layout import recordings_root
from recorderd.recording.mkv import MkvError, scan_file
from recorderd.recording.recovery import recover
from tests.support.ffprobe import ProbeError, check_recordings, ffprobe


def one_run(state: Path, mode: str, hold: float) -> dict[str, object]:
    args = ["--state-dir", str(state), "--mode", mode, "--segment", "5s", "--seconds", "600",
            "--incident-every", "2", "--incident-length", "1", "--pre", "1s", "--post", "1s"]  # fmt: skip
    p = subprocess.Popen(
        [sys.executable, "-m", "tests.support.feeder", *args], stdout=subprocess.PIPE, text=True
    )
    assert p.stdout is not None
    line = p.stdout.readline()
    if not line.startswith("READY"):
        p.kill()
        raise RuntimeError(f"feeder did not start: {line!r}")
    ready = json.loads(line[len("READY") :])
    time.sleep(hold)
    p.kill()
    p.wait(timeout=30)
    return ready  # type: ignore[no-any-return]


def check_parts(state: Path) -> tuple[int, list[str]]:
    problems, parts = [], 0
    for part in sorted(recordings_root(state).glob("*/*/*.part")):
        try:
            s = scan_file(part)
        except MkvError:
            if part.stat().st_size:
                problems.append(f"{part}: unreadable header after kill ({part.stat().st_size} bytes)")
            continue
        if s.video_frames == 0:
            continue
        parts += 1
        try:
            packets = int(ffprobe(part)["streams"][0]["nb_read_packets"])
        except ProbeError as e:
            problems.append(str(e))
            continue
        if packets < s.video_frames:
            problems.append(f"{part}: ffprobe reads {packets} frames, whole clusters hold {s.video_frames}")
    return parts, problems


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
        ready = one_run(state, mode, rng.uniform(0.5, 6.0))
        repaired_by_feeder += len(ready["repaired"])  # type: ignore[arg-type]
        parts, found = check_parts(state)
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
