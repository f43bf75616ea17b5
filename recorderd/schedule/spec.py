"""How a schedule is written in the config, validated into typed specs.

The schedule engine compiles these into week intervals; this module only checks their form.
Forms (see the example config):
  "always" | "never" | "camera"
  { foscam = { sun_0 = 0, sun_1 = 4294967264, ..., sat_2 = 0 } }      Foscam CGI, 96 slots a day
  { days = 62, start = "08:00:00", stop = "18:00:00" }                   IPCamCGI, bit 0 = Sunday
  { weekdays = "1111100", start = "08:00", duration = 10 }               VAPIX, Monday first
  { mon = ["08:00-12:00", "13:00-18:00"], sat = "22:00-06:00", "mon-fri" = "..." }   windows
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    field_validator,
)
from pydantic_core import PydanticCustomError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FOSCAM_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def parse_clock(text: str, *, allow_24: bool = False) -> int:
    """'08:00' or '08:00:30' -> seconds after midnight; '24:00' only where allowed."""
    m = _TIME_RE.fullmatch(text.strip())
    if m:
        h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        secs = h * 3600 + mi * 60 + s
        if mi < 60 and s < 60 and (h < 24 or (allow_24 and secs == 86400)):
            return secs
    raise PydanticCustomError("clock", 'expected a time like "08:00", got "{got}"', {"got": text})


def parse_window(text: str) -> tuple[int, int]:
    """'22:00-06:00' -> (79200, 21600) seconds; an end <= start runs past midnight."""
    parts = text.split("-")
    if len(parts) != 2:
        raise PydanticCustomError(
            "window", 'expected a window like "08:00-18:00", got "{got}"', {"got": text}
        )
    start = parse_clock(parts[0])
    end = parse_clock(parts[1], allow_24=True)
    return start, end


def parse_day_key(key: str) -> tuple[int, ...]:
    """'mon' -> (0,), 'mon-fri' -> (0..4), 'fri-mon' -> (4, 5, 6, 0), 'daily' -> all; Monday = 0."""
    k = key.strip().lower()
    if k in ("daily", "all", "mon-sun"):
        return tuple(range(7))
    if k in DAYS:
        return (DAYS.index(k),)
    a, sep, b = k.partition("-")
    if sep and a in DAYS and b in DAYS:
        i, j = DAYS.index(a), DAYS.index(b)
        return tuple((i + n) % 7 for n in range(((j - i) % 7) + 1))
    raise PydanticCustomError(
        "day", 'expected a day like "mon" or a range like "mon-fri", got "{got}"', {"got": key}
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Word = Annotated[int, Field(ge=-(2**31), le=2**32 - 1)]


class FoscamWords(_Strict):
    """The Foscam CGI's alarm_schedule_<day>_<n>: bit 0 of _0 is 00:00-00:15, _1 starts 08:00, _2 16:00."""

    sun_0: Word = 0
    sun_1: Word = 0
    sun_2: Word = 0
    mon_0: Word = 0
    mon_1: Word = 0
    mon_2: Word = 0
    tue_0: Word = 0
    tue_1: Word = 0
    tue_2: Word = 0
    wed_0: Word = 0
    wed_1: Word = 0
    wed_2: Word = 0
    thu_0: Word = 0
    thu_1: Word = 0
    thu_2: Word = 0
    fri_0: Word = 0
    fri_1: Word = 0
    fri_2: Word = 0
    sat_0: Word = 0
    sat_1: Word = 0
    sat_2: Word = 0

    def words(self) -> dict[str, int]:
        """Unsigned 32-bit words keyed 'sun_0' ... 'sat_2'."""
        return {k: v & 0xFFFFFFFF for k, v in self.model_dump().items()}


class WordsSpec(_Strict):
    foscam: FoscamWords


class DayMaskSpec(_Strict):
    """IPCamCGI: bit 0 = Sunday ... bit 6 = Saturday; stop < start crosses midnight; equal = whole day."""

    days: Annotated[int, Field(ge=0, le=127)]
    start: str
    stop: str

    @field_validator("start", "stop")
    @classmethod
    def _clock(cls, v: str) -> str:
        parse_clock(v)
        return v


class WeekdaysSpec(_Strict):
    """VAPIX: 7 characters Monday first, start hh:mm, duration in hours (0 = 24 h)."""

    weekdays: Annotated[str, Field(pattern=r"^[01]{7}$")]
    start: str
    duration: Annotated[int, Field(ge=0, le=24)]

    @field_validator("start")
    @classmethod
    def _clock(cls, v: str) -> str:
        parse_clock(v)
        return v


def _windows_list(value: Any) -> Any:
    """One window stands for a list of one; the items of a list are type-checked by pydantic."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return value
    got = (
        "a table"
        if isinstance(value, dict)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )
    raise PydanticCustomError(
        "windows", 'expected a window like "08:00-18:00" or an array of them, got {got}', {"got": got}
    )


Windows = Annotated[list[str], BeforeValidator(_windows_list)]


class WindowsSpec(RootModel[dict[str, Windows]]):
    """Day windows: keys are days or day ranges, values one window or a list of them."""

    @field_validator("root")
    @classmethod
    def _check(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        if not v:
            raise PydanticCustomError(
                "windows",
                'expected at least one day like mon = "08:00-18:00" (write "never" for never)',
                {},
            )
        for key, windows in v.items():
            parse_day_key(key)
            for w in windows:
                parse_window(w)
        return v

    def windows(self) -> list[tuple[int, int, int]]:
        """(weekday Monday=0, start seconds, end seconds) per window; end <= start runs past midnight."""
        out = []
        for key, windows in self.root.items():
            for day in parse_day_key(key):
                for w in windows:
                    start, end = parse_window(w)
                    out.append((day, start, end))
        return out


NamedSchedule = Literal["always", "never", "camera"]


def _schedule_kind(value: Any) -> str:
    if isinstance(value, str):
        return "@named"
    if isinstance(value, dict):
        if "foscam" in value:
            return "@words"
        if "days" in value:
            return "@days"
        if "weekdays" in value:
            return "@weekdays"
        return "@windows"
    if isinstance(value, BaseModel | RootModel):
        return {WordsSpec: "@words", DayMaskSpec: "@days", WeekdaysSpec: "@weekdays"}.get(
            type(value), "@windows"
        )
    return "@named"


ScheduleSpec = Annotated[
    Annotated[NamedSchedule, Tag("@named")]
    | Annotated[WordsSpec, Tag("@words")]
    | Annotated[DayMaskSpec, Tag("@days")]
    | Annotated[WeekdaysSpec, Tag("@weekdays")]
    | Annotated[WindowsSpec, Tag("@windows")],
    Discriminator(_schedule_kind),
]
