#!/usr/bin/env python3
"""The floor: what recording N cameras costs in CPython with recorderd's own parser and muxer in
one plain loop, beside `recorderd run` and ffmpeg in the same run, on the same simulated cameras.

    python bench/bench_floor.py -n 50 -n 200

Three clients, one after the other (as bench_cost.py runs them; each after the disk settled):
- floor: a process of its own running one trio task: every 0.5 s one pass over the ready sockets
  (a checkpoint per camera, as the daemon's ReadMux), each read fed to recorderd's MultipartReader,
  each frame to recorderd's mkv Muxer, the pass's clusters written with one worker-thread hop.
  Every 10 s it fsyncs each file and gives its pages back to the kernel, as the daemon does
  (`--page-cache keep`: neither). It leaves out all the daemon does besides: frame checks,
  statistics, timestamps from the kernel, liveness, segment cuts, the index, the recording machine,
  events, retention, status.
  It is a bound, not a product: no daemon built from these parts in CPython costs less.
- recorderd: `recorderd run` recording continuously (bench_cost.py's measurement);
- ffmpeg: N `ffmpeg -f mpjpeg -i URL -c copy -f segment` processes (bench_cost.py's).
CPU is every thread's on-CPU time (schedstat) over the window, per frame found in the files
(each JPEG's seq= comment). JSON goes to bench/results/floor.json; docs/performance.md has figures.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_cost as bc
import benchlib as bl

CADENCE = 0.5  # seconds between passes (the daemon's ReadMux default)
SYNC = 10.0  # with --page-cache drop: fsync and give the pages back this often (the daemon's sync_interval)
READ = 262144  # bytes per read (the daemon's BULK_CHUNK)


def _connect(url: str, user: str, password: str, auth: str) -> tuple[socket.socket, str, bytes]:
    """A plain HTTP/1.0 GET of the camera's MJPEG stream: the socket, the boundary's Content-Type
    and the body bytes read with the headers."""
    if auth not in ("basic", "none", ""):
        raise SystemExit(f"the floor speaks Basic auth only, not {auth!r}")
    u = urlsplit(url)
    sock = socket.create_connection((u.hostname or "127.0.0.1", u.port or 80))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    target = u.path + (f"?{u.query}" if u.query else "")
    cred = base64.b64encode(f"{user}:{password}".encode()).decode()
    sock.sendall(f"GET {target} HTTP/1.0\r\nHost: {u.netloc}\r\nAuthorization: Basic {cred}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        more = sock.recv(4096)
        if not more:
            raise SystemExit(f"{url}: closed before the headers")
        head += more
    block, rest = head.split(b"\r\n\r\n", 1)
    lines = block.split(b"\r\n")
    if b" 200 " not in lines[0] + b" ":
        raise SystemExit(f"{url}: {lines[0].decode(errors='replace')}")
    ctype = next(
        (
            ln.split(b":", 1)[1].strip().decode()
            for ln in lines[1:]
            if ln.lower().startswith(b"content-type:")
        ),
        "",
    )
    sock.setblocking(False)
    return sock, ctype, rest


def floor_loop(cams: list[dict[str, str]], out: Path, drop: bool) -> None:
    """The floor client: runs until SIGTERM (then the files are closed as they are)."""
    import trio

    from recorderd.protocol.multipart import MultipartReader, Part, parse_boundary
    from recorderd.recording.mkv.fileio import writev_all
    from recorderd.recording.mkv.mux import Muxer

    lanes: dict[int, tuple[socket.socket, MultipartReader, Muxer, int]] = {}
    ep = select.epoll()
    origin = time.monotonic()
    for c in cams:
        sock, ctype, rest = _connect(c["url"], c["username"], c["password"], c["auth"])
        fd = os.open(out / f"{c['name']}.mkv", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        muxer = Muxer(origin_wall=time.time(), audio=None, tags={"camera": c["name"]})
        reader = MultipartReader(parse_boundary(ctype))
        for item in reader.feed(rest):  # what came with the headers
            if type(item) is Part:
                muxer.add_video(round((time.monotonic() - origin) * 1000), item.body)
        lanes[sock.fileno()] = (sock, reader, muxer, fd)
        ep.register(sock.fileno(), select.EPOLLIN)
    stop = trio.Event()

    async def main() -> None:
        with trio.open_signal_receiver(signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:

                async def on_term() -> None:
                    async for _ in signals:
                        stop.set()
                        return

                nursery.start_soon(on_term)
                await run_passes()
                nursery.cancel_scope.cancel()

    def write_and_sync(writes: list[tuple[int, list[bytes]]], due: list[int]) -> None:
        for fd, chunk in writes:
            writev_all(fd, chunk)
        for fd in due:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)

    async def run_passes() -> None:
        tick = trio.current_time()
        next_sync = tick + SYNC
        while not stop.is_set():
            tick += CADENCE
            await trio.sleep_until(tick)
            writes: list[tuple[int, list[bytes]]] = []
            for fd, _ in ep.poll(0, 1024):
                await trio.lowlevel.checkpoint()  # as the daemon's pass lets events through
                sock, reader, muxer, out_fd = lanes[fd]
                while True:
                    try:
                        data = sock.recv(READ)
                    except BlockingIOError:
                        break
                    if not data:
                        ep.unregister(fd)
                        break
                    ms = round((time.monotonic() - origin) * 1000)
                    for item in reader.feed(data):
                        if type(item) is Part:
                            chunk = muxer.add_video(ms, item.body)
                            if chunk:
                                writes.append((out_fd, chunk))
                    if len(data) < READ:
                        break
            due: list[int] = []
            if drop and tick >= next_sync:  # as the daemon: fsync every SYNC s, pages given back
                next_sync = tick + SYNC
                due = [lane[3] for lane in lanes.values()]
            if writes or due:
                await trio.to_thread.run_sync(write_and_sync, writes, due)

    trio.run(main)
    for _sock, _reader, muxer, fd in lanes.values():
        writev_all(fd, muxer.flush_chunk())
        os.close(fd)


def run_floor(sim: bl.Sim, n: int, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    bl.settle()
    out = work / "floor"
    out.mkdir()
    spec = work / "floor.json"
    spec.write_text(
        json.dumps(
            [
                {
                    "name": c.name,
                    "url": c.video_url,
                    "username": c.username,
                    "password": c.password,
                    "auth": c.auth,
                }
                for c in sim.cams
            ]
        )
    )
    log = open(work / "floor.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [bl.PY, __file__, "--loop", str(spec), str(out), "--page-cache", args.page_cache],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        res, a, b = bc.measure(sim, lambda: [proc.pid], out, args)
    finally:
        rc = bl.stop(proc, 60)
        log.close()
    if rc not in (0, None):
        print((work / "floor.log").read_text()[-3000:], file=sys.stderr)
    res["exit"] = rc
    res.update(bc.frame_figures(sim, a, b, out))
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--cameras", type=int, action="append", help="camera counts (default 50 200)")
    ap.add_argument("--seconds", type=float, default=60.0, help="measuring window per client and N")
    ap.add_argument("--warmup", type=float, default=4.0)
    ap.add_argument("--tail", type=float, default=1.5)
    ap.add_argument("--connect-timeout", type=float, default=120.0)
    ap.add_argument("--json", type=Path, help="results file (default bench/results/floor.json)")
    ap.add_argument(
        "--page-cache",
        choices=["drop", "keep"],
        default="drop",
        help="drop: fsync every 10 s and give the pages back, as the daemon does (default); "
        "keep: never fsync, the pages stay cached (the floor as measured until 6 December)",
    )
    ap.add_argument("--loop", nargs=2, metavar=("CAMERAS_JSON", "OUT_DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.loop:
        floor_loop(json.loads(Path(args.loop[0]).read_text()), Path(args.loop[1]), args.page_cache == "drop")
        return 0
    args.profile = None
    runs = []
    for n in args.cameras or [50, 200]:
        work = Path(tempfile.mkdtemp(prefix="bench-floor-"))
        try:
            cams = bc.sim_cameras(n, 10.0)
            with bl.Sim(work, cams, simulator=bl.apply_load("realistic", cams)) as sim:
                run: dict[str, Any] = {"n": n}
                for client, fn in (
                    ("floor", run_floor),
                    ("recorderd", bc.run_recorderd),
                    ("ffmpeg", bc.run_ffmpeg),
                ):
                    r = fn(sim, n, work, args)
                    bc.derive(r, n)
                    run[client] = r
                runs.append(run)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    rows = []
    for run in runs:
        f = run["ffmpeg"]["cpu_us_per_frame"]
        for client in ("floor", "recorderd", "ffmpeg"):
            r = run[client]
            rows.append(
                {
                    "N": run["n"],
                    "client": client,
                    "cpu_us_per_frame": r["cpu_us_per_frame"],
                    "ratio_to_ffmpeg": round(r["cpu_us_per_frame"] / f, 3)
                    if f and r["cpu_us_per_frame"]
                    else None,
                    "fps_per_cam": r["fps_per_cam"],
                    "lost": r["lost"],
                    "skipped": r["skipped"],
                    "ffprobe_mismatch": r["ffprobe_mismatch"],
                    "loadavg_before": r["loadavg_before"].split()[0],
                }
            )
    print(bl.table(rows, list(rows[0]), title="the floor beside recorderd and ffmpeg (realistic load)"))
    out = bl.write_results("floor", runs, args.json)
    print(f"JSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
