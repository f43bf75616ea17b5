"""Repair of a file cut short (a crash, a kill, a full disk): close it out in place so that it plays
up to its last whole cluster. recovery.py runs it on every .part file at start-up."""

from __future__ import annotations

import os
from pathlib import Path

from recorderd.recording.mkv.fileio import pwrite_all, scan_file
from recorderd.recording.mkv.mux import finalize
from recorderd.recording.mkv.read import MkvError, Scan


def repair(path: Path) -> Scan:
    """Close out an unfinished file in place: cut after its last whole cluster, add Cues and Duration.

    Returns the scan of the repaired file. Raises MkvError if the file is not ours or holds no
    header (such a file holds nothing playable; the caller deletes it).
    """
    s = scan_file(path)
    if s.complete:
        return s
    if s.layout is None or s.good_end == 0:
        raise MkvError("no usable Matroska header")
    tail, patches = finalize(s.layout, s.cues, s.duration_ms, s.good_end)
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.ftruncate(fd, s.good_end)
        pwrite_all(fd, tail, s.good_end)
        os.fsync(fd)
        for offset, data in patches:
            pwrite_all(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    return scan_file(path)
