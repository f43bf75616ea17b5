"""Playback without transcoding: a recording's frame table, its JPEGs by number, its audio as WAV.

A file's blocks are found once by our Matroska reader (`walk`, headers only, memory-mapped) and
kept as arrays of (timestamp, offset, end); a frame is then one `pread` of the bytes stored, sent
as they came from the camera. Audio is decoded to 16-bit PCM for the range asked (recording/pcm.py).
A file still being written is read up to its last whole cluster and read again when it has grown.
"""

from __future__ import annotations

import mmap
import os
import struct
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import trio

from recorderd.recording import ebml
from recorderd.recording.ebml import Truncated
from recorderd.recording.frames import AudioFormat
from recorderd.recording.index import Index, RecordingRow
from recorderd.recording.layout import final_of, is_part, part_of
from recorderd.recording.mkv import AUDIO, VIDEO, MkvError, Scan, walk
from recorderd.recording.mkv.spec import ID_CLUSTER, ID_CUES, ID_TAGS, ID_TIMESTAMP, ID_VOID
from recorderd.recording.pcm import PcmDecoder, wav_header

MAX_FILES = 16  # bound: frame tables kept (a 1 h file at 10 fps: ~1 MB of arrays)
MAX_AUDIO_S = 60.0  # bound: seconds of audio per request (a 1 h WAV would be 57 MB)
RESYNC_MS = 20.0  # audio blocks closer than this to where the last one ended are laid end to end
G726_LEAD_MS = 200  # an ADPCM decoder started mid-file adapts within this; decoded and dropped


class NotFound(Exception):
    """No such recording, or its file is gone or unreadable (message says which)."""


@dataclass
class FileIndex:
    """A recording's blocks: timestamps (ms from the file's origin) and where their bytes are."""

    row: RecordingRow
    path: Path
    size: int
    scan: Scan
    vts: array[int] = field(default_factory=lambda: array("q"))
    vpos: array[int] = field(default_factory=lambda: array("q"))  # start, end pairs
    ats: array[int] = field(default_factory=lambda: array("q"))
    apos: array[int] = field(default_factory=lambda: array("q"))

    @property
    def origin_ms(self) -> float:
        return self.scan.origin_wall * 1000.0

    def shown_at(self, wall_ms: float) -> int:
        """The number of the frame shown at `wall_ms`: the last at or before it, else the first."""
        if not self.vts:
            raise NotFound(f"recording {self.row.id} has no frame")
        return max(0, bisect_right(self.vts, wall_ms - self.origin_ms) - 1)

    def as_json(self) -> dict[str, Any]:
        a = self.scan.audio
        return {
            "id": self.row.id,
            "camera": self.row.camera,
            "origin": self.origin_ms,
            "width": self.scan.width,
            "height": self.scan.height,
            "frames": list(self.vts),
            "audio": None if a is None or not self.ats else {"codec": a.codec, "rate": a.rate},
            "audio_end": self.scan.audio_end_ms,
            "growing": is_part(self.path),
            "reason": self.row.reason,
        }


def _open(path: Path) -> tuple[Path, int]:
    """The file at `path` or its other name (.part <-> .mkv: renamed while we look), with its size."""
    for p in (path, final_of(path) if is_part(path) else part_of(path)):
        try:
            return p, p.stat().st_size
        except FileNotFoundError:
            continue
    raise NotFound(f"{path.name}: the file is gone (deleted by retention?)")


def build(row: RecordingRow) -> FileIndex:
    """Read a file's frame table (blocking: call in a worker thread)."""
    path, size = _open(row.path)
    fi = FileIndex(row, path, size, Scan(size=size))
    if size == 0:
        return fi
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as mm:
            for _ in walk(mm, fi.scan):  # the header (Info, Tracks, Tags) is read before a block comes
                break
            try:
                _blocks_fast(mm, fi)
            except (ValueError, IndexError, Truncated):  # not laid out as we write: the general reader
                fi.vts, fi.vpos, fi.ats, fi.apos = array("q"), array("q"), array("q"), array("q")
                fi.scan = Scan(size=size)
                for track, ts, start, end in walk(mm, fi.scan):
                    _add(fi, track, ts, start, end)
    except MkvError as e:
        raise NotFound(f"{path.name}: not readable: {e}") from None
    except OSError as e:
        raise NotFound(f"{path.name}: cannot read: {e.strerror or e}") from None
    a = fi.scan.audio
    if a is not None and fi.ats:
        last = len(fi.ats) - 1
        fi.scan.audio_end_ms = (
            fi.ats[last] + (fi.apos[2 * last + 1] - fi.apos[2 * last]) * 1000 / a.bytes_per_second
        )
    return fi


def _add(fi: FileIndex, track: int, ts: int, start: int, end: int) -> None:
    if track == VIDEO:
        fi.vts.append(ts)
        fi.vpos.extend((start, end))
    elif track == AUDIO:
        fi.ats.append(ts)
        fi.apos.extend((start, end))


_TS = struct.Struct(">h").unpack_from  # a SimpleBlock's timestamp, relative to its cluster's
_VIDEO_BYTE, _AUDIO_BYTE = 0x80 | VIDEO, 0x80 | AUDIO  # a SimpleBlock's first byte: its track


def _segment(mm: mmap.mmap) -> tuple[int, int]:
    """Where the Segment's children start and end (the file's end while it is being written)."""
    size = len(mm)
    seg = ebml.read_element(mm, ebml.read_element(mm, 0).end)
    return seg.data, size if seg.size == ebml.UNKNOWN_SIZE else min(size, seg.end)


def _clusters(mm: mmap.mmap) -> Iterator[ebml.Element]:
    """The segment's whole top-level elements, in order: up to the cluster being written (or torn)."""
    pos, end = _segment(mm)
    while pos < end:
        try:
            el = ebml.read_element(mm, pos)
        except Truncated:
            return
        if el.size == ebml.UNKNOWN_SIZE or el.end > end:
            return
        yield el
        pos = el.end


def _blocks_fast(mm: mmap.mmap, fi: FileIndex) -> None:
    """Every block of the whole clusters, read with as few calls as our own layout allows (a 1 h file
    has 72,000 blocks; docs/webui.md has both readers' times). The mapped bytes are read where
    they are: copying each cluster first cost as much again as the walk."""
    for el in _clusters(mm):
        if el.id == ID_CLUSTER:
            _cluster_blocks(mm, el.data, el.end, fi.vts, fi.vpos, fi.ats, fi.apos)


def _cluster_blocks(
    mm: mmap.mmap, p: int, stop: int, vts: array[int], vpos: array[int], ats: array[int], apos: array[int]
) -> None:
    """One cluster's blocks appended to the arrays; ValueError if it is not laid out as we write."""
    base = 0
    while p < stop:
        eid, b = mm[p], mm[p + 1]
        if b & 0x80:  # the element's size: 1, 2 or 3 bytes in our files (frames < 2 MiB)
            n, p = b & 0x7F, p + 2
        elif b & 0x40:
            n, p = ((b & 0x3F) << 8) | mm[p + 2], p + 3
        elif b & 0x20:
            n, p = ((b & 0x1F) << 16) | (mm[p + 2] << 8) | mm[p + 3], p + 4
        else:
            k = 9 - b.bit_length()
            n, p = int.from_bytes(mm[p + 1 : p + 1 + k], "big") & ((1 << (7 * k)) - 1), p + 1 + k
        if eid == 0xA3:  # SimpleBlock: track (1 byte below 128), 16-bit relative time, flags
            t = mm[p]
            if t == _VIDEO_BYTE:
                vts.append(base + _TS(mm, p + 1)[0])
                vpos.append(p + 4)
                vpos.append(p + n)
            elif t == _AUDIO_BYTE:
                ats.append(base + _TS(mm, p + 1)[0])
                apos.append(p + 4)
                apos.append(p + n)
            elif not t & 0x80:
                raise ValueError("a track number of more than one byte")
        elif eid == 0xE7:  # Timestamp
            base = int.from_bytes(mm[p : p + n], "big")
        else:
            raise ValueError(f"unexpected element {eid:#x} in a cluster at {p}")
        p += n


def _video_blocks(mm: mmap.mmap, start: int, stop: int) -> tuple[array[int], array[int]]:
    vts, vpos = array("q"), array("q")
    _cluster_blocks(mm, start, stop, vts, vpos, array("q"), array("q"))
    return vts, vpos


_CLUSTER_ID = ebml.id_bytes(ID_CLUSTER)
_AFTER_CLUSTER = frozenset((ID_CLUSTER, ID_CUES, ID_TAGS, ID_VOID))
# bound: false cluster IDs looked at in one search (a camera could fill its JPEGs with them);
# past it the seek is answered from the frame table
_MAX_MISSES = 4096


class _Cluster(NamedTuple):
    pos: int  # where its ID is
    ts: int
    data: int
    end: int


def _cluster_at(mm: mmap.mmap, pos: int, end: int) -> _Cluster | None:
    """The cluster whose ID is at `pos`, if one is: whole, its timestamp first, and followed by the
    segment's end or by what may follow a cluster. A JPEG holds the ID's four bytes by chance about
    once in 4 GB; these checks leave no such chance. One crafted to pass shows its own camera's
    picture at the first seek, until the player has the table."""
    try:
        el = ebml.read_element(mm, pos)
        if el.id != ID_CLUSTER or el.size == ebml.UNKNOWN_SIZE or el.end > end:
            return None
        first = ebml.read_element(mm, el.data)
        if first.id != ID_TIMESTAMP or first.end > el.end or first.size > 8:
            return None
        if el.end < end and ebml.read_element(mm, el.end).id not in _AFTER_CLUSTER:
            return None
    except (Truncated, ValueError, IndexError):
        return None
    return _Cluster(pos, int.from_bytes(mm[first.data : first.end], "big"), el.data, el.end)


def _next_cluster(mm: mmap.mmap, pos: int, end: int) -> _Cluster | None:
    """The first cluster whose ID is at or after `pos`."""
    for _ in range(_MAX_MISSES):
        if (q := mm.find(_CLUSTER_ID, pos, end)) < 0:
            return None
        if (c := _cluster_at(mm, q, end)) is not None:
            return c
        pos = q + 1
    raise ValueError("too many false cluster IDs")


def _prev_cluster(mm: mmap.mmap, c: _Cluster, start: int, end: int) -> _Cluster | None:
    """The cluster that ends where `c` begins."""
    hi = c.pos
    for _ in range(_MAX_MISSES):
        if (q := mm.rfind(_CLUSTER_ID, start, hi)) < 0:
            return None
        if (p := _cluster_at(mm, q, end)) is not None and p.end == c.pos:
            return p
        hi = q
    raise ValueError("too many false cluster IDs")


def _frame_near(mm: mmap.mmap, first: _Cluster, at: _Cluster, end: int, t: float) -> tuple[int, bytes] | None:
    """The last frame at or before t, in `at` or up to two clusters before it (a cluster may begin
    with audio); the file's first frame if t precedes it; None if not found so near."""
    c: _Cluster | None = at
    for _ in range(3):
        if c is None:
            return None
        vts, vpos = _video_blocks(mm, c.data, c.end)
        j = bisect_right(vts, t) - 1
        if j >= 0:
            return vts[j], mm[vpos[2 * j] : vpos[2 * j + 1]]
        if c.pos == first.pos:
            break
        c = _prev_cluster(mm, c, first.pos, end)
    else:
        return None
    c = first  # t precedes every frame
    for _ in range(3):
        vts, vpos = _video_blocks(mm, c.data, c.end)
        if vts:
            return vts[0], mm[vpos[0] : vpos[1]]
        c = _next_cluster(mm, c.end, end)
        if c is None:
            return None
    return None


def frame_at(row: RecordingRow, wall_ms: float) -> tuple[float, bytes]:
    """The frame shown at `wall_ms` (the last at or before it; the file's first if it is earlier) and
    its time, for the first seek into a file whose frame table is not read yet (a 1 h file's takes
    ~0.15 s): the cluster is found by bisecting the file's bytes, then one or two are read
    (blocking). A file not laid out as we write is read through its frame table."""
    path, size = _open(row.path)
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as mm:
            scan = Scan(size=size)
            for _ in walk(mm, scan):  # the header (origin); stops at the first block
                break
            start, end = _segment(mm)
            t = wall_ms - scan.origin_wall * 1000.0
            first = _next_cluster(mm, start, end)
            if first is None:
                raise ValueError("no whole cluster")
            at = first  # the last cluster starting at or before t; `hi`: none at or after it does
            hi = end
            while at.ts <= t and hi > at.pos + 1:
                mid = max(at.pos + 1, (at.pos + hi) // 2)
                probe = _next_cluster(mm, mid, end)
                if probe is None or probe.pos >= hi:
                    hi = mid
                elif probe.ts <= t:
                    at = probe
                else:
                    hi = probe.pos
            hit = _frame_near(mm, first, at, end, t)
            if hit is not None:
                return scan.origin_wall * 1000.0 + hit[0], hit[1]
    except (ValueError, IndexError, Truncated, MkvError):  # not found so: the frame table
        pass
    except OSError as e:
        raise NotFound(f"{path.name}: cannot read: {e.strerror or e}") from None
    fi = build(row)
    n = fi.shown_at(wall_ms)
    return fi.origin_ms + fi.vts[n], read_frame(fi, n)


def _pread(fi: FileIndex, start: int, end: int) -> bytes:
    path, _ = _open(fi.path)
    with open(path, "rb") as f:
        return os.pread(f.fileno(), end - start, start)


def read_frame(fi: FileIndex, n: int) -> bytes:
    """Frame `n`'s JPEG, byte for byte as recorded (blocking)."""
    if not 0 <= n < len(fi.vts):
        raise NotFound(f"recording {fi.row.id} has no frame {n}")
    return _pread(fi, fi.vpos[2 * n], fi.vpos[2 * n + 1])


def read_wav(fi: FileIndex, t0: int, t1: int) -> bytes:
    """The audio of [t0, t1) ms (file time) as 16-bit PCM WAV: sample 0 is at t0; silence where
    nothing was recorded. Blocks are laid end to end unless they are RESYNC_MS off (blocking)."""
    fmt = fi.scan.audio or AudioFormat()
    t1 = min(t1, t0 + int(MAX_AUDIO_S * 1000))
    rate = fmt.rate
    total = max(0, (t1 - t0) * rate // 1000)
    pcm = bytearray(total * 2)
    if fi.scan.audio is None or not fi.ats or total == 0:
        return wav_header(total, rate) + bytes(pcm)
    dec = PcmDecoder(fmt)
    lead = G726_LEAD_MS if fmt.codec == "g726" else 0
    cursor: int | None = None  # where the previous block ended, in samples from t0
    path, _ = _open(fi.path)
    with open(path, "rb") as f:
        for i, ts in enumerate(fi.ats):
            if ts < t0 - lead - 1000:
                continue
            if ts >= t1:
                break
            data = os.pread(f.fileno(), fi.apos[2 * i + 1] - fi.apos[2 * i], fi.apos[2 * i])
            samples = dec.decode(data)
            pos = (ts - t0) * rate // 1000
            if cursor is not None and abs(pos - cursor) * 1000 < RESYNC_MS * rate:
                pos = cursor
            cursor = pos + len(samples) // 2
            lo, hi = max(0, pos), min(total, cursor)
            if lo < hi:
                pcm[2 * lo : 2 * hi] = samples[2 * (lo - pos) : 2 * (hi - pos)]
    return wav_header(total, rate) + bytes(pcm)


class Media:
    """Frame tables of the recordings being played, LRU-bounded; the index says where files are."""

    def __init__(self, index: Index, max_files: int = MAX_FILES) -> None:
        self.index = index
        self.max_files = max_files
        self._files: OrderedDict[int, FileIndex] = OrderedDict()
        self._lock = trio.Lock()  # one scan at a time (two viewers opening one file scan it once)

    async def file(self, recording_id: int, *, fresh: bool = False) -> FileIndex:
        """The recording's frame table; `fresh`: read again if the file has grown."""
        fi = self._files.get(recording_id)
        if fi is not None and not (fresh and await self._grown(fi)):
            self._files.move_to_end(recording_id)
            return fi
        async with self._lock:
            row = await trio.to_thread.run_sync(self.index.get_recording, recording_id)
            if row is None:
                raise NotFound(f"no recording {recording_id}")
            fi = await trio.to_thread.run_sync(build, row)
            self._files[recording_id] = fi
            while len(self._files) > self.max_files:
                self._files.popitem(last=False)
            return fi

    async def _grown(self, fi: FileIndex) -> bool:
        if not is_part(fi.path):
            return False
        try:
            _, size = await trio.to_thread.run_sync(_open, fi.path)
        except NotFound:
            return True
        return size != fi.size

    async def frame(self, recording_id: int, n: int) -> bytes:
        fi = await self.file(recording_id)
        return await trio.to_thread.run_sync(read_frame, fi, n)

    async def frame_at(self, recording_id: int, wall_ms: float) -> tuple[float, bytes]:
        """The frame shown at `wall_ms` and its time: from the frame table if it is read, else
        through the clusters alone (no wait for a table another request is reading)."""
        fi = self._files.get(recording_id)
        if fi is None:
            row = await trio.to_thread.run_sync(self.index.get_recording, recording_id)
            if row is None:
                raise NotFound(f"no recording {recording_id}")
            return await trio.to_thread.run_sync(frame_at, row, wall_ms)
        n = fi.shown_at(wall_ms)
        return fi.origin_ms + fi.vts[n], await trio.to_thread.run_sync(read_frame, fi, n)

    async def wav(self, recording_id: int, t0: int, t1: int) -> bytes:
        fi = await self.file(recording_id)
        return await trio.to_thread.run_sync(read_wav, fi, t0, t1)
