"""The fuzz script's short run: the same checks as the 10^6-input drill, a few thousand inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "fuzz_protocol.py"


def test_fuzz_short_run(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--runs", "4000", "--seed", "7", "--quiet"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fuzz: 4000 inputs" in done.stdout and "no failure" in done.stdout
    assert not list(tmp_path.glob("fuzz-failure-*"))
