"""The reader, pure: a file's metadata and blocks from its bytes (a buffer or a memory map), up to
its last whole cluster. No I/O: `scan_file`/`read_file` (fileio.py) map a file and call these."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from recorderd.recording import ebml
from recorderd.recording.ebml import UNKNOWN_SIZE, Buf, Element, Truncated, children
from recorderd.recording.frames import AudioFormat
from recorderd.recording.mkv.spec import (
    AUDIO,
    CODEC_OF_TAG,
    DURATION_SLOT,
    EPOCH_2001,
    ID_CLUSTER,
    ID_CODECID,
    ID_CODECPRIVATE,
    ID_CUES,
    ID_DATEUTC,
    ID_DURATION,
    ID_EBML,
    ID_HEIGHT,
    ID_INFO,
    ID_SEEKHEAD,
    ID_SEGMENT,
    ID_SIMPLEBLOCK,
    ID_SIMPLETAG,
    ID_TAG,
    ID_TAGNAME,
    ID_TAGS,
    ID_TAGSTRING,
    ID_TIMESTAMP,
    ID_TRACKENTRY,
    ID_TRACKS,
    ID_VIDEO,
    ID_VOID,
    ID_WIDTH,
    VIDEO,
    Layout,
)


class MkvError(Exception):
    """A file that is not one of ours, or damaged before its first cluster."""


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
            if tag in CODEC_OF_TAG:
                out.audio = AudioFormat(codec=CODEC_OF_TAG[tag], rate=rate, channels=ch, bits=bits)


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
