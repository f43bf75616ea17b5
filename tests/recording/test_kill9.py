"""kill -9 of a process that records, a few times (bench/drill_kill9.py runs it 100 times).

After each kill the unfinished file must be readable by ffprobe up to its last whole cluster; the
next run's start-up recovery (and finally ours) must leave index and files in full agreement.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

from recorderd.recording.index import Index
from recorderd.recording.layout import final_of, recordings_root
from recorderd.recording.mkv import MkvError, scan_file
from recorderd.recording.recovery import recover
from tests.support.ffprobe import check_recordings, ffprobe

FEEDER = [sys.executable, "-m", "tests.support.feeder"]


def start_recording(state_dir: Path, mode: str) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        [
            *FEEDER,
            "--state-dir",
            str(state_dir),
            "--mode",
            mode,
            "--segment",
            "2s",
            "--incident-every",
            "2",
            "--incident-length",
            "1",
            "--pre",
            "1s",
            "--post",
            "1s",
            "--seconds",
            "60",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None
    deadline = time.monotonic() + 30
    line = p.stdout.readline()
    assert line.startswith("READY") and time.monotonic() < deadline, line
    return p


def kill_once(state_dir: Path, mode: str, rng: random.Random) -> list[Path]:
    p = start_recording(state_dir, mode)
    time.sleep(rng.uniform(2.0, 4.5))  # the moment of the crash, not a wait for a condition
    p.kill()
    p.wait(timeout=10)
    return sorted(recordings_root(state_dir).glob("*/*/*.part"))


def test_kill9_three_times(tmp_path: Path) -> None:
    rng = random.Random(7)
    parts_seen: dict[Path, int] = {}  # cut-off files with whole clusters -> their video frames
    for i, mode in enumerate(["continuous", "event", "continuous"]):
        parts = kill_once(tmp_path, mode, rng)
        for part in parts:  # cut off mid-file: still playable up to the last whole cluster
            try:
                s = scan_file(part)
            except MkvError:
                assert part.stat().st_size == 0  # killed before its first cluster: recovery deletes it
                continue
            if s.video_frames == 0:
                continue
            parts_seen[part] = s.video_frames
            info = ffprobe(part)
            assert int(info["streams"][0]["nb_read_packets"]) >= s.video_frames, (i, part)
    assert parts_seen
    with Index.open(tmp_path) as index:  # the last run's leftovers (earlier ones: the next run's recovery)
        report = recover(index, recordings_root(tmp_path))
        assert not report.unreadable
        for part, frames in parts_seen.items():  # repaired, renamed, indexed as cut short
            row = index.recording_by_path(final_of(part))
            assert row is not None and not row.complete and row.frames == frames
    assert check_recordings(tmp_path) == []
    assert len(list(recordings_root(tmp_path).glob("*/*/*.mkv"))) >= 3
