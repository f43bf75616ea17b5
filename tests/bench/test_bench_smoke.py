"""The benchmark scripts in short: they run, and their figures are figures (not the benchmark)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from tests.bench.conftest import needs_ffmpeg, needs_mosquitto, run_bench


@needs_ffmpeg
def test_cost_one_camera_recorderd_and_ffmpeg(tmp_path: Path) -> None:
    out = tmp_path / "cost.json"
    done = run_bench(
        "bench_cost.py", "-n", "1", "--seconds", "3", "--warmup", "1", "--tail", "1", "--json", str(out)
    )
    assert "recorderd" in done.stdout and "ffmpeg" in done.stdout
    (run,) = json.loads(out.read_text())["runs"]
    for client in ("recorderd", "ffmpeg"):
        r = run[client]
        # every frame the simulator sent in the window is in the files, found by its seq
        assert r["frames_sent"] >= 15 and r["lost"] == 0, r  # ~30 in the window
        assert r["frames_recorded"] == r["frames_sent"], r
        assert r["ffprobe_checked"] >= 1 and r["ffprobe_mismatch"] == 0, r
        assert 0 < r["cpu_us_per_frame"] < 20_000 and r["pss_mib"] > 5, r
    # ~0.23 MB/s; recorderd writes a cluster a second (ffmpeg's matroska muxer holds up to 5 s)
    assert run["recorderd"]["disk_mb_s"] > 0.03, run
    assert run["ratio"]["pss_mib"] > 0
    # the markdown table from these results, and the plot where matplotlib (the [bench] extra) is
    # installed: the test extra does without it, so that this test runs wherever the suite does
    png = tmp_path / "bench.png"
    done = run_bench("run_all.py", "--plot-only", "--results", str(tmp_path), "--plot", str(png))
    assert "| 1 | recorderd |" in (tmp_path / "summary.md").read_text()
    if importlib.util.find_spec("matplotlib") is None:
        assert "plot skipped: matplotlib is not installed" in done.stdout and not png.exists()
    else:
        assert png.read_bytes().startswith(b"\x89PNG")


@needs_mosquitto
def test_latency_one_camera(tmp_path: Path) -> None:
    out = tmp_path / "latency.json"
    run_bench("bench_latency.py", "-n", "1", "--triggers", "3", "--warmup", "1", "--json", str(out))
    (run,) = json.loads(out.read_text())["runs"]
    assert run["state"]["count"] == 6 and run["state"]["missed"] == 0  # 3 on, 3 off
    assert run["event"]["count"] == 3 and run["event"]["missed"] == 0
    # with the delimiter after each part, a change reaches MQTT well before the next repeat (1 s)
    assert 0 < run["state"]["p50_ms"] < 500
