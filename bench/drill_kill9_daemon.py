"""Drill: kill -9 the real daemon (`python -m recorderd run`) while it records, 100 times.

    python bench/drill_kill9_daemon.py [--runs 100] [--dir DIR] [--seed 1] [--fps 10]

The simulator runs in this process (two vapix cameras: `cont` continuous in 3 s segments with mu-law
audio, `evt` event clips for a motion trigger every 2.5 s). Each run starts the daemon, waits for
its start-up recovery and its first file, records for a random 0.3 to 4 s and sends SIGKILL; the
checks after each kill and at the end are those of tests/support/kill9.py (cut-off files read by
ffprobe up to their last whole cluster, the next start-up recovery closes them out and indexes
them, `recorderd recordings list --json` == the files on disk, every file closed and playable).
Exit 1 on any problem.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support.kill9 holds the drill

from recorderd.sim import open_simulator
from tests.support.kill9 import Report, drill, drill_sim_config


async def main_async(args: argparse.Namespace, workdir: Path) -> Report:
    async with open_simulator(drill_sim_config(args.fps)) as sim:
        return await drill(
            sim, workdir, args.runs, seed=args.seed, hold=(0.3, 4.0), say=lambda s: print(s, flush=True)
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--dir", type=Path, default=None, help="work directory (default: a new temporary one)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fps", type=float, default=10.0)
    args = p.parse_args()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="drill-kill9-daemon-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report = trio.run(main_async, args, workdir)
    print(report.summary())
    for x in report.problems:
        print("PROBLEM", x)
    print(f"state kept in {workdir}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
