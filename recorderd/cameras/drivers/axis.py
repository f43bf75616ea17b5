"""The IP Camera Open API (`openapi`) and VAPIX, param.cgi API v3.00 (`vapix`): the same CGI families under different paths.

Streams: MJPEG; motion levels (boundary `mdb`, `group=0;level=28;threshold=45;`); the IO monitor
(boundary `ioboundary`, `IO0:/`), asked once after every (re)connect for the current state with
`check`; audio (singlepart 240-byte blocks or multipart).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING, Literal

from recorderd.cameras.drivers.base import Driver
from recorderd.cameras.streams import PartLike, PartParser, StreamSpec
from recorderd.dialects.registry import Dialect
from recorderd.protocol.dialects import openapi, paramcgi
from recorderd.protocol.events import TriggerSample

if TYPE_CHECKING:
    from recorderd.cameras.http import CameraHttp
    from recorderd.schedule.engine import Schedule


@dataclass(frozen=True)
class Paths:
    video: str
    motion: str
    inputs: str
    audio: str
    outputs: str = ""  # the outputs' monitor, where the document gives one


def motion_part(part: PartLike) -> list[TriggerSample]:
    return openapi.parse_motion(part.body)


def io_part(part: PartLike) -> list[TriggerSample]:
    return openapi.parse_io(part.body)


def output_part(part: PartLike) -> list[TriggerSample]:
    return openapi.parse_io(part.body, "output")


class AxisFamilyDriver(Driver):
    paths = Paths("video.mjpg", "motion.cgi", "input.cgi", "fromserver.cgi")

    def streams(self) -> list[StreamSpec]:
        specs: list[StreamSpec] = []
        cfg = self.cfg
        if self.wants_video:
            specs.append(StreamSpec("video", "video", cfg.video_url or self.paths.video))
        if self.wants("motion"):
            windows = sorted({t.split(":")[1] for t in cfg.triggers if t.startswith("motion:")})
            params = {} if "motion" in cfg.triggers or not windows else {"group": ",".join(windows)}
            specs.append(
                StreamSpec(
                    "motion",
                    "events",
                    self.paths.motion,
                    params,
                    parse=motion_part,
                    # VAPIX §5.4.5 note 1: no (included) motion window defined
                    no_content="no motion windows defined on the camera; motion triggers stay off",
                )
            )
        if self.wants("input"):
            specs.append(self._monitor("io", "input", self.paths.inputs, io_part))
        if self.wants("output") and self.paths.outputs:
            specs.append(self._monitor("outputs", "output", self.paths.outputs, output_part))
        if self.wants_audio:
            specs.append(StreamSpec("audio", "audio", cfg.audio_url or self.paths.audio))
        return specs

    def _monitor(
        self, name: str, family: Literal["input", "output"], path: str, parse: PartParser
    ) -> StreamSpec:
        """A port monitor (`?monitor=1,2`); it may speak only on change, so the state is asked
        (`?checkactive=`) after each connect."""
        ports = ",".join(str(n) for n in self.numbers(family))
        resync = (path, {"checkactive": ports}, paramcgi.parse_port_check)
        return StreamSpec(name, "events", path, {"monitor": ports}, parse=parse, resync=resync)


class OpenapiDriver(AxisFamilyDriver):
    dialect = Dialect.OPENAPI


class VapixDriver(AxisFamilyDriver):
    dialect = Dialect.VAPIX
    # §5.5.1.2: io/output.cgi?monitor= streams the outputs' state as the inputs' monitor does
    paths = Paths(
        "mjpg/video.mjpg", "motion/motiondata.cgi", "io/input.cgi", "audio/receive.cgi", "io/output.cgi"
    )

    async def read_schedules(self, http: CameraHttp, zone: tzinfo) -> tuple[Schedule | None, Schedule | None]:
        """The param.cgi Event group (the first one, E0 when present) as the arming schedule."""
        from recorderd.schedule.readers import event_groups, from_param_event

        if self.cfg.schedule != "camera":
            return None, None
        text, _ = await http.get_text("param.cgi", {"action": "list", "group": "Event"})
        params = paramcgi.parse_param_list(text).params
        groups = event_groups(params)
        if not groups:
            return None, None
        return from_param_event(params, zone, groups[0]), None
