"""IPCamCGI (CAS-3xx, D-Link): the IO bits ride on every mjpeg.cgi frame's `Date:` header.

Trigger1/Trigger2 are `input:1`/`input:2`. The Image Upload bit is reported as `motion`: these
cameras have no motion API of their own and upload exactly when their motion detection fires
(the simulator does the same). iocontrol.cgi is asked after every (re)connect; schedules come from
upload.cgi.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

from recorderd.cameras.clock import ClockReading, fixed_zone
from recorderd.cameras.drivers.base import Driver
from recorderd.cameras.streams import PartLike, StreamSpec, TextParser
from recorderd.dialects.registry import Dialect
from recorderd.dialects.tables import IPCAMCGI_ZONE_OFFSETS
from recorderd.protocol.clock import parse_ipcamcgi_datetime
from recorderd.protocol.dialects import ipcamcgi
from recorderd.protocol.errors import PartlyRead, ProtocolError
from recorderd.protocol.events import TriggerSample

if TYPE_CHECKING:
    from recorderd.cameras.http import CameraHttp
    from recorderd.schedule.engine import Schedule


def frame_samples(part: PartLike) -> list[TriggerSample]:
    headers = getattr(part, "headers", {})
    date = headers.get("date")
    if not date:
        return []
    try:
        info = ipcamcgi.parse_frame_header(date)
    except ProtocolError:
        return []  # a frame without the IO field still is a frame
    return [*ipcamcgi.samples_from_frame(info), TriggerSample("motion", info.upload)]


def iocontrol_samples(text: str) -> list[TriggerSample]:
    """iocontrol.cgi: Trigger1/2 as input:1/2, Image Upload as motion; a bad field is skipped
    (PartlyRead with the others)."""
    try:
        io = ipcamcgi.parse_iocontrol(text)
    except PartlyRead as e:
        raise PartlyRead(e.problems, ipcamcgi.iocontrol_samples(e.result)) from None
    return ipcamcgi.iocontrol_samples(io)


class IpcamcgiDriver(Driver):
    dialect = Dialect.IPCAMCGI

    @property
    def wants_video(self) -> bool:
        return True  # the events ride on the frames

    def streams(self) -> list[StreamSpec]:
        # iocontrol.cgi answers the state at once after each (re)connect, before the first frame
        resync: tuple[str, dict[str, str], TextParser] = ("iocontrol.cgi", {}, iocontrol_samples)
        return [
            StreamSpec(
                "video", "video", self.cfg.video_url or "mjpeg.cgi", parse=frame_samples, resync=resync
            )
        ]

    async def read_schedules(self, http: CameraHttp, zone: tzinfo) -> tuple[Schedule | None, Schedule | None]:
        """The FTP upload schedule (upload.cgi) is the arming schedule (uploads are the alarm)."""
        from recorderd.schedule.readers import from_ipcamcgi_params

        if self.cfg.schedule != "camera":
            return None, None
        text, _ = await http.get_text("upload.cgi")
        params = {}
        for line in text.replace("&", "\n").splitlines():
            k, sep, v = line.partition("=")
            if sep:
                params[k.strip()] = v.strip()
        return from_ipcamcgi_params(params, zone, "FTPSchedule"), None

    async def read_clock(self, http: CameraHttp) -> ClockReading | None:
        """§3.1.5 datetime.cgi: Date and Time in the camera's zone, which TimeZoneIndex (Table 1,
        half-hour zones too) or else TimeZone (whole hours) tells."""
        text, _ = await http.get_text("datetime.cgi")
        dt = parse_ipcamcgi_datetime(text)
        minutes = None
        if dt.zone_index is not None and 0 < dt.zone_index < len(IPCAMCGI_ZONE_OFFSETS):
            minutes = IPCAMCGI_ZONE_OFFSETS[dt.zone_index]
        if minutes is None and dt.zone_hours is not None and -12 <= dt.zone_hours <= 13:
            minutes = dt.zone_hours * 60
        if minutes is None:
            return ClockReading(dt.local)
        zone = fixed_zone(minutes * 60)
        return ClockReading(dt.local.replace(tzinfo=zone), zone)


DRIVER = IpcamcgiDriver
