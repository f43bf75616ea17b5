"""Benchmark: `recorderd schedule query` answering 10^4 times from stdin in one process.

Usage: python bench/bench_schedule.py [--lines N] [--runs R] [--module]

Writes a throw-away config (a camera in Europe/Berlin with a multi-window schedule and one in
Australia/Lord_Howe with Foscam words), feeds N ISO 8601 times (naive, with offsets, with Z, many
around DST changes) on stdin, checks that N JSON answers come back and agree with the engine
in-process, and prints the wall time: total, process start-up alone (a single --at), and per line.
`--module` runs `python -m recorderd.cli.schedule` instead of the full `recorderd` command (whose
start-up imports every stage's parser).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

CONFIG = """
[daemon]
timezone = "Europe/Berlin"

[cameras.hall]
dialect = "mjpeg"
video_url = "http://127.0.0.1:9/video.mjpg"
schedule = { mon = ["08:00-12:00", "13:00-18:00"], sat = "22:00-06:00", "tue-fri" = "07:30:15-19:45" }

[cameras.island]
dialect = "mjpeg"
video_url = "http://127.0.0.1:9/video.mjpg"
timezone = "Australia/Lord_Howe"
schedule = { foscam = { sun_0 = -1, sun_1 = 4294967264, mon_2 = 16383, sat_0 = 255 } }
"""


def make_times(n: int, seed: int = 4) -> list[str]:
    rng = random.Random(seed)
    dst = [
        datetime(2026, 3, 29, 2),
        datetime(2026, 10, 25, 2),
        datetime(2026, 4, 5, 2),
        datetime(2026, 10, 4, 2),
    ]
    out = []
    for i in range(n):
        if i % 3 == 0:
            t = rng.choice(dst) + timedelta(seconds=rng.randrange(-2 * 86400, 2 * 86400))
        else:
            t = datetime(2020, 1, 1) + timedelta(seconds=rng.randrange(0, 15 * 365 * 86400))
        kind = i % 4
        if kind == 0:
            out.append(t.isoformat())
        elif kind == 1:
            out.append(t.isoformat() + "+01:00")
        elif kind == 2:
            out.append(t.isoformat() + "Z")
        else:
            out.append(t.replace(microsecond=rng.randrange(10**6)).isoformat() + "-05:00")
    return out


def command(module: bool) -> list[str]:
    if module:
        return [sys.executable, "-m", "recorderd.cli.schedule"]
    return [sys.executable, "-m", "recorderd", "schedule"]


def timed(cmd: list[str], stdin: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--module", action="store_true", help="run recorderd.cli.schedule directly")
    opts = ap.parse_args()

    from zoneinfo import ZoneInfo

    from recorderd.cli.schedule import answer, parse_time
    from recorderd.schedule import compile_schedule

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "recorderd.toml"
        cfg.write_text(CONFIG, encoding="utf-8")
        times = make_times(opts.lines)
        stdin = "\n".join(times) + "\n"
        for camera, zone, spec in (
            (
                "hall",
                "Europe/Berlin",
                {"mon": ["08:00-12:00", "13:00-18:00"], "sat": "22:00-06:00", "tue-fri": "07:30:15-19:45"},
            ),
            (
                "island",
                "Australia/Lord_Howe",
                {"foscam": {"sun_0": -1, "sun_1": 4294967264, "mon_2": 16383, "sat_0": 255}},
            ),
        ):
            base = [*command(opts.module), "query", "-c", str(cfg), camera]
            startup = min(timed([*base, "--at", times[0]], "")[0] for _ in range(opts.runs))
            totals = []
            for _ in range(opts.runs):
                elapsed, r = timed(base, stdin)
                if r.returncode != 0:
                    print(r.stderr, file=sys.stderr)
                    return 1
                totals.append(elapsed)
            lines = r.stdout.splitlines()
            assert len(lines) == len(times), (len(lines), len(times))
            schedule = compile_schedule(spec, ZoneInfo(zone))
            for i in range(0, len(times), max(1, len(times) // 200)):
                assert json.loads(lines[i]) == json.loads(
                    answer(schedule, parse_time(times[i], schedule.zone))
                )
            best = min(totals)
            per_line = (best - startup) / len(times) * 1e6
            print(
                f"{camera} ({zone}): {len(times)} lines in {best:.3f} s "
                f"(median {statistics.median(totals):.3f} s of {opts.runs}); start-up alone {startup:.3f} s; "
                f"{per_line:.1f} us per line, {len(times) / max(best - startup, 1e-9):,.0f} lines/s after start-up"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
