"""ffprobe/ffmpeg as independent judges of our files (tests and drills; never used by the daemon)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ProbeError(Exception):
    """ffprobe or ffmpeg rejected a file."""


def ffprobe(path: Path) -> dict[str, Any]:
    """ffprobe's JSON (format and streams, packets counted)."""
    r = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_packets",
            "-show_format",
            "-show_streams",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if r.returncode != 0 or r.stderr.strip():
        raise ProbeError(f"{path}: ffprobe: {r.stderr.strip()}")
    result: dict[str, Any] = json.loads(r.stdout)
    return result


@dataclass(frozen=True)
class Packet:
    pts: int  # ms
    size: int
    md5: str


def packets(path: Path, stream: str = "v") -> list[Packet]:
    """One stream's packets as ffmpeg demuxes them (-c copy: the stored bytes, never decoded)."""
    cmd = [
        "ffmpeg",
        "-v",
        "error",
        "-i",
        str(path),
        "-map",
        f"0:{stream}",
        "-c",
        "copy",
        "-f",
        "framemd5",
        "-",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0 or r.stderr.strip():
        raise ProbeError(f"{path}: ffmpeg: {r.stderr.strip()}")
    out = []
    for line in r.stdout.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        _idx, _dts, pts, _dur, size, md5 = (x.strip() for x in line.split(","))
        out.append(Packet(int(pts), int(size), md5))
    return out


def packet_md5s(path: Path, stream: str = "v") -> list[str]:
    """MD5s of one stream's packets as ffmpeg demuxes them, to compare with what was fed."""
    return [p.md5 for p in packets(path, stream)]


def decode_errors(path: Path) -> str:
    """ffmpeg's complaints when decoding the whole file ("" when none)."""
    r = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if r.returncode != 0:
        raise ProbeError(f"{path}: ffmpeg: {r.stderr.strip()}")
    return r.stderr


def check_recordings(state_dir: Path, *, with_ffprobe: bool = True) -> list[str]:
    """Problems found between the index and the files (empty when they agree and all play).

    Every recording must be a whole, closed Matroska file that ffprobe reads without error, with
    exactly the video frames its row says; there must be no .part file, no row without its file
    and no file without its row.
    """
    from recorderd.recording.index import Index
    from recorderd.recording.layout import recordings_root
    from recorderd.recording.mkv import MkvError, scan_file

    problems = []
    root = recordings_root(state_dir)
    files = {p for p in root.glob("*/*/*") if p.is_file()}
    with Index.open(state_dir) as index:
        rows = {r.path: r for r in index.list_recordings()}
    for p in sorted(files - set(rows)):
        problems.append(f"{p}: file without index row")
    for p in sorted(set(rows) - files):
        problems.append(f"{p}: index row without file")
    for p, row in sorted(rows.items()):
        if p not in files:
            continue
        try:
            s = scan_file(p)
        except (MkvError, OSError) as e:
            problems.append(f"{p}: {e}")
            continue
        if not s.complete:
            problems.append(f"{p}: not closed (no Cues/Duration/size)")
        if s.video_frames != row.frames:
            problems.append(f"{p}: {s.video_frames} frames in the file, {row.frames} in the index")
        if row.end is None:
            problems.append(f"{p}: index row without end")
        if with_ffprobe:
            try:
                info = ffprobe(p)
                packets = int(info["streams"][0].get("nb_read_packets", -1))
                if packets != s.video_frames:
                    problems.append(f"{p}: ffprobe reads {packets} video packets, we wrote {s.video_frames}")
            except ProbeError as e:
                problems.append(str(e))
    return problems
