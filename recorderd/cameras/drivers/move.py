"""MOBOTIX MOVE: eventdata.cgi?action=monitor for motion, IO, tampering and faces; the
MJPEG server push on its own port (`video_url`, else port 8008 of `url`, as the document says)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from recorderd.cameras.clock import ClockReading, fixed_zone
from recorderd.cameras.drivers.base import Driver
from recorderd.cameras.streams import PartLike, StreamSpec
from recorderd.dialects.registry import Dialect
from recorderd.protocol.clock import parse_gmt_offset
from recorderd.protocol.dialects import move
from recorderd.protocol.dialects.paramcgi import parse_param_list
from recorderd.protocol.events import TriggerSample

if TYPE_CHECKING:
    from recorderd.cameras.http import CameraHttp

EVENTDATA = "cgi-bin/admin/eventdata.cgi"


def eventdata_part(part: PartLike) -> list[TriggerSample]:
    return move.samples(part.body)


def eventdata_text(text: str) -> list[TriggerSample]:
    return move.samples(text)


class MoveDriver(Driver):
    dialect = Dialect.MOVE

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

    async def read_clock(self, http: CameraHttp) -> ClockReading | None:
        """date.cgi's local time, in the zone param.cgi's Time.TimeZone gives (`GMT+8`)."""
        reading = await super().read_clock(http)
        query = self.spec.clock
        if reading is None or query is None:
            return reading
        text, _ = await http.get_text(query.zone_path, dict(query.zone_params))
        values = parse_param_list(text).params
        raw = next((v for k, v in values.items() if k.removeprefix("root.") == "Time.TimeZone"), None)
        if raw is None:
            return reading
        zone = fixed_zone(parse_gmt_offset(raw))
        return ClockReading(reading.time.replace(tzinfo=zone), zone)


DRIVER = MoveDriver
