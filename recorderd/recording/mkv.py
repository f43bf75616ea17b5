"""A small Matroska writer and reader for our own files: MJPEG and G.711/G.726 passed through.

Layout of a file (offsets in the SeekHead and Cues are relative to the Segment's payload):

    EBML header
    Segment (size unknown while written; patched on close)
      Void (reserved for the SeekHead)      Info (..., Void of 11 bytes where Duration goes)
      Tracks (1: V_MJPEG, 2: A_MS/ACM)      Tags (camera, reason, trigger, incident, start)
      Cluster, Cluster, ...                 each < 1 s, built in memory and written with one write()
      Cues, Tags (only if changed)          appended on close

A file is playable while it is written and after a crash up to its last whole cluster. `Muxer` is
pure (frames in, bytes out); `MkvFile` does the writes; `scan`/`repair` read a file back.
"""

from __future__ import annotations

import mmap
import os
import secrets
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeVar

from recorderd import __version__
from recorderd.recording import ebml
from recorderd.recording.ebml import (
    UNKNOWN_SIZE,
    Buf,
    Element,
    Truncated,
    children,
    element,
    float64,
    id_bytes,
    master,
    sint,
    size_vint,
    string,
    uint,
    uint_fixed,
    void,
)
from recorderd.recording.frames import AudioCodec, AudioFormat

# A cluster as the buffers it is made of (its header, then each block's header and data): written
# with one writev from where the frames are, never joined into one buffer first, which would copy
# every frame once more (22 KB a frame, cold in the cache by then).
Chunk = list[bytes]
_IOV_MAX = 1024 if not hasattr(os, "sysconf") else max(16, os.sysconf("SC_IOV_MAX"))

TIMESCALE_NS = 1_000_000  # timestamps in milliseconds
CLUSTER_MS = 1000
VIDEO, AUDIO = 1, 2
EPOCH_2001 = 978307200.0  # Matroska's DateUTC counts nanoseconds from 2001-01-01T00:00:00Z
SEEKHEAD_RESERVE = 128  # 4 Seek entries with 8-byte positions need 89
DURATION_SLOT = 11  # Duration: 2-byte ID, 1-byte size, 8-byte float
AUDIO_RESYNC_MS = 250  # audio blocks are timed by their sample count unless arrival drifts this far

ID_EBML, ID_SEGMENT, ID_SEEKHEAD, ID_SEEK, ID_SEEKID, ID_SEEKPOS = (
    0x1A45DFA3,
    0x18538067,
    0x114D9B74,
    0x4DBB,
    0x53AB,
    0x53AC,
)
ID_INFO, ID_TIMESCALE, ID_DURATION, ID_DATEUTC, ID_TITLE, ID_MUXAPP, ID_WRITEAPP, ID_SEGUID = (
    0x1549A966,
    0x2AD7B1,
    0x4489,
    0x4461,
    0x7BA9,
    0x4D80,
    0x5741,
    0x73A4,
)
ID_TRACKS, ID_TRACKENTRY, ID_TRACKNUMBER, ID_TRACKUID, ID_TRACKTYPE, ID_FLAGLACING = (
    0x1654AE6B,
    0xAE,
    0xD7,
    0x73C5,
    0x83,
    0x9C,
)
ID_CODECID, ID_CODECPRIVATE, ID_VIDEO, ID_WIDTH, ID_HEIGHT = 0x86, 0x63A2, 0xE0, 0xB0, 0xBA
ID_AUDIO, ID_RATE, ID_CHANNELS, ID_BITDEPTH, ID_LANGUAGE = 0xE1, 0xB5, 0x9F, 0x6264, 0x22B59C
ID_CLUSTER, ID_TIMESTAMP, ID_SIMPLEBLOCK = 0x1F43B675, 0xE7, 0xA3
ID_CUES, ID_CUEPOINT, ID_CUETIME, ID_CUETRACKPOS, ID_CUETRACK, ID_CUECLUSTERPOS = (
    0x1C53BB6B,
    0xBB,
    0xB3,
    0xB7,
    0xF7,
    0xF1,
)
ID_TAGS, ID_TAG, ID_TARGETS, ID_SIMPLETAG, ID_TAGNAME, ID_TAGSTRING = (
    0x1254C367,
    0x7373,
    0x63C0,
    0x67C8,
    0x45A3,
    0x4487,
)
ID_VOID = 0xEC

# WAVEFORMATEX format tags (mmreg.h) that ffmpeg maps to the right decoder
_FORMAT_TAG: dict[AudioCodec, int] = {"mulaw": 0x0007, "alaw": 0x0006, "g726": 0x0045}
_CODEC_OF_TAG: dict[int, AudioCodec] = {v: k for k, v in _FORMAT_TAG.items()}
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


_T = TypeVar("_T")


class MkvError(Exception):
    """A file that is not one of ours, or damaged before its first cluster."""


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's SOF header, reading marker headers only (no decoding)."""
    if data[:2] != b"\xff\xd8":
        return None
    pos, n = 2, len(data)
    while pos + 9 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _SOF:
            h, w = struct.unpack_from(">HH", data, pos + 5)
            return (w, h) if w and h else None
        if marker == 0xD9 or marker == 0xDA:
            return None
        pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
    return None


def waveformatex(fmt: AudioFormat) -> bytes:
    block_align = max(1, fmt.channels * fmt.bits // 8)
    return struct.pack(
        "<HHIIHHH",
        _FORMAT_TAG[fmt.codec],
        fmt.channels,
        fmt.rate,
        int(fmt.bytes_per_second),
        block_align,
        fmt.bits,
        0,
    )


def _tags_element(tags: Mapping[str, str]) -> bytes:
    simple = [
        master(ID_SIMPLETAG, string(ID_TAGNAME, k.upper()), string(ID_TAGSTRING, v))
        for k, v in tags.items()
        if v
    ]
    return master(ID_TAGS, master(ID_TAG, master(ID_TARGETS), *simple))


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a file's patchable parts are (absolute offsets, except *_rel: Segment-relative)."""

    seg_size_pos: int  # the Segment's 8-byte size field
    seg_data: int  # start of the Segment payload
    seekhead_pos: int
    seekhead_len: int
    duration_pos: int  # the 11-byte Void (or Duration) in Info
    info_rel: int
    tracks_rel: int
    tags_rel: int
    tags_len: int


def finalize(
    layout: Layout,
    cues: list[tuple[int, int]],
    duration_ms: float,
    end: int,
    new_tags: Mapping[str, str] | None = None,
) -> tuple[bytes, list[tuple[int, bytes]]]:
    """What closing a file appends at `end` (Cues, new Tags) and the patches (offset, bytes), in order."""
    parts: list[bytes] = []
    rel = end - layout.seg_data
    cues_rel = tags_rel = None
    if cues:
        cues_rel = rel
        parts.append(
            master(
                ID_CUES,
                *(
                    master(
                        ID_CUEPOINT,
                        uint(ID_CUETIME, ts),
                        master(ID_CUETRACKPOS, uint(ID_CUETRACK, VIDEO), uint(ID_CUECLUSTERPOS, pos)),
                    )
                    for ts, pos in cues
                ),
            )
        )
        rel += len(parts[-1])
    if new_tags is not None:
        tags_rel = rel
        parts.append(_tags_element(new_tags))
        rel += len(parts[-1])
    seeks = [(ID_INFO, layout.info_rel), (ID_TRACKS, layout.tracks_rel)]
    if cues_rel is not None:
        seeks.append((ID_CUES, cues_rel))
    seeks.append((ID_TAGS, tags_rel if tags_rel is not None else layout.tags_rel))
    seekhead = master(
        ID_SEEKHEAD,
        *(
            master(ID_SEEK, element(ID_SEEKID, id_bytes(eid)), uint_fixed(ID_SEEKPOS, pos))
            for eid, pos in seeks
        ),
    )
    patches = [
        (layout.seekhead_pos, seekhead + void(layout.seekhead_len - len(seekhead))),
        (layout.duration_pos, float64(ID_DURATION, float(duration_ms))),
        (layout.seg_size_pos, size_vint(rel, 8)),
    ]
    if tags_rel is not None:  # last: until here the old Tags stay valid
        patches.append((layout.seg_data + layout.tags_rel, void(layout.tags_len)))
    return b"".join(parts), patches


class _Emit(NamedTuple):
    size: int
    cue: bool
    video: int
    audio: int
    header: bool
    last_ts: int


class Muxer:
    """Frames in, file bytes out. Pure: the caller writes each returned chunk, in order.

    `add` buffers a frame and returns a whole cluster's bytes when the frame starts the next one
    (the first chunk carries the file header). Timestamps are milliseconds from the file's origin.
    """

    def __init__(
        self,
        *,
        origin_wall: float,
        audio: AudioFormat | None,
        tags: Mapping[str, str],
        title: str = "",
        cluster_ms: int = CLUSTER_MS,
    ) -> None:
        self.origin_wall = origin_wall
        self.audio = audio
        self.tags = dict(tags)
        self.title = title
        self.cluster_ms = cluster_ms
        self.pos = 0  # bytes returned so far == the file's size once they are written
        self.layout: Layout | None = None
        self.cues: list[tuple[int, int]] = []
        self.video_frames = 0
        self.audio_blocks = 0
        self._pending: list[tuple[int, int, bytes]] = []  # (ts, track, data)
        self._first_ts = self._max_ts = 0  # span of the pending frames
        self._last_ts = 0  # of the last emitted block: later ones are never earlier
        self._video_ts = -1
        self._video_interval = 0
        self._audio_end_ms = 0.0
        self._audio_next: float | None = None
        self._last: _Emit | None = None

    # -- frames in --

    def add_video(self, ts: int, data: bytes) -> Chunk | None:
        out = self._maybe_cut(ts)
        self._pending.append((ts, VIDEO, data))
        if self._video_ts >= 0:
            self._video_interval = ts - self._video_ts
        self._video_ts = ts
        return out

    def add_audio(self, arrival_ms: float, data: bytes) -> Chunk | None:
        """An audio block, timed by sample count from the previous one unless arrival drifted away."""
        if self.audio is None:
            return None
        t = self._audio_next
        if t is None or abs(arrival_ms - t) > AUDIO_RESYNC_MS:
            t = arrival_ms
        t = max(t, self._last_ts)
        dur = len(data) * 1000.0 / self.audio.bytes_per_second
        self._audio_next = t + dur
        self._audio_end_ms = max(self._audio_end_ms, t + dur)
        ts = round(t)
        out = self._maybe_cut(ts)
        self._pending.append((ts, AUDIO, data))
        return out

    def _maybe_cut(self, ts: int) -> Chunk | None:
        """Before buffering a frame at ts: the pending cluster, if ts belongs to the next one."""
        out = None
        if self._pending and max(ts, self._max_ts) - min(ts, self._first_ts) >= self.cluster_ms:
            out = self.flush_chunk()
        if not self._pending:
            self._first_ts = self._max_ts = ts
        elif ts < self._first_ts:
            self._first_ts = ts
        elif ts > self._max_ts:
            self._max_ts = ts
        return out

    # -- bytes out --

    def flush(self) -> bytes:
        """The pending frames as one cluster (b"" if none), e.g. before a pause or on close."""
        return b"".join(self.flush_chunk())

    def flush_chunk(self) -> Chunk:
        """The pending frames as one cluster, as buffers (empty if none)."""
        if not self._pending:
            return []
        pending = self._pending
        self._pending = []
        pending.sort(key=lambda p: p[0])  # interleave tracks in time; stable for equal times
        header = b""
        if self.layout is None:
            header = self._header(next((d for _, t, d in pending if t == VIDEO), None))
        base = max(pending[0][0], self._last_ts)
        parts: list[bytes] = [b"", uint(ID_TIMESTAMP, base)]
        video = audio = 0
        cue_ts = -1
        last = base
        for ts, track, data in pending:
            rel = max(ts, last) - base
            last = base + rel
            if rel > 0x7FFF:  # cannot happen with cluster_ms < 32 s; keep the file valid anyway
                rel = 0x7FFF
            parts.append(
                b"\xa3" + size_vint(len(data) + 4) + bytes((0x80 | track, rel >> 8, rel & 0xFF, 0x80))
            )
            parts.append(data)
            if track == VIDEO:
                video += 1
                if cue_ts < 0:
                    cue_ts = base + rel
            else:
                audio += 1
        body_len = sum(len(p) for p in parts)
        parts[0] = header + id_bytes(ID_CLUSTER) + size_vint(body_len)
        size = len(parts[0]) + body_len
        assert self.layout is not None
        cluster_rel = self.pos + len(header) - self.layout.seg_data
        if cue_ts >= 0:
            self.cues.append((cue_ts, cluster_rel))
        self._last = _Emit(size, cue_ts >= 0, video, audio, bool(header), self._last_ts)
        self._last_ts = last
        self.pos += size
        self.video_frames += video
        self.audio_blocks += audio
        return parts

    def discard_last(self) -> bool:
        """Forget the last chunk (it could not be written). False if it held the header."""
        e = self._last
        if e is None or e.header:
            return False
        self.pos -= e.size
        if e.cue:
            self.cues.pop()
        self.video_frames -= e.video
        self.audio_blocks -= e.audio
        self._last_ts = e.last_ts
        self._last = None
        return True

    @property
    def duration_ms(self) -> float:
        video_end = self._video_ts + max(self._video_interval, 1) if self._video_ts >= 0 else 0
        return float(max(video_end, self._audio_end_ms))

    @property
    def pending_since(self) -> int | None:
        """Timestamp of the oldest buffered frame, None if none is buffered."""
        return self._first_ts if self._pending else None

    def finish(self, tags: Mapping[str, str] | None = None) -> tuple[bytes, list[tuple[int, bytes]]]:
        """The last cluster and trailer to append, and the patches to apply after them, in order."""
        chunk = self.flush()
        if self.layout is None:
            chunk = self._header(None)
            self.pos += len(chunk)
        assert self.layout is not None
        new_tags = None
        if tags is not None and dict(tags) != self.tags:
            new_tags = self.tags = dict(tags)
        tail, patches = finalize(self.layout, self.cues, self.duration_ms, self.pos, new_tags)
        self.pos += len(tail)
        return chunk + tail, patches

    def _header(self, first_jpeg: bytes | None) -> bytes:
        w, h = (jpeg_size(first_jpeg) if first_jpeg else None) or (1, 1)
        head = master(
            ID_EBML,
            uint(0x4286, 1),
            uint(0x42F7, 1),
            uint(0x42F2, 4),
            uint(0x42F3, 8),
            string(0x4282, "matroska"),
            uint(0x4287, 4),
            uint(0x4285, 2),
        )
        seg = id_bytes(ID_SEGMENT) + size_vint(UNKNOWN_SIZE, 8)
        app = f"recorderd {__version__}"
        info = master(
            ID_INFO,
            uint(ID_TIMESCALE, TIMESCALE_NS),
            sint(ID_DATEUTC, round((self.origin_wall - EPOCH_2001) * 1e9)),
            *([string(ID_TITLE, self.title)] if self.title else []),
            string(ID_MUXAPP, app),
            string(ID_WRITEAPP, app),
            element(ID_SEGUID, secrets.token_bytes(16)),
            void(DURATION_SLOT),
        )
        entries = [
            master(
                ID_TRACKENTRY,
                uint(ID_TRACKNUMBER, VIDEO),
                uint(ID_TRACKUID, VIDEO),
                uint(ID_TRACKTYPE, 1),
                uint(ID_FLAGLACING, 0),
                string(ID_LANGUAGE, "und"),
                string(ID_CODECID, "V_MJPEG"),
                master(ID_VIDEO, uint(ID_WIDTH, w), uint(ID_HEIGHT, h)),
            )
        ]
        if self.audio is not None:
            a = self.audio
            entries.append(
                master(
                    ID_TRACKENTRY,
                    uint(ID_TRACKNUMBER, AUDIO),
                    uint(ID_TRACKUID, AUDIO),
                    uint(ID_TRACKTYPE, 2),
                    uint(ID_FLAGLACING, 0),
                    string(ID_LANGUAGE, "und"),
                    string(ID_CODECID, "A_MS/ACM"),
                    element(ID_CODECPRIVATE, waveformatex(a)),
                    master(
                        ID_AUDIO,
                        float64(ID_RATE, float(a.rate)),
                        uint(ID_CHANNELS, a.channels),
                        uint(ID_BITDEPTH, a.bits),
                    ),
                )
            )
        tracks = master(ID_TRACKS, *entries)
        tags = _tags_element(self.tags)
        seg_data = len(head) + len(seg)
        info_rel = SEEKHEAD_RESERVE
        tracks_rel = info_rel + len(info)
        tags_rel = tracks_rel + len(tracks)
        self.layout = Layout(
            seg_size_pos=len(head) + 4,
            seg_data=seg_data,
            seekhead_pos=seg_data,
            seekhead_len=SEEKHEAD_RESERVE,
            duration_pos=seg_data + tracks_rel - DURATION_SLOT,
            info_rel=info_rel,
            tracks_rel=tracks_rel,
            tags_rel=tags_rel,
            tags_len=len(tags),
        )
        return head + seg + void(SEEKHEAD_RESERVE) + info + tracks + tags


# ---------------------------------------------------------------- reading back


class Block(NamedTuple):
    track: int
    ts: int  # ms from the file's origin
    data: bytes


@dataclass(slots=True)
class Scan:
    """What a file holds, read from its bytes (see `scan`)."""

    size: int
    layout: Layout | None = None
    origin_wall: float = 0.0
    width: int = 0
    height: int = 0
    audio: AudioFormat | None = None
    tags: dict[str, str] = field(default_factory=dict)
    cues: list[tuple[int, int]] = field(default_factory=list)
    good_end: int = 0  # end of the header or of the last whole cluster
    video_frames: int = 0
    audio_blocks: int = 0
    first_ts: int | None = None
    last_video_ts: int = -1
    video_interval: int = 0
    audio_end_ms: float = 0.0
    has_cues: bool = False
    has_duration: bool = False
    sized: bool = False  # the Segment's size is known (patched on close)
    clusters: list[tuple[int, int]] = field(default_factory=list)  # (abs offset, end) of whole clusters

    @property
    def complete(self) -> bool:
        """Closed cleanly: Cues, Duration and Segment size written, nothing after the last part."""
        return self.has_duration and self.sized and (self.has_cues or self.video_frames == 0)

    @property
    def duration_ms(self) -> float:
        video_end = self.last_video_ts + max(self.video_interval, 1) if self.last_video_ts >= 0 else 0
        return float(max(video_end, self.audio_end_ms))


def _parse_tracks(buf: Buf, el: Element, out: Scan) -> None:
    for te in children(buf, el.data, el.end):
        if te.id != ID_TRACKENTRY:
            continue
        kids = {c.id: c for c in children(buf, te.data, te.end)}
        codec = ebml.as_str(buf, kids[ID_CODECID]) if ID_CODECID in kids else ""
        if codec == "V_MJPEG" and ID_VIDEO in kids:
            v = {c.id: c for c in children(buf, kids[ID_VIDEO].data, kids[ID_VIDEO].end)}
            out.width = ebml.as_uint(buf, v[ID_WIDTH]) if ID_WIDTH in v else 0
            out.height = ebml.as_uint(buf, v[ID_HEIGHT]) if ID_HEIGHT in v else 0
        elif codec == "A_MS/ACM" and ID_CODECPRIVATE in kids:
            cp = bytes(buf[kids[ID_CODECPRIVATE].data : kids[ID_CODECPRIVATE].end])
            tag, ch, rate, _avg, _align, bits = struct.unpack_from("<HHIIHH", cp)
            if tag in _CODEC_OF_TAG:
                out.audio = AudioFormat(codec=_CODEC_OF_TAG[tag], rate=rate, channels=ch, bits=bits)


def _parse_tags(buf: Buf, el: Element) -> dict[str, str]:
    tags: dict[str, str] = {}
    for tag in children(buf, el.data, el.end):
        if tag.id != ID_TAG:
            continue
        for st in children(buf, tag.data, tag.end):
            if st.id == ID_SIMPLETAG:
                kids = {c.id: c for c in children(buf, st.data, st.end)}
                if ID_TAGNAME in kids and ID_TAGSTRING in kids:
                    tags[ebml.as_str(buf, kids[ID_TAGNAME]).lower()] = ebml.as_str(buf, kids[ID_TAGSTRING])
    return tags


def _blocks(buf: Buf, cluster: Element) -> Iterator[tuple[int, int, int, int]]:
    """(track, ts, data start, data end) of a whole cluster's SimpleBlocks."""
    base = 0
    for el in children(buf, cluster.data, cluster.end):
        if el.id == ID_TIMESTAMP:
            base = ebml.as_uint(buf, el)
        elif el.id == ID_SIMPLEBLOCK:
            track, p = ebml.read_size(buf, el.data)
            rel = int.from_bytes(buf[p : p + 2], "big", signed=True)
            yield track, base + rel, p + 3, el.end


def walk(buf: Buf, out: Scan) -> Iterator[tuple[int, int, int, int]]:
    """Fill `out` from the bytes; yields every block of every whole cluster (track, ts, start, end)."""
    n = len(buf)
    try:
        head = ebml.read_element(buf, 0)
        if head.id != ID_EBML:
            raise MkvError("not an EBML file")
        seg = ebml.read_element(buf, head.end)
    except (Truncated, ValueError):
        raise MkvError("no Matroska header") from None
    if seg.id != ID_SEGMENT:
        raise MkvError("no Matroska Segment")
    seg_end = n if seg.size == UNKNOWN_SIZE else min(n, seg.end)
    out.sized = seg.size != UNKNOWN_SIZE and seg.end == n
    seekhead_end = -1  # the region reserved for the SeekHead starts the Segment payload
    duration_pos = info_rel = tracks_rel = tags_rel = tags_len = -1
    pos = seg.data
    while pos < seg_end:
        try:
            el = ebml.read_element(buf, pos)
            if el.size == UNKNOWN_SIZE or el.end > seg_end:
                raise Truncated(pos)
        except (Truncated, ValueError):
            break
        rel = el.pos - seg.data
        if (el.id in (ID_VOID, ID_SEEKHEAD) and rel == 0) or (el.id == ID_VOID and seekhead_end == el.pos):
            seekhead_end = el.end  # the region reserved for the SeekHead: SeekHead + Void filler
        elif el.id == ID_INFO:
            info_rel = rel
            for c in children(buf, el.data, el.end):
                if c.id == ID_DATEUTC:
                    out.origin_wall = ebml.as_sint(buf, c) / 1e9 + EPOCH_2001
                elif c.id == ID_DURATION or (c.id == ID_VOID and c.end - c.pos == DURATION_SLOT):
                    duration_pos = c.pos
                    out.has_duration = c.id == ID_DURATION
        elif el.id == ID_TRACKS:
            tracks_rel = rel
            _parse_tracks(buf, el, out)
        elif el.id == ID_TAGS:
            if tags_rel < 0:
                tags_rel, tags_len = rel, el.end - el.pos
            out.tags.update(_parse_tags(buf, el))
        elif el.id == ID_CUES:
            out.has_cues = True
        elif el.id == ID_CLUSTER:
            try:
                blocks = list(_blocks(buf, el))
            except (Truncated, ValueError):
                break
            cue = -1
            for track, ts, start, end in blocks:
                if out.first_ts is None:
                    out.first_ts = ts
                if track == VIDEO:
                    out.video_frames += 1
                    if out.last_video_ts >= 0:
                        out.video_interval = ts - out.last_video_ts
                    out.last_video_ts = ts
                    if cue < 0:
                        cue = ts
                elif track == AUDIO and out.audio is not None:
                    out.audio_blocks += 1
                    dur = (end - start) * 1000.0 / out.audio.bytes_per_second
                    out.audio_end_ms = max(out.audio_end_ms, ts + dur)
                yield track, ts, start, end
            if cue >= 0:
                out.cues.append((cue, rel))
            out.clusters.append((el.pos, el.end))
        if el.id == ID_CLUSTER or not out.clusters:
            out.good_end = el.end
        pos = el.end
    if pos < seg_end:
        out.has_cues = out.sized = False  # something torn at the end: not complete
    if seekhead_end > 0 and min(duration_pos, info_rel, tracks_rel, tags_rel) >= 0:
        out.layout = Layout(
            seg_size_pos=seg.pos + 4,
            seg_data=seg.data,
            seekhead_pos=seg.data,
            seekhead_len=seekhead_end - seg.data,
            duration_pos=duration_pos,
            info_rel=info_rel,
            tracks_rel=tracks_rel,
            tags_rel=tags_rel,
            tags_len=tags_len,
        )
        if seg.data - seg.pos != 12:  # the size field must be 8 bytes wide to be patched
            out.layout = None


def scan(buf: Buf) -> Scan:
    """Read a file's metadata and count its frames (every whole cluster is parsed)."""
    out = Scan(size=len(buf))
    for _ in walk(buf, out):
        pass
    return out


def read_blocks(buf: Buf) -> tuple[Scan, list[Block]]:
    """Every block of every whole cluster, in file order, with the file's metadata."""
    out = Scan(size=len(buf))
    blocks = [Block(t, ts, bytes(buf[s:e])) for t, ts, s, e in walk(buf, out)]
    return out, blocks


def _with_file(path: Path, fn: Callable[[Buf], _T]) -> _T:
    """fn over the file's bytes, memory-mapped (files may be hundreds of MB)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return fn(b"")
        with mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as mm, memoryview(mm) as mv:
            return fn(mv)


def scan_file(path: Path) -> Scan:
    return _with_file(path, scan)


def read_file(path: Path) -> tuple[Scan, list[Block]]:
    return _with_file(path, read_blocks)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _writev_all(fd: int, parts: Chunk) -> None:
    i = 0
    while i < len(parts):
        group = parts[i : i + _IOV_MAX]
        n = os.writev(fd, group)
        for p in group:
            i += 1
            if n >= len(p):
                n -= len(p)
            else:  # a short write: finish this buffer, then go on from the next
                _write_all(fd, memoryview(p)[n:])
                break


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


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
        _pwrite_all(fd, tail, s.good_end)
        os.fsync(fd)
        for offset, data in patches:
            _pwrite_all(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    return scan_file(path)


class MkvFile:
    """A file being written: the fd, the muxer, and how many bytes are surely on disk.

    Blocking (write, fsync): call its methods from a worker thread, one at a time.
    """

    def __init__(self, path: Path, muxer: Muxer) -> None:
        self.path = path
        self.muxer = muxer
        self.written = 0
        self._trailer: tuple[bytes, list[tuple[int, bytes]]] | None = None
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)

    def write(self, chunk: bytes | Chunk) -> None:
        """Append a chunk from the muxer; on an error the file is cut back to where it was."""
        try:
            if isinstance(chunk, bytes):
                _write_all(self.fd, chunk)
                size = len(chunk)
            else:
                _writev_all(self.fd, chunk)
                size = sum(map(len, chunk))
        except OSError:
            os.ftruncate(self.fd, self.written)
            os.lseek(self.fd, self.written, os.SEEK_SET)
            raise
        self.written += size

    def sync(self) -> None:
        os.fsync(self.fd)

    def finish(self, tags: Mapping[str, str] | None = None) -> None:
        """Append the last cluster and the trailer, patch Duration/SeekHead/size; fsync twice.

        Safe to call again after it raised (e.g. ENOSPC): the trailer is built once and the
        failed append was cut back, so a retry writes the same bytes at the same place.
        """
        if self._trailer is None:
            self._trailer = self.muxer.finish(tags)
        tail, patches = self._trailer
        if self.written < self.muxer.pos:
            self.write(tail)
        os.fsync(self.fd)
        for offset, data in patches:
            _pwrite_all(self.fd, data, offset)
        os.fsync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
