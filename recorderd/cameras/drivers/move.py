"""Seed 004 (MOBOTIX MOVE): eventdata.cgi?action=monitor for motion, IO, tampering and faces; the
MJPEG server push on its own port (`video_url`, else port 8008 of `url`, as the document says)."""

from __future__ import annotations

from recorderd.cameras.drivers.base import Driver
from recorderd.cameras.streams import PartLike, StreamSpec
from recorderd.protocol.dialects import move
from recorderd.protocol.events import TriggerSample

EVENTDATA = "cgi-bin/admin/eventdata.cgi"


def eventdata_part(part: PartLike) -> list[TriggerSample]:
    return move.samples(part.body)


def eventdata_text(text: str) -> list[TriggerSample]:
    return move.samples(text)


class MoveDriver(Driver):
    dialect = "move"

    def groups(self) -> list[str]:
        out = []
        if self.wants("motion"):
            windows = sorted({int(t.split(":")[1]) for t in self.cfg.triggers if t.startswith("motion:")})
            if "motion" in self.cfg.triggers or not windows:
                windows = [0, 1, 2, 3]
            out += ["Motion" if w == 0 else f"Motion{w}" for w in windows]
        if self.wants("input") or self.wants("output"):
            out.append("IO")  # IO:Status: inputs and outputs alike
        if self.wants("tamper"):
            out.append("T0")
        if self.wants("face"):
            out.append("Face")
        return out

    def streams(self) -> list[StreamSpec]:
        specs: list[StreamSpec] = []
        if self.wants_video:
            if self.cfg.video_url:
                specs.append(StreamSpec("video", "video", self.cfg.video_url))
            else:
                specs.append(StreamSpec("video", "video", "", port=8008))
        groups = ",".join(self.groups())
        if groups:
            specs.append(
                StreamSpec(
                    "events",
                    "events",
                    EVENTDATA,
                    {"action": "monitor", "group": groups},
                    parse=eventdata_part,
                    resync=(EVENTDATA, {"action": "get", "group": groups}, eventdata_text),
                )
            )
        return specs


DRIVER = MoveDriver
