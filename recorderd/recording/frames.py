"""What the camera engine sends a camera's recorder (a RecorderSink), in arrival order.

Times: `mono` is trio.current_time() (the engine's clock, never jumps); `wall` is epoch seconds for
the same instant (time.time() mapped at arrival). File timestamps come from `mono` differences, so a
wall-clock step never tears a file; `wall` names files and aligns continuous segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    import trio

FrameKind = Literal["video", "audio"]
AudioCodec = Literal["mulaw", "alaw", "g726"]

# MIME types of the documents' audio streams (VAPIX §5.8.1; the Open API's §7.1 names the same).
_MIME_AUDIO: dict[str, tuple[AudioCodec, int]] = {
    "audio/basic": ("mulaw", 8),  # G.711 mu-law 64 kbit/s
    "audio/pcmu": ("mulaw", 8),
    "audio/pcma": ("alaw", 8),
    "audio/32kadpcm": ("g726", 4),  # G.726 32 kbit/s
    "audio/g726-32": ("g726", 4),
    "audio/g723": ("g726", 3),  # VAPIX §5.8.1: "audio/G723 ... which is G.726 24kbit/s"
    "audio/g726-24": ("g726", 3),
    "audio/g726-16": ("g726", 2),
    "audio/g726-40": ("g726", 5),
}


@dataclass(slots=True)  # not frozen: one is made per frame, and a frozen one costs 3x to make
class Frame:
    """One JPEG (kind "video") or one block of coded audio (kind "audio"), passed through untouched."""

    data: bytes
    kind: FrameKind
    mono: float
    wall: float


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """The camera's audio coding; send it before the first audio frame (and again if it changes)."""

    codec: AudioCodec = "mulaw"
    rate: int = 8000
    channels: int = 1
    bits: int = 8  # bits per sample: 8 for G.711, 2..5 for G.726 (16..40 kbit/s)

    @classmethod
    def from_mime(cls, content_type: str) -> AudioFormat | None:
        """The format for an audio Content-Type, or None when it is not one we can store."""
        known = _MIME_AUDIO.get(content_type.split(";")[0].strip().lower())
        return None if known is None else cls(codec=known[0], bits=known[1])

    @property
    def bytes_per_second(self) -> float:
        return self.rate * self.channels * self.bits / 8


@dataclass(frozen=True, slots=True)
class ClipStart:
    """An incident began at `mono`/`wall` (may be earlier than this message: debounce)."""

    incident: str  # the id from Index.start_incident
    trigger: str
    mono: float
    wall: float


@dataclass(frozen=True, slots=True)
class ClipEnd:
    """The incident ended at `mono`/`wall`; the clip runs on for `post` after the last one ends."""

    incident: str
    mono: float
    wall: float


@dataclass(frozen=True, slots=True)
class Privacy:
    """The privacy schedule (or override) turned on or off: while on, nothing is recorded."""

    active: bool
    mono: float
    wall: float


RecorderInput = Frame | AudioFormat | ClipStart | ClipEnd | Privacy


class RecorderSink(Protocol):
    """The camera's end of its recorder: a trio memory channel's send side, or the RecorderInlet
    the daemon hands out (recorderd.recording.recorder), which does the same faster."""

    def send_nowait(self, value: RecorderInput, /) -> None: ...
    def close(self) -> None: ...
    def statistics(self) -> trio.MemoryChannelStatistics: ...
