"""A synthetic camera recorded by the real recorder, for drills and tests (never used by the daemon).

    python -m tests.support.feeder --state-dir DIR [--mode continuous] [--seconds 30] [--fast]

Runs what `recorderd run` runs for recording (RecordingService: recovery, retention, one
CameraRecorder) for one camera "sim", fed by `synth.feed_camera` in real time (or virtual time
with --fast). Prints "READY <recovery JSON>" once start-up recovery is done and frames flow, and
a JSON report at the end.
Drills kill it with SIGKILL at random moments and check the state directory afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import trio
import trio.testing

from recorderd.config.model import Config
from recorderd.recording.index import Index
from recorderd.recording.recorder import RecordingService
from tests.support.ffprobe import check_recordings
from tests.support.synth import Scripted, feed_camera, make_jpegs


def build_config(args: argparse.Namespace) -> Config:
    return Config.model_validate(
        {
            "daemon": {"state_dir": str(args.state_dir), "timezone": args.timezone},
            "storage": {
                "max_usage": args.max_usage,
                "min_free": args.min_free,
                "check_interval": args.check_interval,
            },
            "cameras": {
                "sim": {
                    "dialect": "mjpeg",
                    "video_url": "http://127.0.0.1:1/video.mjpg",
                    "audio": not args.no_audio,
                    "record": {
                        "mode": args.mode,
                        "segment": args.segment,
                        "pre": args.pre,
                        "post": args.post,
                    },
                }
            },
        }
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    cfg = build_config(args)
    w, h = (int(x) for x in args.size.split("x"))
    jpegs = make_jpegs(args.distinct, (w, h), quality=args.quality, noise=args.noise)
    index = await trio.to_thread.run_sync(Index.open, cfg.daemon.state_dir)
    service = RecordingService(cfg, index, channel_size=4096)
    base = time.time() - trio.current_time()
    incidents = [
        Scripted(t, t + args.incident_length, f"sim-{i}")
        for i, t in enumerate(
            range(int(args.incident_every), int(args.seconds), int(args.incident_every or 1))
        )
        if args.incident_every
    ]
    sent: list[Any] = []
    async with trio.open_nursery() as nursery:
        report = await nursery.start(service.run)
        send = service.recorder_for("sim")
        assert send is not None
        print(
            "READY",
            json.dumps({"recovery": report.summary(), "repaired": [str(p) for p in report.repaired]}),
            flush=True,
        )
        async with send:
            await feed_camera(
                send,
                seconds=args.seconds,
                jpegs=jpegs,
                fps=args.fps,
                audio=not args.no_audio,
                incidents=incidents,
                wall_of=(lambda m: base + m) if args.fast else None,
                sent=sent,
            )
        rec = service.recorders["sim"]
        await rec.done.wait()
        nursery.cancel_scope.cancel()
    out: dict[str, Any] = {
        "recovery": report.summary(),
        "sent_video": sum(1 for f in sent if f.kind == "video"),
        "files": [str(p) for p in rec.closed],
        "stats": rec.status(),
        "remaining": sorted(str(p) for p in service.root.glob("*/*/*.mkv")),
        "pruned_files": service.storage.deleted,
        "pruned_bytes": service.storage.freed,
    }
    index.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.support.feeder", description=__doc__)
    p.add_argument("--state-dir", type=Path, required=True)
    p.add_argument("--mode", choices=["event", "continuous"], default="continuous")
    p.add_argument("--segment", default="2s")
    p.add_argument("--pre", default="2s")
    p.add_argument("--post", default="2s")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--size", default="320x240")
    p.add_argument("--quality", type=int, default=80)
    p.add_argument("--noise", type=float, default=0.0, help="0.06 at 640x480 gives 22 KB frames")
    p.add_argument("--distinct", type=int, default=25, help="distinct JPEGs to cycle through")
    p.add_argument("--no-audio", action="store_true")
    p.add_argument("--incident-every", type=float, default=0.0)
    p.add_argument("--incident-length", type=float, default=3.0)
    p.add_argument("--timezone", default="Europe/Berlin")
    p.add_argument("--max-usage", default="100%")
    p.add_argument("--min-free", default="0")
    p.add_argument("--check-interval", default="60s")
    p.add_argument(
        "--fast", action="store_true", help="virtual time (trio MockClock): as fast as the CPU goes"
    )
    p.add_argument("--check", action="store_true", help="after the run, check index and files (ffprobe)")
    args = p.parse_args(argv)
    clock = trio.testing.MockClock(autojump_threshold=0) if args.fast else None
    out = trio.run(run, args, clock=clock)
    if args.check:
        out["problems"] = check_recordings(args.state_dir)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
