"""Runs inside `unshare -rm` with the daemon's state_dir on a small tmpfs (test_full_disk_daemon.py).

    python tests/support/fulldisk_child.py CONFIG STATE_DIR

Starts `python -m recorderd run -c CONFIG`, follows its log until the disk has filled up (ENOSPC)
`--fills` times and `--after` more files were closed since the first time, stops it with SIGTERM,
then checks index and files (while the tmpfs still exists: it goes with this mount namespace) and
prints one JSON line: what the log said (files closed, deleted, disk-full events, errors), the
exit status, the files left, the index rows (recordings and incidents), and the problems found.
"""

from __future__ import annotations

import argparse
import json
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from recorderd.recording.index import Index
from recorderd.recording.layout import recordings_root
from tests.support.ffprobe import check_recordings, packets

CLOSED = re.compile(r"(\w+): closed (\S+) \(")
DELETED = re.compile(r"retention: deleted (\S+) ")
FULL = "disk full"
LEVEL = re.compile(r"^(?:\S+ \S+ )?(DEBUG|INFO|WARNING|ERROR|CRITICAL) ")  # after the time, if any


def level(line: str) -> str:
    m = LEVEL.match(line)
    return m[1] if m else ""


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("config", type=Path)
    p.add_argument("state", type=Path)
    p.add_argument("--fills", type=int, default=2)
    p.add_argument("--after", type=int, default=4)
    p.add_argument("--camera", default="cont", help="whose closes --after counts")
    p.add_argument("--timeout", type=float, default=90.0)
    args = p.parse_args()
    proc = subprocess.Popen(
        [sys.executable, "-m", "recorderd", "run", "-c", str(args.config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    log: list[str] = []
    closed: list[tuple[str, str]] = []  # (camera, file name) in order
    closed_after_full = 0
    fills = 0
    deadline = time.monotonic() + args.timeout
    outcome = "timeout"
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            outcome = "exited"
            break
        log.append(line)
        if FULL in line:
            fills += 1
        if m := CLOSED.search(line):
            closed.append((m[1], Path(m[2]).name))
            closed_after_full += fills > 0 and m[1] == args.camera
        if fills >= args.fills and closed_after_full >= args.after:
            outcome = "done"
            break
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    while (line := lines.get(timeout=5)) is not None:
        log.append(line)
        if m := CLOSED.search(line):
            closed.append((m[1], Path(m[2]).name))
    problems = check_recordings(args.state)
    with Index.open(args.state) as index:
        rows = index.list_recordings()
        incidents = index.list_incidents()
    out: dict[str, Any] = {
        "outcome": outcome,
        "exit": code,
        "fills": sum(FULL in x for x in log),
        "closed": closed,
        "deleted": [Path(m[1]).name for x in log if (m := DELETED.search(x))],
        "remaining": [(r.camera, r.path.name) for r in rows],
        "complete": [r.complete for r in rows],
        "incidents": [(i.camera, i.trigger, i.start.isoformat(), i.end is not None) for i in incidents],
        # the video packets' MD5s of each file left (ffmpeg -c copy), to name the camera's frames
        "md5s": {r.path.name: [pk.md5 for pk in packets(r.path, "v")] for r in rows if r.path.exists()},
        "files": sorted(p.name for p in recordings_root(args.state).glob("*/*/*") if p.is_file()),
        "problems": problems,
        "errors": [x for x in log if level(x) in ("ERROR", "CRITICAL") or "Traceback" in x],
        "warnings": [x for x in log if level(x) == "WARNING"],
        "tail": log[-30:],
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
