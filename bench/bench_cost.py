#!/usr/bin/env python3
"""Recording cost, recorderd beside ffmpeg: CPU per frame, memory per camera, frames lost, disk rate.

    python bench/bench_cost.py                          # N = 1 10 50 100 200 500, 60 s windows
    python bench/bench_cost.py -n 1 -n 50 --seconds 10  # a few N
    python bench/bench_cost.py -n 50 --only recorderd --profile   # py-spy profile of the daemon

For each N, one simulator process (`recorderd simulate`, the load generator, measured apart) serves N
plain MJPEG cameras at 10 fps with ~22 KB 640x480 JPEGs. Then, one after the other on the same
cameras:

- `recorderd run` with the N cameras recording continuously (60 s segments, one process);
- N `ffmpeg -f mpjpeg -i URL -c copy -f segment -segment_format matroska` processes, as many as
  --ffmpeg-max (500) and as half of MemAvailable allows at 16 MiB each (a little above what one process
  was measured to take: docs/performance.md); a larger N is skipped and the table says so.

Each client gets a warm-up once every stream flows, then a measuring window. Figures over the window:
- cpu_us_per_frame: the client's CPU (utime + stime of all its threads / processes) per frame recorded;
- cpu_pct_per_cam: that CPU as a share of one core, per camera;
- pss_mib: proportional set size from /proc/<pid>/smaps_rollup (ffmpeg: summed over its processes);
  pss_per_cam_mib: ffmpeg: the sum / N; recorderd: (PSS(N) - PSS(1)) / (N - 1), the cost of one more
  camera (at N = 1 the whole process);
- lost: frames the simulator wrote whole to the client during the window that are not in the files.
  Every simulated frame carries `seq=<n>` in a JPEG comment, stored byte for byte by both recorders,
  so the files are searched for the seqs (and ffprobe's packet count is checked against the search
  on a few files); skipped: frames the simulator did not send because the client was still reading
  the previous one (back-pressure, a slow client);
- disk_mb_s: growth of the recording directory.
The table ends with the ratio recorderd / ffmpeg. JSON goes to bench/results/cost.json.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as bl

SEQ = re.compile(rb"recorderd-sim camera=(\S+) seq=(\d+) ")
FFMPEG_PSS_GUESS_MIB = 16  # a little above one ffmpeg's PSS (docs/performance.md), for the memory check


def sim_cameras(n: int, fps: float) -> dict[str, dict[str, Any]]:
    return {name: {"dialect": "mjpeg", "fps": fps, "audio": "none"} for name in bl.cam_names(n)}


def camera_tables(sim: bl.Sim) -> list[str]:
    out = []
    for c in sim.cams:
        out += [
            f"[cameras.{c.name}]",
            'dialect = "mjpeg"',
            f'video_url = "{c.video_url}"',
            "triggers = []",
            'record = { mode = "continuous", segment = "60s" }',
            "",
        ]
    return out


class Window:
    """CPU, disk and the simulator's frame counters at the two ends of the measuring window."""

    def __init__(self, sim: bl.Sim, pids: Callable[[], list[int]], rec_dir: Path) -> None:
        self.sim = sim
        self.pids = pids
        self.rec_dir = rec_dir

    def _cpu(self) -> float:
        return sum(bl.cpu_seconds(p) for p in self.pids())

    def mark(self) -> dict[str, Any]:
        # the states of N cameras take a moment (a fraction of a second): CPU and time just before
        pids = self.pids()
        snap, c0, s0, t0 = (
            bl.cpu_snapshot(pids),
            self._cpu(),
            bl.cpu_snapshot([self.sim.pid]),
            time.monotonic(),
        )
        states = self.sim.states()
        c1 = self._cpu()
        return {
            "snap": snap,
            "sim_snap": s0,
            "cpu_stat": (c0 + c1) / 2,
            "t": t0,  # the CPU snapshot's time (the states follow within a fraction of a second)
            "seq": {n: s["seq"] for n, s in states.items()},
            "disk": bl.tree_size(self.rec_dir),
        }


def recorded_seqs(root: Path) -> tuple[dict[str, set[int]], dict[Path, int]]:
    """Seqs found in every .mkv under root, per camera, and the count per file."""
    per_cam: dict[str, set[int]] = {}
    per_file: dict[Path, int] = {}
    for path in sorted(root.rglob("*.mkv*")):
        data = path.read_bytes()
        n = 0
        found = list(SEQ.finditer(data))
        for i, m in enumerate(found):
            # a whole JPEG only: its EOI comes before the next frame's comment (a stop may leave the
            # last frame of a file cut short; in entropy-coded data 0xFF is never followed by 0xD9)
            end = found[i + 1].start() if i + 1 < len(found) else len(data)
            if data.find(b"\xff\xd9", m.end(), end) == -1:
                continue
            per_cam.setdefault(m.group(1).decode(), set()).add(int(m.group(2)))
            n += 1
        per_file[path] = n
    return per_cam, per_file


def ffprobe_packets(path: Path) -> int:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_packets",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return int(out.stdout.strip() or -1)


def frame_figures(sim: bl.Sim, a: dict[str, Any], b: dict[str, Any], rec_dir: Path) -> dict[str, Any]:
    """Frames produced, sent, recorded and lost during the window, from the seqs in the files."""
    per_cam, per_file = recorded_seqs(rec_dir)
    with ThreadPoolExecutor(32) as pool:
        sent_lists = dict(zip([c.name for c in sim.cams], pool.map(sim.frames, sim.cams), strict=True))
    produced = sent = recorded = lost = 0
    worst = 0
    for c in sim.cams:
        lo, hi = a["seq"][c.name], b["seq"][c.name]
        window = range(lo + 1, hi + 1)
        s = {q for q in sent_lists[c.name] if lo < q <= hi}
        r = {q for q in per_cam.get(c.name, set()) if lo < q <= hi}
        produced += len(window)
        sent += len(s)
        recorded += len(r)
        missing = len(s - r)
        lost += missing
        worst = max(worst, missing)
    # ffprobe, an independent reader, must count the same frames as the search (a few files)
    files = [p for p in per_file if p.suffix == ".mkv"][:3]
    probed = [(str(p.relative_to(rec_dir)), per_file[p], ffprobe_packets(p)) for p in files]
    mismatches = sum(1 for _, found, counted in probed if found != counted)
    return {
        "frames_produced": produced,
        "frames_sent": sent,
        "frames_recorded": recorded,
        "lost": lost,
        "lost_worst_cam": worst,
        "skipped": produced - sent,
        "files": len(per_file),
        "ffprobe_checked": len(files),
        "ffprobe_mismatch": mismatches,
        "ffprobe_files": probed,  # (file, seqs found, packets ffprobe counted)
    }


def measure(
    sim: bl.Sim,
    pids: Callable[[], list[int]],
    rec_dir: Path,
    args: argparse.Namespace,
    *,
    profile: Path | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    sim.wait_streaming(timeout=args.connect_timeout)
    time.sleep(args.warmup)
    w = Window(sim, pids, rec_dir)
    load0 = bl.loadavg()
    a = w.mark()
    spy = None
    if profile is not None:
        spy = subprocess.Popen(
            [
                str(Path(bl.PY).parent / "py-spy"),
                "record",
                "-o",
                str(profile),
                "--pid",
                str(pids()[0]),
                "-d",
                str(int(args.seconds)),
                "-r",
                "250",
                "--gil",
                "--format",
                {".json": "speedscope", ".txt": "raw"}.get(profile.suffix, "flamegraph"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    time.sleep(args.seconds)
    b = w.mark()
    pss = [bl.pss_kib(p) for p in pids()]
    if spy is not None:
        spy.wait(timeout=120)
    # frames of the window still in flight (or queued for the recorder's next batch) are not lost
    # at a stop that comes right after the window: the client keeps running a moment
    time.sleep(args.tail)
    elapsed = b["t"] - a["t"]
    res = {
        "seconds": round(elapsed, 2),
        "cpu_s": round(bl.cpu_delta(a["snap"], b["snap"]), 4),
        "cpu_s_ticks": round(b["cpu_stat"] - a["cpu_stat"], 3),  # utime + stime: a cross-check
        "sim_cpu_s": round(bl.cpu_delta(a["sim_snap"], b["sim_snap"]), 4),
        "pss_mib": round(sum(pss) / 1024, 1),
        "processes": len(pss),
        "disk_mb_s": round((b["disk"] - a["disk"]) / elapsed / 1e6, 2),
        "loadavg_before": load0,
        "loadavg_after": bl.loadavg(),
    }
    return res, a, b


def run_recorderd(sim: bl.Sim, n: int, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    bl.settle()  # what the previous client wrote is not this one's to pay for
    state = work / "recorderd"
    state.mkdir()
    cfg = work / "recorderd.toml"
    bl.daemon_config(cfg, state, camera_tables(sim))
    proc = bl.start_daemon(cfg, work / "recorderd.log")
    profile = None
    if args.profile:
        bl.RESULTS.mkdir(parents=True, exist_ok=True)
        ext = {"speedscope": "json", "raw": "txt"}.get(args.profile, "svg")
        profile = bl.RESULTS / f"profile-recorderd-{n}.{ext}"
    try:
        res, a, b = measure(sim, lambda: [proc.pid], state / "recordings", args, profile=profile)
    finally:
        rc = bl.stop(proc, 120)
    if rc not in (0, None):
        print((work / "recorderd.log").read_text()[-3000:], file=sys.stderr)
    res["exit"] = rc
    res.update(frame_figures(sim, a, b, state / "recordings"))
    if profile is not None:
        res["profile"] = str(profile)
    return res


def ffmpeg_cmd(url: str, out: Path) -> list[str]:
    return [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "mpjpeg",
        "-i",
        url,
        "-c",
        "copy",
        "-f",
        "segment",
        "-segment_format",
        "matroska",
        "-segment_time",
        "60",
        "-reset_timestamps",
        "1",
        str(out / "%03d.mkv"),
    ]


def run_ffmpeg(sim: bl.Sim, n: int, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    bl.settle()
    root = work / "ffmpeg"
    procs: list[subprocess.Popen[bytes]] = []
    log = open(work / "ffmpeg.log", "wb")  # noqa: SIM115 - closed below
    try:
        for i, c in enumerate(sim.cams):
            out = root / c.name
            out.mkdir(parents=True)
            procs.append(
                subprocess.Popen(ffmpeg_cmd(c.video_url, out), stdout=subprocess.DEVNULL, stderr=log)
            )
            if i % 20 == 19:
                time.sleep(0.2)  # no start-up storm
        res, a, b = measure(sim, lambda: [p.pid for p in procs], root, args)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()  # our own ffmpeg, by its pid: it closes its segment cleanly
        for p in procs:
            bl.stop(p, 60)
        log.close()
    res["exit"] = sorted({p.returncode for p in procs})
    res.update(frame_figures(sim, a, b, root))
    return res


def derive(r: dict[str, Any], n: int) -> None:
    frames = r["frames_recorded"]
    r["cpu_us_per_frame"] = round(r["cpu_s"] / frames * 1e6, 1) if frames else None
    r["cpu_pct_per_cam"] = round(r["cpu_s"] / r["seconds"] / n * 100, 3)
    r["sim_us_per_frame"] = round(r["sim_cpu_s"] / frames * 1e6, 1) if frames else None
    r["fps_per_cam"] = round(frames / r["seconds"] / n, 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "-n", "--cameras", type=int, action="append", help="camera counts (default 1 10 50 100 200 500)"
    )
    ap.add_argument(
        "--seconds",
        type=float,
        default=60.0,
        help="measuring window per client and N (60: one whole segment, so each window holds one cut)",
    )
    ap.add_argument("--warmup", type=float, default=4.0, help="after every stream flows")
    ap.add_argument("--tail", type=float, default=1.5, help="client keeps running after the window")
    ap.add_argument("--fps", type=float, default=10.0)
    bl.add_load_argument(ap)
    ap.add_argument("--only", choices=["recorderd", "ffmpeg"], help="measure one client only")
    ap.add_argument(
        "--ffmpeg-max", type=int, default=500, help="largest N run with ffmpeg (also capped by memory)"
    )
    ap.add_argument("--connect-timeout", type=float, default=180.0)
    ap.add_argument(
        "--profile",
        nargs="?",
        const="svg",
        choices=["svg", "speedscope", "raw"],
        help="py-spy the daemon over the window (bench/results/profile-*)",
    )
    ap.add_argument("--json", type=Path, help="results file (default bench/results/cost.json)")
    ap.add_argument("--workdir", type=Path, help="where recordings go (default: a temporary directory)")
    args = ap.parse_args()
    ns = sorted(set(args.cameras or [1, 10, 50, 100, 200, 500]))
    results: dict[str, Any] = {
        "machine": bl.machine(),
        "args": vars(args) | {"json": str(args.json)},
        "runs": [],
    }
    pss_base: float | None = None
    rows = []
    base = Path(tempfile.mkdtemp(prefix="bench-cost-", dir=args.workdir))
    try:
        for n in ns:
            work = base / f"n{n}"
            work.mkdir()
            run: dict[str, Any] = {"n": n}
            cams = sim_cameras(n, args.fps)
            with bl.Sim(work, cams, simulator=bl.apply_load(args.load, cams)) as sim:
                if args.only != "ffmpeg":
                    r = run_recorderd(sim, n, work, args)
                    derive(r, n)
                    if n == 1:
                        pss_base = r["pss_mib"]
                    if n == 1 or pss_base is None:
                        r["pss_per_cam_mib"] = round(r["pss_mib"] / n, 2)
                    else:
                        r["pss_per_cam_mib"] = round((r["pss_mib"] - pss_base) / (n - 1), 2)
                    run["recorderd"] = r
                    shutil.rmtree(work / "recorderd", ignore_errors=True)
                cap = min(args.ffmpeg_max, int(bl.mem_available_mib() * 0.5 / FFMPEG_PSS_GUESS_MIB))
                if args.only != "recorderd" and n <= cap:
                    r = run_ffmpeg(sim, n, work, args)
                    derive(r, n)
                    r["pss_per_cam_mib"] = round(r["pss_mib"] / n, 2)
                    run["ffmpeg"] = r
                    shutil.rmtree(work / "ffmpeg", ignore_errors=True)
                elif args.only != "recorderd":
                    run["ffmpeg_skipped"] = f"N={n} above the cap {cap} (--ffmpeg-max, half of MemAvailable)"
            results["runs"].append(run)
            rows += table_rows(run)
            print(bl.table(rows[-3:], COLS, title=f"N = {n}"), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    results["machine"]["loadavg_end"] = bl.loadavg()
    out = bl.write_results("cost", results, args.json)
    print()
    print(
        bl.table(
            rows, COLS, title=f"recording cost, {args.fps:g} fps, ~22 KB frames, {args.seconds:g} s windows"
        )
    )
    print(
        f"load average at start {results['machine']['loadavg']}, at end {results['machine']['loadavg_end']}"
    )
    print(f"JSON: {out}")
    return 0


COLS = [
    "N",
    "client",
    "cpu_us_per_frame",
    "cpu_pct_per_cam",
    "pss_mib",
    "pss_per_cam_mib",
    "fps_per_cam",
    "lost",
    "skipped",
    "disk_mb_s",
    "sim_us_per_frame",
]


def table_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for client in ("recorderd", "ffmpeg"):
        if client in run:
            rows.append({"N": run["n"], "client": client, **run[client]})
    if "recorderd" in run and "ffmpeg" in run:
        r, f = run["recorderd"], run["ffmpeg"]
        ratio: dict[str, Any] = {"N": run["n"], "client": "ratio r/f"}
        for k in ("cpu_us_per_frame", "cpu_pct_per_cam", "pss_mib", "pss_per_cam_mib", "disk_mb_s"):
            if r.get(k) is not None and f.get(k):
                ratio[k] = round(r[k] / f[k], 3)
        run["ratio"] = ratio
        rows.append(ratio)
    elif "ffmpeg_skipped" in run:
        rows.append({"N": run["n"], "client": "ffmpeg: skipped (cap)"})
    return rows


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
