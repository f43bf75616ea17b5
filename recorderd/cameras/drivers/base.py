"""The driver interface: a dialect says which streams to open and how to read the camera's schedule."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, ClassVar, Literal

from recorderd.cameras.clock import ClockReading
from recorderd.cameras.streams import StreamSpec
from recorderd.cameras.triggers import wanted
from recorderd.dialects.registry import DIALECTS, Dialect, DialectSpec, TriggerFamily
from recorderd.protocol.clock import parse_month_date

if TYPE_CHECKING:
    from recorderd.cameras.http import CameraHttp
    from recorderd.config.model import CameraConfig
    from recorderd.schedule.engine import Schedule


class Driver:
    """Base of the dialect drivers. Subclasses implement `streams` (and `read_schedules`)."""

    dialect: ClassVar[Dialect]

    def __init__(self, cfg: CameraConfig) -> None:
        self.cfg = cfg

    def streams(self) -> list[StreamSpec]:
        raise NotImplementedError

    async def read_schedules(self, http: CameraHttp, zone: tzinfo) -> tuple[Schedule | None, Schedule | None]:
        """(arming, privacy) as the camera keeps them, for `schedule = "camera"`; None where the
        dialect has no such schedule."""
        return None, None

    @property
    def has_clock(self) -> bool:
        return self.spec.clock is not None

    async def read_clock(self, http: CameraHttp) -> ClockReading | None:
        """The camera's time through the dialect's time CGI (the registry's `clock`); this default
        reads `Apr 03, 2003 15:16:04` (Open API §1.10.1, VAPIX §5.1.12.1), a local time with no zone."""
        query = self.spec.clock
        if query is None:
            return None
        text, _ = await http.get_text(query.path, dict(query.params))
        return ClockReading(parse_month_date(text))

    @property
    def spec(self) -> DialectSpec:
        return DIALECTS[Dialect(self.cfg.dialect)]

    # -- what the configuration asks for -------------------------------------------------------

    @property
    def records(self) -> bool:
        return self.cfg.record.mode != "off"

    @property
    def wants_video(self) -> bool:
        """Video is opened to record; dialects whose events ride on the video override this."""
        return self.records

    @property
    def wants_audio(self) -> bool:
        return self.cfg.audio and self.records

    def wants(self, family: TriggerFamily) -> bool:
        """Whether a configured trigger is of this family ("motion", "input", "sound", ...)."""
        return wanted(self.cfg.triggers, family)

    def numbers(self, family: Literal["input", "output"]) -> list[int]:
        """The input or output numbers the config names (input:1 -> 1); every number the dialect
        offers when the whole family is asked for ("input")."""
        if family in self.cfg.triggers:
            return list(self.spec.inputs if family == "input" else self.spec.outputs)
        return sorted({int(t.split(":")[1]) for t in self.cfg.triggers if t.startswith(family + ":")})
