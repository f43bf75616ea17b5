"""A small Matroska writer and reader for our own files: MJPEG and G.711/G.726 passed through.

Layout of a file (offsets in the SeekHead and Cues are relative to the Segment's payload):

    EBML header
    Segment (size unknown while written; patched on close)
      Void (reserved for the SeekHead)      Info (..., Void of 11 bytes where Duration goes)
      Tracks (1: V_MJPEG, 2: A_MS/ACM)      Tags (camera, reason, trigger, incident, start)
      Cluster, Cluster, ...                 each < 1 s, built in memory and written with one writev()
      Cues, Tags (only if changed)          appended on close

A file is playable while it is written and after a crash up to its last whole cluster.

One module per job: `spec` (element IDs, `Layout`), `mux` (pure: frames in, bytes out; `finalize`),
`read` (pure: `scan`/`walk` over a buffer), `fileio` (`MkvFile` writes; `scan_file`/`read_file`
map a file), `repair` (closes out a file cut short). The names below are the package's API.
"""

from recorderd.recording.mkv.fileio import MkvFile, read_file, scan_file
from recorderd.recording.mkv.mux import Chunk, Muxer, jpeg_size
from recorderd.recording.mkv.read import Block, MkvError, Scan, read_blocks, scan, walk
from recorderd.recording.mkv.repair import repair
from recorderd.recording.mkv.spec import AUDIO, VIDEO, Layout

__all__ = [
    "AUDIO",
    "VIDEO",
    "Block",
    "Chunk",
    "Layout",
    "MkvError",
    "MkvFile",
    "Muxer",
    "Scan",
    "jpeg_size",
    "read_blocks",
    "read_file",
    "repair",
    "scan",
    "scan_file",
    "walk",
]
