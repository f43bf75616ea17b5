#!/usr/bin/env python3
"""Every benchmark in one command: recording cost beside ffmpeg, event latency, the micro-benchmarks.

    pip install -e '.[bench]'          # matplotlib (the plot) and py-spy (profiles)
    python bench/run_all.py            # the full suite (~40 min on 2 cores)
    python bench/run_all.py --quick    # N = 1 and 10, short windows (~3 min)
    python bench/run_all.py --plot-only   # redraw docs/bench.png from bench/results/cost.json

Runs, in this order, each as its own process (their tables go to the terminal), letting the disk
catch up in between (sync, then until Dirty + Writeback < 64 MiB):
  bench_latency.py   trigger in the simulator -> MQTT message at a subscriber, N = 1, 50, 200
  bench_cost.py      N simulated cameras recorded by `recorderd run` and by N ffmpeg processes,
                     under the realistic load (each camera at its own phase, frames in link
                     bursts), then the old shared-ticker load as a what-if (cost-ticker.json)
  bench_protocol.py  the multipart parser per ~22 KB part (issue 4)
  bench_schedule.py  `recorderd schedule query` per line (issue 3)
Results: bench/results/{cost,latency,micro,summary}.json, bench/results/summary.md (markdown tables
for docs/performance.md) and the plot docs/bench.png (CPU per frame and PSS per camera against N,
recorderd and ffmpeg).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as bl

HERE = Path(__file__).resolve().parent
PLOT = bl.ROOT / "docs" / "bench.png"


def run(script: str, *args: str, capture: bool = False) -> str:
    cmd = [bl.PY, str(HERE / script), *args]
    print(f"\n$ {' '.join(cmd[1:])}", flush=True)
    t = time.monotonic()
    done = subprocess.run(cmd, capture_output=capture, text=True, check=False)
    if capture:
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr[-3000:])
    print(f"({script}: {time.monotonic() - t:.0f} s, exit {done.returncode})", flush=True)
    if done.returncode != 0:
        raise SystemExit(f"{script} failed (exit {done.returncode})")
    return done.stdout if capture else ""


def plot(cost: dict[str, Any], out: Path, ticker: dict[str, Any] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, dict[str, list[float]]] = {}
    loads = [("", cost)] + ([(" (shared ticker)", ticker)] if ticker else [])
    for suffix, data in loads:
        for r in data["runs"]:
            for client in ("recorderd", "ffmpeg"):
                if client in r and r[client].get("cpu_us_per_frame") is not None:
                    s = series.setdefault(client + suffix, {"n": [], "cpu": [], "total": [], "pss": []})
                    s["n"].append(r["n"])
                    s["cpu"].append(r[client]["cpu_us_per_frame"])
                    s["total"].append(r[client]["cpu_pct_per_cam"] * r["n"])
                    s["pss"].append(r[client]["pss_mib"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    style = {
        "recorderd": ("tab:blue", "o", "-"),
        "ffmpeg": ("tab:red", "s", "-"),
        "recorderd (shared ticker)": ("tab:blue", "o", ":"),
        "ffmpeg (shared ticker)": ("tab:red", "s", ":"),
    }
    panels = [
        ("cpu", "µs", "CPU per 22 KB frame", False),
        ("total", "% of one core", "CPU, all cameras", True),
        ("pss", "MiB", "memory (PSS), all cameras", True),
    ]
    for ax, (key, ylabel, title, logy) in zip(axes, panels, strict=True):
        for client, s in series.items():
            colour, marker, line = style[client]
            ax.plot(s["n"], s[key], marker=marker, color=colour, linestyle=line, label=client)
        ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0)
        ax.set_xlabel("cameras (N)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    m = cost.get("machine", {})
    fig.suptitle(
        f"recorderd vs ffmpeg -c copy, MJPEG 640x480 ~22 KB at 10 fps per camera, cameras at their "
        f"own phases, frames in link bursts; dotted: all at one instant "
        f"({m.get('cpus', '?')} shared cores, load {str(m.get('loadavg', '?')).split()[0]})",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    print(f"plot: {out}")


def markdown(cost: dict[str, Any] | None, latency: dict[str, Any] | None, title: str = "") -> str:
    out = [f"**{title}**", ""] if title and cost else []
    if cost:
        out += [
            "| N | client | CPU µs/frame | CPU % of a core per camera | PSS MiB | PSS MiB per camera | fps per camera | frames lost | skipped by sim | disk MB/s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in cost["runs"]:
            for client in ("recorderd", "ffmpeg"):
                if client in r:
                    c = r[client]
                    out.append(
                        f"| {r['n']} | {client} | {c['cpu_us_per_frame']} | {c['cpu_pct_per_cam']} | "
                        f"{c['pss_mib']} | {c['pss_per_cam_mib']} | {c['fps_per_cam']} | {c['lost']} | "
                        f"{c['skipped']} | {c['disk_mb_s']} |"
                    )
            if "ratio" in r:
                q = r["ratio"]
                out.append(
                    f"| {r['n']} | **recorderd / ffmpeg** | {q.get('cpu_us_per_frame', '-')} | "
                    f"{q.get('cpu_pct_per_cam', '-')} | {q.get('pss_mib', '-')} | {q.get('pss_per_cam_mib', '-')} "
                    f"| | | | |"
                )
            elif "ffmpeg_skipped" in r:
                out.append(f"| {r['n']} | ffmpeg | {r['ffmpeg_skipped']} | | | | | | | |")
        out.append("")
    if latency:
        out += [
            "| N | framing | message | count | missed | p50 ms | p99 ms | max ms |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in latency["runs"]:
            for kind in ("state", "event"):
                s = r[kind]
                out.append(
                    f"| {r['n']} | {r.get('framing', '')} | {kind} | {s['count']} | {s['missed']} | "
                    f"{s['p50_ms']} | {s['p99_ms']} | {s['max_ms']} |"
                )
        out.append("")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="N = 1 and 10, short windows, few triggers")
    ap.add_argument(
        "--seconds", type=float, default=60.0, help="bench_cost measuring window (one whole 60 s segment)"
    )
    ap.add_argument(
        "--ffmpeg-max", type=int, default=500, help="largest N run with ffmpeg (also capped by memory)"
    )
    ap.add_argument("--skip", action="append", default=[], choices=["cost", "latency", "micro"])
    ap.add_argument("--plot-only", action="store_true")
    ap.add_argument("--plot", type=Path, default=PLOT, help="where the PNG goes (default docs/bench.png)")
    ap.add_argument(
        "--results", type=Path, default=bl.RESULTS, help="results directory (default bench/results)"
    )
    args = ap.parse_args()
    res = args.results
    res.mkdir(parents=True, exist_ok=True)
    started = bl.machine()
    if not args.plot_only:
        # latency first (the most sensitive to what ran before), then the cost runs; settle in between
        if "latency" not in args.skip:
            bl.settle()
            extra = ["-n", "1", "-n", "10", "--triggers", "10"] if args.quick else []
            run("bench_latency.py", *extra, "--json", str(res / "latency.json"))
        if "cost" not in args.skip:
            bl.settle()
            extra = (
                ["-n", "1", "-n", "10", "--seconds", "5"] if args.quick else ["--seconds", str(args.seconds)]
            )
            run(
                "bench_cost.py",
                *extra,
                "--ffmpeg-max",
                str(args.ffmpeg_max),
                "--json",
                str(res / "cost.json"),
            )
            if not args.quick:  # the what-if the figures before December 2026 were taken under
                bl.settle()
                run(
                    "bench_cost.py",
                    "-n",
                    "50",
                    "-n",
                    "200",
                    "--load",
                    "ticker",
                    "--seconds",
                    str(args.seconds),
                    "--json",
                    str(res / "cost-ticker.json"),
                )
        if "micro" not in args.skip:
            bl.settle()
            micro = {
                "protocol": run(
                    "bench_protocol.py",
                    *(["--parts", "500", "--repeat", "2"] if args.quick else []),
                    capture=True,
                ),
                "schedule": run(
                    "bench_schedule.py",
                    *(["--lines", "1000", "--runs", "1"] if args.quick else []),
                    capture=True,
                ),
            }
            bl.write_results("micro", micro, res / "micro.json")
    cost = json.loads((res / "cost.json").read_text()) if (res / "cost.json").exists() else None
    ticker = (
        json.loads((res / "cost-ticker.json").read_text()) if (res / "cost-ticker.json").exists() else None
    )
    latency = json.loads((res / "latency.json").read_text()) if (res / "latency.json").exists() else None
    if cost and importlib.util.find_spec("matplotlib") is None:
        print("plot skipped: matplotlib is not installed (pip install -e '.[bench]')")
    elif cost:
        plot(cost, args.plot, ticker)
    md = markdown(cost, latency, "realistic load")
    if ticker:
        md += "\n" + markdown(ticker, None, "shared ticker (what-if)")
    (res / "summary.md").write_text(md)
    bl.write_results("summary", {"started": started, "ended": bl.machine()}, res / "summary.json")
    print("\n" + md)
    print(f"markdown: {res / 'summary.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
