#!/usr/bin/env python3
"""The web UI's targets (issue 17), measured on this machine, on localhost:

    python bench/bench_webui.py                 # everything (about 4 minutes)
    python bench/bench_webui.py --only player   # or --only live

player: the simulator and the daemon (in this process, a thread of their own) with a camera
recording continuously (640x480, 10 fps, ~22 KB JPEGs, mu-law) and a synthetic 1 h recording of the
same camera put in the state directory before the start (36,000 frames, ~800 MB; indexed by the
start-up recovery); Debian's chromium driven by Playwright:
- open: from the click on an incident's "Play" on the events page to its first frame drawn;
- seek: `seek(t)` to random points of the 1 h file until the frame is drawn (the first one pays for
  reading the file's frame table, reported apart);
- sync: 60 s of playback of the 1 h file at 1x with sound; at every new frame, the time being heard
  (from the AudioContext's clock and the chunk playing) minus the frame's recorded time.
live: `recorderd simulate` and `recorderd run` in processes of their own, one camera recording
continuously; the daemon's CPU (utime + stime, /proc) over 30 s with no viewer, then with 20 viewers
of live.mjpg reading everything (HTTP clients in this process); frames lost: those the simulator
sent whole on the daemon's stream in the window that are not in the recorded files (by the `seq=`
each simulated JPEG carries).
JSON goes to bench/results/webui.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as bl
import httpx

SEQ = re.compile(rb"recorderd-sim camera=(\S+) seq=(\d+) ")
HOUR_FRAMES = 36_000


def write_hour(state: Path, camera: str, start: datetime) -> Path:
    """A closed 1 h recording (10 fps, ~22 KB frames, mu-law) where the daemon's recovery finds it."""
    from recorderd.recording.frames import AudioFormat
    from recorderd.recording.mkv import MkvFile, Muxer
    from tests.support.synth import make_jpegs

    jpegs = make_jpegs(50, (640, 480), quality=80, noise=0.06)
    path = state / "recordings" / camera / f"{start:%Y-%m-%d}" / f"{start:%H%M%S}-continuous.mkv"
    path.parent.mkdir(parents=True, exist_ok=True)
    muxer = Muxer(
        origin_wall=start.timestamp(), audio=AudioFormat(), tags={"camera": camera, "reason": "continuous"}
    )
    f = MkvFile(path, muxer)
    tone = bytes((i * 7) & 0xFF for i in range(800))
    for n in range(HOUR_FRAMES):
        for chunk in (muxer.add_video(n * 100, jpegs[n % len(jpegs)]), muxer.add_audio(n * 100.0, tone)):
            if chunk:
                f.write(chunk)
    f.finish()
    f.close()
    return path


def bench_player(seconds: float) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.support.webharness import DaemonThread, launch

    tmp = Path(tempfile.mkdtemp(prefix="bench-webui-"))
    hour_start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    t = time.monotonic()
    path = write_hour(tmp / "state", "front", hour_start)
    print(f"1 h file: {path.stat().st_size / 1e6:.0f} MB written in {time.monotonic() - t:.0f} s", flush=True)
    sims = {
        "front": {"dialect": "vapix", "fps": 10, "audio": "mulaw", "width": 640, "height": 480, "quality": 80}
    }
    cams = {
        "front": {"triggers": ["motion"], "audio": True, "record": {"mode": "continuous", "segment": "10s"}}
    }
    out: dict[str, Any] = {}
    with DaemonThread(tmp, sims, cams, token="bench", start_timeout=180) as d, sync_playwright() as pw:
        cam = d.sim["front"]
        for _ in range(6):  # incidents to open
            d.run(cam.set_trigger, "motion", True)
            time.sleep(1.5)
            d.run(cam.set_trigger, "motion", False)
            time.sleep(1.5)
        time.sleep(12)  # their files closed
        browser = launch(pw, tmp / "profile", 1280, 900)
        page = browser.new_page()
        page.set_default_timeout(30_000)
        page.goto(d.url + "/ui/login")
        page.fill("#token", "bench")
        page.press("#token", "Enter")
        page.wait_for_selector("article.camera")

        opens = []
        for k in range(6):
            page.goto(d.url + "/ui/#/events")
            page.wait_for_selector("table.events tbody tr")
            page.evaluate("window.recorderdPlayer = null; window.__t0 = performance.now()")
            page.click(f"table.events tbody tr:nth-child({k + 1}) >> text=Play")
            page.wait_for_function("() => window.recorderdPlayer && recorderdPlayer.stats.firstDraw != null")
            opens.append(page.evaluate("recorderdPlayer.stats.firstDraw - window.__t0"))
        out["open_ms"] = _summary(opens)
        print("open an incident -> first frame:", out["open_ms"], flush=True)

        # seeks in the 1 h file
        t0 = hour_start.timestamp() * 1000
        rng = random.Random(17)
        seeks, settled = [], []
        for _ in range(31):
            at = t0 + rng.uniform(0, 3600e3)
            # drawn: the seek's frame on the canvas (the player's own mark); settled: seek() returned,
            # the file's frame table read too (the first seek into a file draws before that)
            drawn, done = page.evaluate(
                "async (t) => { const k = recorderdPlayer.stats.seeks.length, s = performance.now();"
                " await recorderdPlayer.seek(t); const d = performance.now() - s;"
                " return [recorderdPlayer.stats.seeks.length > k ? recorderdPlayer.stats.seeks[k] : d, d]; }",
                at,
            )
            seeks.append(drawn)
            settled.append(done)
        print("seeks, frame drawn (ms), in order:", [round(s) for s in seeks], flush=True)
        print("seeks, settled (ms), in order:", [round(s) for s in settled], flush=True)
        out["seek_first_ms"] = round(seeks[0], 1)
        out["seek_first_settled_ms"] = round(settled[0], 1)
        out["seek_ms"] = _summary(seeks[1:])
        print(
            "seek in 1 h: first",
            out["seek_first_ms"],
            f"(settled {out['seek_first_settled_ms']})",
            "then",
            out["seek_ms"],
            flush=True,
        )

        # 60 s of playback with sound
        page.evaluate("(t) => recorderdPlayer.seek(t)", t0 + 600e3)
        page.click("#play")
        time.sleep(seconds)
        av = page.evaluate("recorderdPlayer.stats.av")
        drawn = page.evaluate("Number(document.getElementById('frame').dataset.time)")
        heard = page.evaluate("recorderdPlayer.audioTime()")
        state = page.evaluate("recorderdPlayer.audio.state")
        page.click("#play")
        last10 = av[-100:]
        out["sync"] = {
            "seconds": seconds,
            "audio_context": state,
            "frames_measured": len(av),
            "offset_ms_all": _summary(av),
            "offset_ms_last_10s": _summary(last10),
            "max_abs_ms_last_10s": round(max(abs(x) for x in last10), 1) if last10 else None,
            "played_s": round((drawn - (t0 + 600e3)) / 1000, 2),
            "heard_minus_shown_at_end_ms": round(heard - drawn, 1),
        }
        print("sync:", out["sync"], flush=True)
        browser.close()
    return out


def _summary(xs: list[float]) -> dict[str, float]:
    if not xs:
        return {}
    s = sorted(xs)
    return {
        "n": len(s),
        "median": round(statistics.median(s), 1),
        "p90": round(s[int(0.9 * (len(s) - 1))], 1),
        "max": round(s[-1], 1),
        "min": round(s[0], 1),
    }


def _viewer(url: str, stop: threading.Event, counts: list[int], i: int) -> None:
    with httpx.Client(timeout=30) as c, c.stream("GET", url, headers={"Authorization": "Bearer bench"}) as r:
        for chunk in r.iter_bytes(65536):
            counts[i] += chunk.count(b"--recorderdframe")
            if stop.is_set():
                return


def bench_live(window: float, viewers: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-webui-live-"))
    cam = {"dialect": "mjpeg", "fps": 10, "width": 640, "height": 480, "quality": 80}
    out: dict[str, Any] = {}
    with bl.Sim(work, {"front": cam}) as sim:
        c = sim.cams[0]
        port = bl.free_port()
        table = (
            f'[cameras.front]\ndialect = "mjpeg"\nvideo_url = "{c.video_url}"\n'
            'record = { mode = "continuous", segment = "60s" }\n'
        )
        cfg = work / "recorderd.toml"
        bl.daemon_config(cfg, work / "state", [table])
        text = cfg.read_text().replace(
            'http_listen = ""', f'http_listen = "127.0.0.1:{port}"\nhttp_token = "bench"'
        )
        cfg.write_text(text)
        proc = bl.start_daemon(cfg, work / "daemon.log")
        try:
            sim.wait_streaming()
            time.sleep(5)
            live = f"http://127.0.0.1:{port}/ui/api/cameras/front/live.mjpg"
            sent_before = set(sim.frames(c))
            a = bl.cpu_seconds(proc.pid)
            time.sleep(window)
            idle = (bl.cpu_seconds(proc.pid) - a) / window
            stop = threading.Event()
            counts = [0] * viewers
            threads = [threading.Thread(target=_viewer, args=(live, stop, counts, i)) for i in range(viewers)]
            for th in threads:
                th.start()
            time.sleep(3)
            got0 = sum(counts)
            a = bl.cpu_seconds(proc.pid)
            time.sleep(window)
            watched = (bl.cpu_seconds(proc.pid) - a) / window
            got = sum(counts) - got0
            stop.set()
            for th in threads:
                th.join(10)
            sent_after = set(sim.frames(c))
            time.sleep(2)
        finally:
            bl.stop(proc)
        window_seqs = sent_after - sent_before
        recorded: set[int] = set()
        for f in (work / "state" / "recordings").rglob("*.mkv"):
            recorded |= {int(m.group(2)) for m in SEQ.finditer(f.read_bytes())}
        lost = sorted(window_seqs - recorded)
        out = {
            "viewers": viewers,
            "window_s": window,
            "cpu_pct_no_viewer": round(idle * 100, 2),
            "cpu_pct_viewers": round(watched * 100, 2),
            "cpu_pct_extra": round((watched - idle) * 100, 2),
            "frames_to_viewers_per_s": round(got / window, 1),
            "frames_sent_while_measured": len(window_seqs),
            "frames_lost": len(lost),
        }
    print("live:", out, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["player", "live"])
    ap.add_argument("--seconds", type=float, default=60.0, help="playback for the sync figure")
    ap.add_argument("--window", type=float, default=30.0, help="CPU window of the live figure")
    ap.add_argument("--viewers", type=int, default=20)
    args = ap.parse_args()
    old = bl.RESULTS / "webui.json"  # --only keeps the other part's figures of the last run
    results: dict[str, Any] = json.loads(old.read_text()) if args.only and old.exists() else {}
    results["machine"] = bl.machine()
    if args.only in (None, "player"):
        results["player"] = bench_player(args.seconds)
    if args.only in (None, "live"):
        results["live"] = bench_live(args.window, args.viewers)
    print("results:", bl.write_results("webui", results))


if __name__ == "__main__":
    main()
