"""What the writer and the reader agree on: element IDs, track numbers, fixed slots, and `Layout`
(where a file's patchable parts are). Definitions only."""

from __future__ import annotations

from dataclasses import dataclass

from recorderd.recording.frames import AudioCodec

TIMESCALE_NS = 1_000_000  # timestamps in milliseconds
VIDEO, AUDIO = 1, 2
EPOCH_2001 = 978307200.0  # Matroska's DateUTC counts nanoseconds from 2001-01-01T00:00:00Z
DURATION_SLOT = 11  # Duration: 2-byte ID, 1-byte size, 8-byte float

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
FORMAT_TAG: dict[AudioCodec, int] = {"mulaw": 0x0007, "alaw": 0x0006, "g726": 0x0045}
CODEC_OF_TAG: dict[int, AudioCodec] = {v: k for k, v in FORMAT_TAG.items()}


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
