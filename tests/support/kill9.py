"""kill -9 while recording: of the recorder alone (`tests.support.feeder`, `kill_feeder`), and of
the real daemon (`python -m recorderd run`) recording from the simulator (`drill`).

`kill_feeder` and `check_cut` serve tests/recording/test_kill9.py and bench/drill_kill9.py; `drill`
serves tests/e2e/test_kill9_daemon.py (a short loop) and bench/drill_kill9_daemon.py (100 runs).
Two simulated cameras, served by this process: `cont` records continuously (3 s segments, mu-law
audio), `evt` records event clips (pre/post 1 s) for a motion trigger the simulator raises for 1 s
every 2.5 s. Each run starts the daemon, waits (on its log) until its start-up recovery is done
and `cont` is writing a file, lets it record for a random time, and kills it with SIGKILL. Then:

- every cut-off `.part` file is empty (killed before its first cluster reached the file: clusters
  are appended with one write(2) each, which a kill cannot split) or ffprobe reads at least the
  video frames of its whole clusters;
- the files the previous run left cut off were closed out by this run's start-up recovery: each is
  now a `.mkv` with an index row (complete = false) holding exactly the frames its whole clusters
  held; those without a whole frame are gone, file and row;
- index and files agree, apart from what the kill itself interrupted (a `.part` being written, a
  file renamed whose row still names its `.part`).

At the end one more run is stopped cleanly (SIGTERM, exit 0); then `recorderd recordings list
--json` must list exactly the files on disk with the frames they hold, and every file must be a
closed Matroska file that ffprobe reads (tests.support.ffprobe.check_recordings).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from recorderd.recording.index import Index
from recorderd.recording.layout import final_of, is_part, part_of, recordings_root
from recorderd.recording.mkv import MkvError, scan_file
from recorderd.sim import SimConfig, Simulator
from tests.support.daemonharness import DaemonProcess, run_daemon, toml
from tests.support.e2eharness import e2e_raw, e2e_sim_config
from tests.support.ffprobe import ProbeError, check_recordings, ffprobe

START_TIMEOUT = 30.0  # a loaded 2-core machine: python start-up, imports, recovery, connect


def drill_sim_config(fps: float = 10.0) -> SimConfig:
    motion = {"at": "1s", "trigger": "motion", "on": True, "duration": "1s"}
    return e2e_sim_config(
        {
            "cont": {"dialect": "vapix", "fps": fps, "audio": "mulaw"},
            "evt": {"dialect": "vapix", "fps": fps, "audio": "none", "scenario": [motion], "repeat": "2.5s"},
        }
    )


def write_config(sim: Simulator, state: Path, path: Path) -> None:
    raw = e2e_raw(
        sim,
        state,
        {
            "cont": {"audio": True, "record": {"mode": "continuous", "segment": "3s"}},
            "evt": {"triggers": ["motion"], "record": {"mode": "event", "pre": "1s", "post": "1s"}},
        },
    )
    path.write_text(toml(raw))


LOG_INFO = ["--log-level", "info"]


def tail(d: DaemonProcess) -> str:
    return "\n".join(d.lines[-40:])


@dataclass
class Report:
    runs: int = 0
    seconds: float = 0.0
    cut_files: int = 0  # .part files with whole clusters found after a kill (all read by ffprobe)
    empty_parts: int = 0  # .part files killed before their first cluster
    repaired: int = 0  # cut-off files the next start-up recovery closed out and indexed
    files: int = 0  # at the end
    rows: int = 0
    complete: int = 0
    frames: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.runs} kill -9 runs in {self.seconds:.1f}s: {self.cut_files} cut-off files read by "
            f"ffprobe up to their last whole cluster ({self.empty_parts} empty), {self.repaired} closed out "
            f"by the next start-up recovery; at the end {self.files} files = {self.rows} index rows "
            f"({self.complete} complete, {self.rows - self.complete} cut short), {self.frames} video "
            f"frames; problems: {len(self.problems)}"
        )


def kill_feeder(state: Path, mode: str, hold: float, segment: str = "5s") -> dict[str, Any]:
    """Record with `tests.support.feeder` in real time (an incident every 2 s in event mode), wait
    for its READY (start-up recovery done), let it record `hold` seconds, then SIGKILL it. Returns
    what READY reported (the recovery of the previous run's leftovers)."""
    args = ["--state-dir", str(state), "--mode", mode, "--segment", segment, "--seconds", "600",
            "--incident-every", "2", "--incident-length", "1", "--pre", "1s", "--post", "1s"]  # fmt: skip
    p = subprocess.Popen(
        [sys.executable, "-m", "tests.support.feeder", *args], stdout=subprocess.PIPE, text=True
    )
    try:
        assert p.stdout is not None
        line = p.stdout.readline()  # READY comes after start-up recovery: seconds, not minutes
        if not line.startswith("READY"):
            raise AssertionError(f"the feeder did not start: {line!r}")
        time.sleep(hold)  # the moment of the crash, not a wait for a condition
    finally:
        p.kill()
        p.wait(timeout=30)
    return json.loads(line[len("READY") :])  # type: ignore[no-any-return]


def check_cut(state: Path) -> tuple[dict[Path, int], int, list[str]]:
    """After a kill: the .part files (video frames in whole clusters each), empty ones, problems."""
    parts: dict[Path, int] = {}
    empty = 0
    problems = []
    for p in sorted(recordings_root(state).glob("*/*/*.part")):
        size = p.stat().st_size
        try:
            s = scan_file(p)
        except MkvError as e:
            if size:
                problems.append(f"{p.name}: unreadable after the kill ({size} bytes): {e}")
            else:
                empty += 1
            parts[p] = 0
            continue
        parts[p] = s.video_frames
        if s.video_frames == 0:
            continue
        try:
            read = int(ffprobe(p)["streams"][0]["nb_read_packets"])
        except ProbeError as e:
            problems.append(str(e))
            continue
        if read < s.video_frames:
            problems.append(
                f"{p.name}: ffprobe reads {read} frames, its whole clusters hold {s.video_frames}"
            )
    return parts, empty, problems


def check_recovered(state: Path, previous: dict[Path, int]) -> tuple[int, list[str]]:
    """The previous run's cut-off files, after this run's start-up recovery."""
    problems = []
    repaired = 0
    with Index.open(state) as index:
        for part, frames in previous.items():
            final = final_of(part)
            row = index.recording_by_path(final)
            if part.exists() or index.recording_by_path(part) is not None:
                problems.append(f"{part.name}: still unfinished after start-up recovery")
            elif frames == 0:
                if final.exists() or row is not None:
                    problems.append(f"{part.name}: nothing playable, yet kept")
            elif row is None or not final.exists():
                problems.append(f"{part.name}: not closed out and indexed by start-up recovery")
            elif row.complete or row.frames != frames or scan_file(final).video_frames != frames:
                problems.append(
                    f"{final.name}: row complete={row.complete} frames={row.frames}, "
                    f"{frames} frames were in whole clusters"
                )
            else:
                repaired += 1
    return repaired, problems


def check_agree(state: Path) -> list[str]:
    """Index and files agree, but for what the kill interrupted (a .part being written, a rename
    whose row still names the .part)."""
    problems = []
    files = {p for p in recordings_root(state).glob("*/*/*") if p.is_file()}
    with Index.open(state) as index:
        rows = {r.path: r for r in index.list_recordings()}
    for path, row in rows.items():
        if path in files:
            if not is_part(path) and row.end is not None and scan_file(path).video_frames != row.frames:
                problems.append(f"{path.name}: {row.frames} frames in the index, not in the file")
        elif not (is_part(path) and final_of(path) in files):
            problems.append(f"{path.name}: index row without its file")
    for path in files - set(rows):
        if not is_part(path) and part_of(path) not in rows:
            problems.append(f"{path.name}: file without index row")
    return problems


async def listed(config: Path) -> list[dict[str, Any]]:
    r = await trio.run_process(
        [sys.executable, "-m", "recorderd", "recordings", "list", "-c", str(config), "--json"],
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return [json.loads(line) for line in r.stdout.decode().splitlines() if line.strip()]


async def drill(
    sim: Simulator,
    workdir: Path,
    runs: int,
    *,
    seed: int = 1,
    hold: tuple[float, float] = (0.2, 1.5),
    say: Callable[[str], None] = lambda _s: None,
) -> Report:
    rng = random.Random(seed)
    state, config = workdir / "state", workdir / "recorderd.toml"
    write_config(sim, state, config)
    report = Report()
    t0 = time.monotonic()
    previous: dict[Path, int] = {}
    for run in range(1, runs + 1):
        async with run_daemon(config, args=LOG_INFO) as d:  # killed (SIGKILL) on leaving the block
            at = await d.wait_line("recording recovery:", timeout=START_TIMEOUT)
            # recovery is done: what the last kill cut off must now be closed out and indexed
            repaired, found = await trio.to_thread.run_sync(check_recovered, state, previous)
            report.repaired += repaired
            report.problems += [f"run {run}: {x}" for x in found]
            await d.wait_line("cont: recording", after=at, timeout=START_TIMEOUT)
            await trio.sleep(rng.uniform(*hold))  # the moment of the crash, not a wait for something
        previous, empty, found = await trio.to_thread.run_sync(check_cut, state)
        report.cut_files += sum(1 for n in previous.values() if n)
        report.empty_parts += empty
        found += await trio.to_thread.run_sync(check_agree, state)
        report.problems += [f"run {run}: {x}" for x in found]
        report.runs = run
        say(f"run {run}/{runs}: {len(previous)} file(s) cut off; {len(report.problems)} problem(s) so far")

    # a last run, stopped cleanly: recovery of the last kill, then every file closed
    async with run_daemon(config, args=LOG_INFO) as d:
        at = await d.wait_line("recording recovery:", timeout=START_TIMEOUT)
        repaired, found = await trio.to_thread.run_sync(check_recovered, state, previous)
        report.repaired += repaired
        report.problems += [f"final run: {x}" for x in found]
        await d.wait_line("cont: recording", after=at, timeout=START_TIMEOUT)
        code = await d.stop(signal.SIGTERM, timeout=30)
        if code != 0:
            report.problems.append(f"final run: exit {code}:\n{tail(d)}")
    report.seconds = time.monotonic() - t0

    # the index as the CLI lists it == the files on disk, frame for frame; all closed, all play
    rows = await listed(config)
    files = sorted(p for p in recordings_root(state).glob("*/*/*") if p.is_file())
    by_path = {Path(r["path"]): r for r in rows}
    if set(by_path) != set(files):
        report.problems.append(
            f"recordings list and disk differ: only listed {sorted(set(by_path) - set(files))}, "
            f"only on disk {sorted(set(files) - set(by_path))}"
        )
    for p in files:
        r = by_path.get(p)
        if r is not None and r["frames"] != scan_file(p).video_frames:
            report.problems.append(
                f"{p.name}: listed with {r['frames']} frames, holds {scan_file(p).video_frames}"
            )
    report.problems += await trio.to_thread.run_sync(check_recordings, state)
    report.files, report.rows = len(files), len(rows)
    report.complete = sum(bool(r["complete"]) for r in rows)
    report.frames = sum(int(r["frames"]) for r in rows)
    return report
