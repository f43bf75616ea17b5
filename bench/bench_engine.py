#!/usr/bin/env python3
"""The daemon's per-frame cost in-process, split user/system, with chunk counts and optional profiles.

    python bench/bench_engine.py -n 50                      # recording continuously and recording off
    python bench/bench_engine.py -n 50 --record off --cprofile bench/results/engine.prof

The simulator runs in its own process (N plain MJPEG cameras, 10 fps, ~22 KB frames); the daemon
(`Daemon`, as `recorderd run` builds it) runs in this process, so its CPU is read with
getrusage(RUSAGE_SELF) around the measuring window, and the engine's own counters give frames and
network chunks. `--cprofile` writes a cProfile of the window (deterministic call counts; its
overhead inflates the times, so read it for counts and proportions only). The frame-cost figures
of record are bench_cost.py's (a separate `recorderd run` process); this one is for finding where
the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as bl
import trio


async def measure_daemon(cfg_path: Path, n: int, args: argparse.Namespace) -> dict[str, Any]:
    from recorderd.cameras import http as camhttp
    from recorderd.config.load import load_config
    from recorderd.core.gcpolicy import settle_for_daemon
    from recorderd.daemon.lifecycle import Daemon

    chunks = [0]
    if args.count_chunks:
        orig = camhttp.BodyReader.read

        async def counting(self: camhttp.BodyReader) -> bytes:
            chunks[0] += 1
            return await orig(self)

        camhttp.BodyReader.read = counting  # type: ignore[method-assign]
    from recorderd.recording import recorder as rec_mod

    if args.recorder_io == "inline":  # what-if: file writes in the trio thread (no thread hop)

        async def _io(self: Any, fn: Any, *a: Any, **kw: Any) -> Any:
            return fn(*a)

        rec_mod.CameraRecorder._io = _io  # type: ignore[method-assign]
    elif args.recorder_io == "unbatched":  # what-if: a worker-thread hop per cluster write
        rec_mod.ThreadBatch.run_sync = lambda self, fn, *a: trio.to_thread.run_sync(fn, *a)  # type: ignore[method-assign,assignment]
    elif args.recorder_io == "null":  # what-if: clusters built but not written (the write's share)
        rec_mod.CameraRecorder._write_sync = staticmethod(lambda f, chunk, sync: None)  # type: ignore[assignment]
    daemon = Daemon(load_config(cfg_path))
    if not args.default_gc:
        settle_for_daemon()  # as `recorderd run` does
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        engine = daemon.engine
        assert engine is not None
        with trio.fail_after(args.connect_timeout):
            while not all(c.stats.frames > 0 for c in engine.cameras.values()):
                await trio.sleep(0.2)
        await trio.sleep(args.warmup)
        prof = cProfile.Profile() if args.cprofile else None
        f0 = sum(c.stats.frames for c in engine.cameras.values())
        b0 = sum(c.stats.bytes for c in engine.cameras.values())
        k0 = chunks[0]
        mux = engine.mux
        m0 = (mux.rounds, mux.reads) if mux is not None else (0, 0)
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.monotonic()
        if prof is not None:
            prof.enable()
        await trio.sleep(args.seconds)
        if prof is not None:
            prof.disable()
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        t1 = time.monotonic()
        f1 = sum(c.stats.frames for c in engine.cameras.values())
        b1 = sum(c.stats.bytes for c in engine.cameras.values())
        k1 = chunks[0]
        m1 = (mux.rounds, mux.reads) if mux is not None else (0, 0)
        dropped = sum(c.stats.dropped_frames for c in engine.cameras.values())
        nursery.cancel_scope.cancel()
    if prof is not None:
        prof.dump_stats(args.cprofile)
    frames = f1 - f0
    return {
        "n": n,
        "record": args.record,
        "recorder_io": args.recorder_io,
        "seconds": round(t1 - t0, 2),
        "frames": frames,
        "fps_per_cam": round(frames / (t1 - t0) / n, 2),
        "user_us_per_frame": round((r1.ru_utime - r0.ru_utime) / frames * 1e6, 1),
        "sys_us_per_frame": round((r1.ru_stime - r0.ru_stime) / frames * 1e6, 1),
        "cpu_us_per_frame": round((r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / frames * 1e6, 1),
        "chunks_per_frame": round((k1 - k0) / frames, 2) if args.count_chunks else None,
        "kb_per_frame": round((b1 - b0) / frames / 1000, 1),
        "ctx_switches_per_frame": round(
            ((r1.ru_nvcsw + r1.ru_nivcsw) - (r0.ru_nvcsw + r0.ru_nivcsw)) / frames, 2
        ),
        "dropped": dropped,
        # the engine's ReadMux: socket reads per wake-up of its task (all cameras' streams)
        "mux_reads_per_round": round((m1[1] - m0[1]) / max(1, m1[0] - m0[0]), 2),
        "mux_reads_per_frame": round((m1[1] - m0[1]) / frames, 2),
        "loadavg": bl.loadavg(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--cameras", type=int, default=50)
    ap.add_argument("--record", action="append", choices=["continuous", "off"])
    ap.add_argument("--seconds", type=float, default=60.0, help="window (one 60 s segment by default)")
    ap.add_argument(
        "--segment", default="60s", help='segment length (what-if: "1h" keeps segment cuts out of the window)'
    )
    bl.add_load_argument(ap)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--connect-timeout", type=float, default=120.0)
    ap.add_argument("--count-chunks", action="store_true", help="count network chunks (adds a layer)")
    ap.add_argument(
        "--recorder-io",
        choices=["thread", "inline", "unbatched", "null"],
        default="thread",
        help="what-if: cluster writes in the trio thread (inline), one worker-thread hop per write "
        "(unbatched), or not written at all (null); default: as the daemon does (batched hops)",
    )
    ap.add_argument("--default-gc", action="store_true", help="what-if: CPython's collector settings")
    ap.add_argument("--cprofile", type=Path, help="write a cProfile of the window here")
    ap.add_argument("--json", type=Path, help="results file (default bench/results/engine.json)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = []
    for record in args.record or ["continuous", "off"]:
        args.record = record
        work = Path(tempfile.mkdtemp(prefix="bench-engine-"))
        try:
            cams = {
                name: {"dialect": "mjpeg", "fps": 10, "audio": "none"} for name in bl.cam_names(args.cameras)
            }
            with bl.Sim(work, cams, simulator=bl.apply_load(args.load, cams)) as sim:
                tables = []
                for c in sim.cams:
                    tables += [
                        f"[cameras.{c.name}]",
                        'dialect = "mjpeg"',
                        f'video_url = "{c.video_url}"',
                        "triggers = []",
                        f'record = {{ mode = "{record}", segment = "{args.segment}" }}',
                        "",
                    ]
                cfg = work / "recorderd.toml"
                bl.daemon_config(cfg, work / "state", tables)
                results.append(trio.run(measure_daemon, cfg, args.cameras, args))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    cols = [
        "n",
        "record",
        "recorder_io",
        "cpu_us_per_frame",
        "user_us_per_frame",
        "sys_us_per_frame",
        "chunks_per_frame",
        "ctx_switches_per_frame",
        "fps_per_cam",
        "mux_reads_per_round",
        "mux_reads_per_frame",
        "dropped",
    ]
    print(bl.table(results, cols, title="daemon in-process, per frame"))
    print(f"load average {bl.loadavg()}")
    out = bl.write_results("engine", results, args.json)
    print(f"JSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
