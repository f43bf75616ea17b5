"""The writer, pure: frames in, file bytes out (`Muxer`), and what closing a file appends and patches
(`finalize`, shared with repair). No I/O: `MkvFile` (fileio.py) writes the bytes."""

from __future__ import annotations

import secrets
import struct
from collections.abc import Mapping
from typing import NamedTuple

from recorderd import __version__
from recorderd.recording.ebml import (
    UNKNOWN_SIZE,
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
from recorderd.recording.frames import AudioFormat
from recorderd.recording.mkv.spec import (
    AUDIO,
    DURATION_SLOT,
    EPOCH_2001,
    FORMAT_TAG,
    ID_AUDIO,
    ID_BITDEPTH,
    ID_CHANNELS,
    ID_CLUSTER,
    ID_CODECID,
    ID_CODECPRIVATE,
    ID_CUECLUSTERPOS,
    ID_CUEPOINT,
    ID_CUES,
    ID_CUETIME,
    ID_CUETRACK,
    ID_CUETRACKPOS,
    ID_DATEUTC,
    ID_DURATION,
    ID_EBML,
    ID_FLAGLACING,
    ID_HEIGHT,
    ID_INFO,
    ID_LANGUAGE,
    ID_MUXAPP,
    ID_RATE,
    ID_SEEK,
    ID_SEEKHEAD,
    ID_SEEKID,
    ID_SEEKPOS,
    ID_SEGMENT,
    ID_SEGUID,
    ID_SIMPLETAG,
    ID_TAG,
    ID_TAGNAME,
    ID_TAGS,
    ID_TAGSTRING,
    ID_TARGETS,
    ID_TIMESCALE,
    ID_TIMESTAMP,
    ID_TITLE,
    ID_TRACKENTRY,
    ID_TRACKNUMBER,
    ID_TRACKS,
    ID_TRACKTYPE,
    ID_TRACKUID,
    ID_VIDEO,
    ID_WIDTH,
    ID_WRITEAPP,
    TIMESCALE_NS,
    VIDEO,
    Layout,
)

# A cluster as the buffers it is made of (its header, then each block's header and data): written
# with one writev from where the frames are, never joined into one buffer first, which would copy
# every frame once more (22 KB a frame, cold in the cache by then).
Chunk = list[bytes]

CLUSTER_MS = 1000
SEEKHEAD_RESERVE = 128  # 4 Seek entries with 8-byte positions need 89
AUDIO_RESYNC_MS = 250  # audio blocks are timed by their sample count unless arrival drifts this far
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # JPEG start-of-frame markers (not DHT/JPG/DAC)


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
        FORMAT_TAG[fmt.codec],
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
