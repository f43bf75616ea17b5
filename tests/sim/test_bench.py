"""The benchmark script, in a short version: it runs and its figures make sense."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_sim.py"


def test_bench_sim_short(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    cmd = [
        sys.executable,
        str(BENCH),
        "--streams",
        "10",
        "--seconds",
        "1.5",
        "--warmup",
        "0.5",
        "--json",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (r,) = json.loads(out.read_text())
    assert r["streams"] == 10 and r["closed_streams"] == 0
    assert 7 <= r["fps_per_stream"] <= 11  # 10 fps per stream, within scheduling noise
    # CPU comes in 10 ms clock ticks: a short, light window may round down to 0
    assert 0 <= r["cpu_us_per_frame"] < 5000 and "cpu_share" in done.stdout
