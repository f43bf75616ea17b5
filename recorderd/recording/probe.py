"""ffprobe/ffmpeg as independent judges of our files (tests and drills; never used by the daemon)."""

from __future__ import annotations

import json
import subprocess
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


def packet_md5s(path: Path, stream: str = "v") -> list[str]:
    """MD5s of one stream's packets as ffmpeg demuxes them (-c copy), to compare with what was fed."""
    r = subprocess.run(
        [
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
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if r.returncode != 0 or r.stderr.strip():
        raise ProbeError(f"{path}: ffmpeg: {r.stderr.strip()}")
    return [line.rsplit(",", 1)[1].strip() for line in r.stdout.splitlines() if not line.startswith("#")]


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
