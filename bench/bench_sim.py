#!/usr/bin/env python3
"""The simulator as a load generator: its CPU while serving N MJPEG streams at 10 fps.

    python bench/bench_sim.py                      # 100 and 500 streams, 10 s each
    python bench/bench_sim.py --streams 50 --seconds 3 --json out.json
    python bench/bench_sim.py --phase shared       # every camera's frame at one instant (a what-if)
    python bench/bench_sim.py --bursts link        # each frame in bursts as 100 Mbit/s delivers it

For each N: `recorderd simulate` serves N cameras (one stream each, ~22 KB 640x480 frames) in its own
process; a client process opens the N streams with raw sockets and only counts bytes and boundaries.
The simulator's CPU (utime + stime from /proc) is sampled over the measuring window, after a warm-up
with every stream flowing. Figures: CPU share of one core, CPU microseconds per frame sent, frames
received per stream per second, the simulator's RSS.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DELIM = b"--myboundary"


def write_config(
    path: Path, n: int, fps: float, dialect: str, phase: str = "random", bursts: str = "off"
) -> None:
    lines = ["[simulator]", f'frame_phase = "{phase}"', ""]
    burst = f'"{bursts}"' if not bursts.isdigit() else bursts
    for i in range(n):
        lines += [f"[cameras.c{i:04d}]", f'dialect = "{dialect}"', f"fps = {fps}", 'audio = "none"']
        lines += [f"frame_bursts = {burst}", ""]
    path.write_text("\n".join(lines))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def client(urls: list[tuple[str, int, str, str, str]], warmup: float, seconds: float) -> dict[str, float]:
    """Open every stream, read and count; returns bytes and frames counted in the measuring window."""
    sel = selectors.DefaultSelector()
    for host, port, path, user, pwd in urls:
        s = socket.create_connection((host, port))
        auth = base64.b64encode(f"{user}:{pwd}".encode()).decode()
        s.sendall(f"GET {path} HTTP/1.0\r\nAuthorization: Basic {auth}\r\n\r\n".encode())
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    start = time.monotonic()
    window = (start + warmup, start + warmup + seconds)
    counted = {"bytes": 0.0, "frames": 0.0, "closed": 0.0}
    print(json.dumps({"event": "connected", "streams": len(urls)}), flush=True)
    announced = False
    while (now := time.monotonic()) < window[1]:
        if now >= window[0] and not announced:
            print(json.dumps({"event": "window"}), flush=True)
            announced = True
        for key, _ in sel.select(timeout=0.05):
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            data = sock.recv(1 << 18)
            if not data:
                sel.unregister(sock)
                sock.close()
                counted["closed"] += 1
                continue
            if announced:
                counted["bytes"] += len(data)
                counted["frames"] += data.count(DELIM)
    return counted


def run_one(
    n: int,
    fps: float,
    seconds: float,
    warmup: float,
    dialect: str,
    phase: str = "random",
    bursts: str = "off",
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "sim.toml"
        write_config(cfg, n, fps, dialect, phase, bursts)
        sim = subprocess.Popen(
            [sys.executable, "-m", "recorderd", "simulate", "-c", str(cfg)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert sim.stdout is not None
            entries = [json.loads(sim.stdout.readline()) for _ in range(n)]
            urls = []
            for e in entries:
                video = e["video_url"].removeprefix("http://")
                hostport, _, path = video.partition("/")
                host, _, port = hostport.rpartition(":")
                urls.append((host, int(port), "/" + path, e["username"], e["password"]))
            reader = subprocess.Popen(
                [sys.executable, __file__, "--client", json.dumps([warmup, seconds, urls])],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert reader.stdout is not None
            events = []
            cpu0 = t0 = 0.0
            for line in reader.stdout:
                msg = json.loads(line)
                events.append(msg)
                if msg.get("event") == "window":
                    cpu0, t0 = cpu_seconds(sim.pid), time.monotonic()
                if "bytes" in msg:
                    break
            cpu1, t1 = cpu_seconds(sim.pid), time.monotonic()
            rss = rss_mib(sim.pid)
            reader.wait(timeout=30)
            got = events[-1]
        finally:
            sim.terminate()  # the simulator we started, by its own pid
            sim.wait(timeout=30)
    elapsed = t1 - t0
    frames = got["frames"]
    cpu = cpu1 - cpu0
    return {
        "streams": n,
        "fps_target": fps,
        "seconds": round(elapsed, 2),
        "cpu_share": round(cpu / elapsed, 3),
        "cpu_us_per_frame": round(cpu / frames * 1e6, 1) if frames else float("nan"),
        "fps_per_stream": round(frames / elapsed / n, 2),
        "frames": int(frames),
        "mbyte_per_s": round(got["bytes"] / elapsed / 1e6, 1),
        "rss_mib": round(rss, 1),
        "closed_streams": int(got["closed"]),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--streams", type=int, action="append", help="stream counts (default: 100 and 500)")
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=10.0, help="measuring window per run")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--dialect", default="openapi", help="camera dialect (its video stream is measured)")
    ap.add_argument("--phase", choices=["random", "shared"], default="random", help="[simulator] frame_phase")
    ap.add_argument("--bursts", default="off", help='frame_bursts: "off", "link" or a count')
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--client", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client:
        warmup, seconds, urls = json.loads(args.client)
        print(json.dumps(client([tuple(u) for u in urls], warmup, seconds)), flush=True)
        return 0
    results = [
        run_one(n, args.fps, args.seconds, args.warmup, args.dialect, args.phase, args.bursts)
        for n in args.streams or [100, 500]
    ]
    cols = [
        "streams",
        "cpu_share",
        "cpu_us_per_frame",
        "fps_per_stream",
        "mbyte_per_s",
        "rss_mib",
        "closed_streams",
    ]
    print(" ".join(f"{c:>16}" for c in cols))
    for r in results:
        print(" ".join(f"{r[c]:>16}" for c in cols))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
