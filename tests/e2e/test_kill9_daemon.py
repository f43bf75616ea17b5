"""Issue 7, proof 3: kill -9 of the real daemon while it records, 12 times (see tests/support/kill9.py;
bench/drill_kill9_daemon.py runs 100)."""

from __future__ import annotations

from pathlib import Path

from recorderd.sim import open_simulator
from tests.support.kill9 import drill, drill_sim_config

RUNS = 12  # the suite's short version; bench/drill_kill9_daemon.py runs 100


async def test_kill9_daemon_twelve_times(tmp_path: Path) -> None:
    async with open_simulator(drill_sim_config()) as sim:
        report = await drill(sim, tmp_path, RUNS, seed=7, hold=(0.5, 2.5))
    print("\n" + report.summary())
    assert report.problems == [], "\n".join(report.problems)
    assert report.runs == RUNS
    assert report.cut_files >= RUNS // 2  # the kills did land while files were being written
    assert report.repaired == report.cut_files  # each closed out by the next start-up recovery
    assert report.rows == report.files > RUNS and report.complete >= 1
