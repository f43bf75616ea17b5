"""Foscam CGI (Foscam/Netwave): videostream.cgi server push, get_status.cgi polled for alarm_status.

The camera has no event stream, so its trigger state (`alarm_status`) is polled every
`poll_interval`; every poll is a full resync. Schedules: get_params.cgi alarm_schedule_* (arming),
get_forbidden.cgi (privacy).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from recorderd.cameras.clock import ClockReading, fixed_zone
from recorderd.cameras.drivers.base import Driver
from recorderd.cameras.streams import StreamSpec
from recorderd.dialects.registry import Dialect
from recorderd.protocol.dialects.foscam import parse_status, parse_vars
from recorderd.protocol.errors import ProtocolError
from recorderd.schedule.readers import from_foscam_params

if TYPE_CHECKING:
    from recorderd.cameras.http import CameraHttp
    from recorderd.schedule.engine import Schedule


class FoscamDriver(Driver):
    dialect = Dialect.FOSCAM

    def streams(self) -> list[StreamSpec]:
        specs: list[StreamSpec] = []
        if self.wants_video:
            # resolution/rate left to the camera's settings
            specs.append(StreamSpec("video", "video", self.cfg.video_url or "videostream.cgi"))
        if self.wants("motion") or self.wants("input") or self.wants("sound"):
            specs.append(
                StreamSpec(
                    "status",
                    "poll",
                    "get_status.cgi",
                    parse_text=parse_status,
                    interval=float(self.cfg.poll_interval),
                )
            )
        return specs

    async def read_schedules(self, http: CameraHttp, zone: tzinfo) -> tuple[Schedule | None, Schedule | None]:
        arming = privacy = None
        if self.cfg.schedule == "camera":
            text, _ = await http.get_text("get_params.cgi")
            arming = from_foscam_params(parse_vars(text), zone, "alarm_schedule")
        if self.cfg.privacy == "camera":
            text, _ = await http.get_text("get_forbidden.cgi")
            privacy = from_foscam_params(parse_vars(text), zone, "schedule")
        return arming, privacy

    async def read_clock(self, http: CameraHttp) -> ClockReading | None:
        """get_status.cgi: `now`, seconds since 1970 UTC, and `tz`, seconds west of GMT (the real
        capture's 18000 is UTC-5)."""
        text, _ = await http.get_text("get_status.cgi")
        v = parse_vars(text)
        try:
            now, tz = int(v["now"]), int(v.get("tz", "0") or 0)
        except (KeyError, ValueError):
            raise ProtocolError("foscam: get_status.cgi without a readable now/tz") from None
        if abs(tz) > 14 * 3600 or not 0 <= now < 2**33:
            raise ProtocolError(f"foscam: now/tz out of range: {now}, {tz}")
        zone = fixed_zone(-tz)
        return ClockReading(datetime.fromtimestamp(now, UTC).astimezone(zone), zone)


DRIVER = FoscamDriver
