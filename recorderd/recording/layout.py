"""Where recordings live and how they are named.

    <state_dir>/recordings/<camera>/<YYYY-MM-DD>/<HHMMSS>-<reason>[-<n>].mkv

Date and time are the camera's local time of the first frame; reason is "continuous" or the
trigger that opened the clip ("input:1" is written "input-1"); -<n> (2, 3, ...) only when the name
is taken. While a file is written its name ends in ".mkv.part"; it is renamed to ".mkv" when it is
closed cleanly (or repaired at start-up), so a ".part" file is always one being written or cut off
by a crash.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

RECORDINGS = "recordings"
PART = ".part"
SUFFIX = ".mkv"


def recordings_root(state_dir: Path) -> Path:
    return Path(state_dir).absolute() / RECORDINGS


def safe_reason(reason: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "-", reason).strip("-") or "event"


def part_of(final: Path) -> Path:
    return final.with_name(final.name + PART)


def final_of(part: Path) -> Path:
    return part.with_name(part.name.removesuffix(PART))


def is_part(path: Path) -> bool:
    return path.name.endswith(SUFFIX + PART)


def camera_of(path: Path, root: Path) -> str:
    return path.relative_to(root).parts[0]


def new_path(root: Path, camera: str, local: datetime, reason: str) -> Path:
    """A final (.mkv) path that is free, neither it nor its .part existing."""
    day = root / camera / f"{local:%Y-%m-%d}"
    stem = f"{local:%H%M%S}-{safe_reason(reason)}"
    n = 1
    while True:
        final = day / f"{stem}{'' if n == 1 else f'-{n}'}{SUFFIX}"
        if not final.exists() and not part_of(final).exists():
            return final
        n += 1


def free_final(part: Path) -> Path:
    """The name a .part file gets when closed: its own, or with -<n> if that is taken meanwhile."""
    final = final_of(part)
    n = 2
    while final.exists():
        final = final_of(part).with_name(f"{final_of(part).stem}-{n}{SUFFIX}")
        n += 1
    return final


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(root: Path, day: Path) -> None:
    """Create the day directory (and camera directory), fsyncing each parent that gained an entry."""
    missing = []
    d = day
    while not d.exists() and d != d.parent:
        missing.append(d)
        d = d.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        fsync_dir(d.parent)
