"""kill -9 of a process that records, a few times (bench/drill_kill9.py runs it 100 times).

After each kill the unfinished file must be readable by ffprobe up to its last whole cluster; the
next run's start-up recovery (and finally ours) must leave index and files in full agreement.
"""

from __future__ import annotations

import random
from pathlib import Path

from recorderd.recording.index import Index
from recorderd.recording.layout import final_of, recordings_root
from recorderd.recording.recovery import recover
from tests.support.ffprobe import check_recordings
from tests.support.kill9 import check_cut, kill_feeder


def test_kill9_three_times(tmp_path: Path) -> None:
    rng = random.Random(7)
    parts_seen: dict[Path, int] = {}  # cut-off files with whole clusters -> their video frames
    for mode in ["continuous", "event", "continuous"]:
        kill_feeder(tmp_path, mode, rng.uniform(2.0, 4.5), segment="2s")
        # cut off mid-file: empty (killed before its first cluster: recovery deletes it), or read
        # by ffprobe up to its last whole cluster
        parts, _empty, problems = check_cut(tmp_path)
        assert problems == []
        parts_seen.update((part, frames) for part, frames in parts.items() if frames)
    assert parts_seen
    with Index.open(tmp_path) as index:  # the last run's leftovers (earlier ones: the next run's recovery)
        report = recover(index, recordings_root(tmp_path))
        assert not report.unreadable
        for part, frames in parts_seen.items():  # repaired, renamed, indexed as cut short
            row = index.recording_by_path(final_of(part))
            assert row is not None and not row.complete and row.frames == frames
    assert check_recordings(tmp_path) == []
    assert len(list(recordings_root(tmp_path).glob("*/*/*.mkv"))) >= 3
