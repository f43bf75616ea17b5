"""A full disk for real: a 4 MiB tmpfs (in a private mount namespace) fills up while recording.

The recorder must get ENOSPC, prune the oldest recordings, and go on recording; at the end the
index and the files agree and every file plays. Needs `unshare -rm` (user + mount namespaces);
where that is not allowed the test is skipped with the reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tmpfs import cannot_mount, on_tmpfs


def test_full_disk_prunes_oldest_and_keeps_recording(tmp_path: Path) -> None:
    why = cannot_mount(tmp_path)
    if why is not None:
        pytest.skip(f"cannot mount a small tmpfs here (unshare -rm): {why}")
    feeder = [
        sys.executable, "-m", "tests.support.feeder", "--state-dir", str(tmp_path), "--fast", "--check",
        "--seconds", "40", "--segment", "2s", "--size", "640x480", "--noise", "0.06", "--distinct", "10",
    ]  # fmt: skip
    r = subprocess.run(on_tmpfs(tmp_path, "4m", feeder), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "No space left on device" in r.stderr or "disk full" in r.stderr  # it really filled up
    out = json.loads(r.stdout.splitlines()[-1])
    assert out["problems"] == []  # index == files, all closed, all read by ffprobe
    closed, remaining = out["files"], out["remaining"]
    # 40 s of frames (25 fps) in 2 s segments on the wall clock: 21 files, or 20 when the first frame
    # falls within 40 ms after a segment boundary (a 2 % chance; the start time is the real clock's)
    assert out["sent_video"] == 1000 and len(closed) in (20, 21)
    assert out["pruned_files"] >= 15 and closed[0] not in remaining
    assert remaining == closed[-len(remaining) :]  # the newest stay, the oldest went
    assert out["stats"]["frames"] + out["stats"]["dropped"] >= 1000 - 25
    assert out["stats"]["dropped"] <= 100
