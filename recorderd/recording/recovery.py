"""Start-up recovery: make the index and the recordings directory agree again after a crash.

1. Every unfinished file (*.mkv.part) is repaired in place (cut after its last whole cluster, Cues
   and Duration added), renamed to .mkv, the directory fsynced, and only then indexed
   (complete = false: it was cut short). One without a single whole video frame is deleted.
2. Rows whose file vanished are dropped.
3. Files the index lacks are scanned and indexed.
Blocking: run it in a worker thread before any recorder starts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from recorderd.recording.index import Index
from recorderd.recording.layout import PART, SUFFIX, camera_of, free_final, fsync_dir, is_part
from recorderd.recording.mkv import MkvError, Scan, repair, scan_file

log = logging.getLogger("recorderd.recording")


@dataclass(slots=True)
class RecoveryReport:
    repaired: list[Path] = field(default_factory=list)
    deleted: list[Path] = field(default_factory=list)  # unfinished files with nothing playable
    dropped_rows: int = 0
    indexed: list[Path] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)  # .mkv files that are not ours: left alone

    def summary(self) -> str:
        return (
            f"{len(self.repaired)} repaired, {len(self.deleted)} empty deleted, {self.dropped_rows} stale rows "
            f"dropped, {len(self.indexed)} indexed, {len(self.unreadable)} unreadable"
        )


def index_row(index: Index, path: Path, camera: str, s: Scan, zone: tzinfo, *, complete: bool) -> None:
    """Index a file from what it says about itself (its Info and Tags)."""
    origin = s.origin_wall or path.stat().st_mtime - s.duration_ms / 1000
    start = datetime.fromtimestamp(origin + (s.first_ts or 0) / 1000, zone)
    end = datetime.fromtimestamp(origin + s.duration_ms / 1000, zone)
    reason = s.tags.get("reason") or path.stem.partition("-")[2] or "unknown"
    index.add_recording(
        camera,
        path,
        start,
        end,
        s.video_frames,
        s.size,
        reason,
        s.tags.get("incident", "").split(",")[0] or None,
        complete=complete,
    )


def close_out(index: Index, part: Path, camera: str, zone: tzinfo) -> Path | None:
    """Repair an unfinished file, rename it to .mkv, fsync, index it (complete = false).

    Returns the new path, or None when nothing playable was left (file and row deleted).
    """
    try:
        s: Scan | None = repair(part)
    except (MkvError, OSError) as e:
        empty = part.exists() and part.stat().st_size == 0
        if empty:  # cut off before its first cluster: nothing was lost that had reached the disk
            log.info("recovery: %s: empty; deleted", part)
        else:
            log.warning("recovery: %s: %s; deleted", part, e)
        s = None
    if s is None or s.video_frames == 0:
        part.unlink(missing_ok=True)
        fsync_dir(part.parent)
        index.remove_recording(part)
        return None
    final = free_final(part)
    os.rename(part, final)
    fsync_dir(part.parent)
    index_row(index, final, camera, s, zone, complete=False)
    index.remove_recording(part)
    return final


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.glob(f"*/*/{pattern}") if p.is_file())


def recover(index: Index, root: Path, zone_for: Callable[[str], tzinfo] = lambda _c: UTC) -> RecoveryReport:
    report = RecoveryReport()
    if not root.exists():
        return report
    for part in _files(root, f"*{SUFFIX}{PART}"):
        final = close_out(index, part, camera_of(part, root), zone_for(camera_of(part, root)))
        (report.repaired if final else report.deleted).append(final or part)
    known = set()
    for row in index.list_recordings():
        if not row.path.exists():
            index.remove_recording(row.path)
            report.dropped_rows += 1
        else:
            known.add(row.path)
    for path in _files(root, f"*{SUFFIX}"):
        if path in known or is_part(path):
            continue
        camera = camera_of(path, root)
        try:
            s = scan_file(path)
        except (MkvError, OSError) as e:
            log.warning("recovery: %s: %s; not indexed", path, e)
            report.unreadable.append(path)
            continue
        index_row(index, path, camera, s, zone_for(camera), complete=s.complete)
        report.indexed.append(path)
    return report
