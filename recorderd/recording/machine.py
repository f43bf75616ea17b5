"""The recording decisions of one camera, as a pure state machine.

Fed frames (with their arrival times), incident starts and ends, privacy changes and clock ticks,
it answers with actions for the shell: Open a file, Write a frame to it, Close it, Join (an
incident joined the open file). No I/O and no clock reads: every time comes in with an input.

Event mode: frames wait in a ring buffer (bounded by `pre` + `lead` seconds and by `pre_bytes`);
an incident opens a clip that begins with the last video frame at or before `pre` seconds before its
start; the clip runs while any incident is active and up to the first video frame at or after `post`
past the end of the last one (an incident during post-time extends it). A clip is capped at `max` seconds: then the file is closed and, if an incident is still
active, a follow-on file continues at the very next frame (nothing lost; a stuck trigger gives files of
`max` length rather than one without end; the engine ends its incident after alarm_timeout).

Continuous mode: files are cut at wall-clock multiples of `segment` in the camera's zone (60 s ->
on the minute). Every frame goes to exactly one file, so nothing is lost or doubled at a cut.

Files begin with a video frame (the header needs the picture size): audio arriving before the first
video frame of a file is dropped; at a cut, audio goes on into the old file until a video frame
crosses the boundary.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Literal

from recorderd.recording.frames import ClipEnd, ClipStart, Frame, Privacy

if TYPE_CHECKING:
    from recorderd.config.model import RecordMode

CloseWhy = Literal["post", "max", "segment", "privacy", "shutdown", "split"]


@dataclass(frozen=True, slots=True)
class Open:
    """Open a new file; `first` is the first frame to be written (a video frame)."""

    reason: str  # "continuous" or the trigger that opened the clip
    incident: str | None
    first: Frame


@dataclass(frozen=True, slots=True)
class Write:
    frame: Frame


@dataclass(frozen=True, slots=True)
class Close:
    why: CloseWhy


@dataclass(frozen=True, slots=True)
class Join:
    """A further incident falls into the open file (for its tags)."""

    incident: str
    trigger: str


Action = Open | Write | Close | Join


@dataclass(slots=True)
class _Clip:
    reason: str
    incident: str | None
    start: float | None = None  # mono of the first frame written; None until a file is open


class RecordMachine:
    """One camera's recording state. Every method returns the actions to carry out, in order."""

    def __init__(
        self,
        mode: RecordMode,
        *,
        pre: float = 5.0,
        post: float = 10.0,
        max: float = 600.0,
        segment: float = 60.0,
        pre_bytes: int = 64 * 1024**2,
        zone: tzinfo | None = None,
        lead: float = 2.0,
        grace: float = 1.0,
    ) -> None:
        self.mode = mode
        self.pre, self.post, self.max, self.segment = pre, post, max, segment
        self.pre_bytes = pre_bytes
        self.zone = zone
        self.lead = lead  # extra ring time: an incident may be announced after its start (debounce)
        self.grace = grace  # ticks act this late, so frames still queued are not cut off
        self.privacy_on = False
        self.ring: deque[Frame] = deque()
        self.ring_bytes = 0
        self.active: dict[str, str] = {}  # incident id -> trigger
        self.post_until: float | None = None
        self.clip: _Clip | None = None
        self.file_open = False
        self.seg_start = self.seg_end = -math.inf  # wall bounds of the open continuous segment
        self.dropped_audio = 0  # audio with no file to go to (before a file's first video frame)

    # ---------------------------------------------------------------- inputs

    def only_writes(self, f: Frame) -> bool:
        """Whether `frame(f)` would only write the frame into the open file: the common case,
        answered without building actions (and with no change of state, as frame(f) makes none then)."""
        if not self.file_open or self.privacy_on:
            return False
        if self.mode == "continuous":
            return f.kind != "video" or self.seg_start <= f.wall < self.seg_end
        clip = self.clip
        if clip is None or f.kind != "video":
            return clip is not None
        return (self.post_until is None or f.mono < self.post_until) and (
            clip.start is None or f.mono - clip.start < self.max
        )

    def frame(self, f: Frame) -> list[Action]:
        if self.privacy_on or self.mode == "off":
            return []
        if self.mode == "continuous":
            return self._continuous(f)
        clip = self.clip
        if clip is None:
            self._ring_add(f)
            return []
        if not self.file_open:
            if f.kind != "video":
                self.dropped_audio += 1
                return []
            self.file_open = True
            clip.start = f.mono
            return [Open(clip.reason, clip.incident, f), Write(f)]
        if self.post_until is not None and f.mono >= self.post_until and f.kind == "video":
            self._end_clip()  # this frame still belongs in: the clip surely covers `post`
            return [Write(f), Close("post")]
        if clip.start is not None and f.mono - clip.start >= self.max and f.kind == "video":
            self.file_open = False
            if self.post_until is not None:  # in post-time: the cap ends the clip
                self._end_clip()
                self._ring_add(f)
                return [Close("max")]
            clip.start = f.mono
            self.file_open = True
            return [Close("max"), Open(clip.reason, clip.incident, f), Write(f)]
        return [Write(f)]

    def incident_start(self, ev: ClipStart) -> list[Action]:
        if self.mode == "off" or self.privacy_on:
            return []
        self.active[ev.incident] = ev.trigger
        if self.mode == "continuous":
            return [Join(ev.incident, ev.trigger)] if self.file_open else []
        self.post_until = None
        if self.clip is not None:
            return [Join(ev.incident, ev.trigger)] if self.file_open else []
        self.clip = _Clip(ev.trigger, ev.incident)
        # begin at the last video frame at or before start - pre (so the clip surely covers `pre`),
        # else at the ring's first video frame; a file begins with a picture
        ring = list(self.ring)
        self.ring.clear()
        self.ring_bytes = 0
        cutoff = ev.mono - self.pre
        first = next(
            (i for i in range(len(ring) - 1, -1, -1) if ring[i].kind == "video" and ring[i].mono <= cutoff),
            -1,
        )
        if first < 0:
            first = next((i for i, f in enumerate(ring) if f.kind == "video"), len(ring))
        self.dropped_audio += sum(1 for f in ring[:first] if f.kind == "audio")
        frames = ring[first:]
        if not frames:
            return []
        self.file_open = True
        self.clip.start = frames[0].mono
        return [Open(ev.trigger, ev.incident, frames[0]), *(Write(f) for f in frames)]

    def incident_end(self, ev: ClipEnd) -> list[Action]:
        if self.active.pop(ev.incident, None) is None or self.active:
            return []
        if self.mode == "event" and self.clip is not None:
            self.post_until = ev.mono + self.post
        return []

    def privacy(self, ev: Privacy) -> list[Action]:
        if ev.active == self.privacy_on:
            return []
        self.privacy_on = ev.active
        self.ring.clear()
        self.ring_bytes = 0
        if not ev.active:
            if self.mode == "event" and self.active and self.clip is None:
                first = next(iter(self.active.items()))
                self.clip = _Clip(first[1], first[0])  # opens at the next video frame
            return []
        was_open = self.file_open
        self._end_clip()
        return [Close("privacy")] if was_open else []

    def tick(self, mono: float, wall: float) -> list[Action]:
        """Time passes without frames (a camera down): close what is due, `grace` late."""
        if not self.file_open:
            due = self.post_until is not None and mono >= self.post_until + self.grace
            if self.clip is not None and not self.active and due:
                self._end_clip()
            return []
        if self.mode == "continuous":
            if wall >= self.seg_end + self.grace:
                self.file_open = False
                return [Close("segment")]
            return []
        clip = self.clip
        assert clip is not None
        if self.post_until is not None and mono >= self.post_until + self.grace:
            self._end_clip()
            return [Close("post")]
        if clip.start is not None and mono - clip.start >= self.max + self.grace:
            self.file_open = False  # a follow-on file opens at the next video frame if still active
            if self.post_until is not None:
                self._end_clip()
            return [Close("max")]
        return []

    def split(self) -> list[Action]:
        """Close the file now (e.g. the audio format changed); the next video frame opens another."""
        if not self.file_open:
            return []
        self.file_open = False
        if self.mode == "continuous":
            self.seg_end = -math.inf
        return [Close("split")]

    def shutdown(self) -> list[Action]:
        was_open = self.file_open
        self._end_clip()
        self.ring.clear()
        self.ring_bytes = 0
        return [Close("shutdown")] if was_open else []

    # ---------------------------------------------------------------- helpers

    def _end_clip(self) -> None:
        self.clip = None
        self.file_open = False
        self.post_until = None

    def _ring_add(self, f: Frame) -> None:
        ring = self.ring
        ring.append(f)
        self.ring_bytes += len(f.data)
        oldest = f.mono - self.pre - self.lead
        while ring and (ring[0].mono < oldest or self.ring_bytes > self.pre_bytes):
            self.ring_bytes -= len(ring.popleft().data)

    def _continuous(self, f: Frame) -> list[Action]:
        if self.file_open and (f.kind != "video" or self.seg_start <= f.wall < self.seg_end):
            return [Write(f)]
        if f.kind != "video":
            self.dropped_audio += 1
            return []
        acts: list[Action] = []
        if self.file_open:
            acts.append(Close("segment"))
        self.seg_start, self.seg_end = self.segment_bounds(f.wall)
        self.file_open = True
        first_incident = next(iter(self.active), None)
        acts += [Open("continuous", first_incident, f), Write(f)]
        return acts

    def segment_bounds(self, wall: float) -> tuple[float, float]:
        """The [start, end) wall times of the segment holding `wall`, aligned in local time."""
        offset = 0.0
        if self.zone is not None:
            off = datetime.fromtimestamp(wall, self.zone).utcoffset()
            offset = off.total_seconds() if off else 0.0
        local = wall + offset
        start = math.floor(local / self.segment) * self.segment - offset
        return start, start + self.segment
