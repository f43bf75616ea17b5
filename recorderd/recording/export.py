"""Export: one Matroska file for a camera and a time range, remuxed by our own writer from the
indexed files (frames passed through, timestamps kept; gaps between files stay gaps)."""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from recorderd.core.errors import RecorderdError
from recorderd.recording.frames import AudioFormat
from recorderd.recording.index import Index
from recorderd.recording.layout import fsync_dir
from recorderd.recording.mkv import AUDIO, VIDEO, Block, MkvError, MkvFile, Muxer, Scan, walk

# A file's first frame is at its index row's start, which datetime rounded to the microsecond, so
# the file's own origin (DateUTC, ns) may differ from it by that rounding. Frames are timed from the
# row's start, in whole microseconds: a range given in the times `recordings list` shows takes
# exactly its frames (with float seconds from the origin, `--from <listed start>` dropped the
# first frame half of the time).
ROUNDING_US = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(t: datetime) -> int:
    """An aware datetime as whole microseconds since the epoch (exact, no float)."""
    return (t - _EPOCH) // timedelta(microseconds=1)


class ExportError(RecorderdError):
    """Nothing to export, or the output cannot be written (message says why)."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path
    files: int
    frames: int
    audio_blocks: int
    duration_s: float
    bytes: int


def iter_blocks(path: Path) -> Iterator[tuple[Scan, Block]]:
    """The blocks of a file's whole clusters, one at a time (memory-mapped; files may be large).
    The Scan's header fields (origin, audio, size) are filled before the first block."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            raise MkvError("empty file")
        with mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as mm:
            out = Scan(size=size)
            for track, ts, start, end in walk(mm, out):
                yield out, Block(track, ts, mm[start:end])


def export(
    index: Index,
    camera: str,
    start: datetime,
    end: datetime,
    out: Path,
    *,
    progress: Callable[[str], None] = lambda _m: None,
) -> ExportResult:
    rows = [r for r in index.list_recordings(camera, start, end) if r.path.exists()]
    if not rows:
        raise ExportError(f"no recordings of {camera} between {start.isoformat()} and {end.isoformat()}")
    t0, t1 = _us(start), _us(end)
    tmp = out.with_name(out.name + ".part")
    muxer: Muxer | None = None
    file: MkvFile | None = None
    audio: AudioFormat | None = None
    origin = 0
    last_video = last_audio = -1  # times written: overlapping files never double a frame
    try:
        for n, row in enumerate(rows, 1):
            progress(f"{n}/{len(rows)} {row.path}")
            base: int | None = None  # the file's timestamp 0, in µs since the epoch
            try:
                for s, b in iter_blocks(row.path):
                    if base is None:
                        base = _us(row.start) - b.ts * 1000
                        if abs(base - s.origin_wall * 1e6) >= ROUNDING_US:  # not ours: trust the file
                            base = round(s.origin_wall * 1e6)
                    wall = base + b.ts * 1000
                    if not t0 <= wall < t1:
                        continue
                    if muxer is None:
                        if b.track != VIDEO:
                            continue  # begin with a picture
                        audio, origin = s.audio, wall
                        muxer = Muxer(
                            origin_wall=wall / 1e6,
                            audio=audio,
                            tags={
                                "camera": camera,
                                "reason": "export",
                                "from": start.isoformat(),
                                "to": end.isoformat(),
                            },
                            title=f"{camera} {start.isoformat()} - {end.isoformat()}",
                        )
                        file = MkvFile(tmp, muxer)
                    assert file is not None
                    ms = (wall - origin) / 1000
                    if b.track == VIDEO and wall > last_video:
                        last_video = wall
                        chunk = muxer.add_video(round(ms), b.data)
                    elif b.track == AUDIO and s.audio == audio and wall > last_audio:
                        last_audio = wall
                        chunk = muxer.add_audio(ms, b.data)
                    else:
                        continue
                    if chunk:
                        file.write(chunk)
            except MkvError as e:
                progress(f"{row.path}: skipped ({e})")
        if muxer is None or file is None:
            raise ExportError(f"no frames of {camera} between {start.isoformat()} and {end.isoformat()}")
        file.finish()
        file.close()
        os.replace(tmp, out)
        fsync_dir(out.parent)
    except BaseException:
        if file is not None:
            file.close()
        tmp.unlink(missing_ok=True)
        raise
    result = ExportResult(
        out, len(rows), muxer.video_frames, muxer.audio_blocks, muxer.duration_ms / 1000, muxer.pos
    )
    progress(f"wrote {out}: {result.frames} frames, {result.duration_s:.1f}s, {result.bytes} bytes")
    return result
