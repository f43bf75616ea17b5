"""The schedule engine: compile a schedule into week intervals and answer armed / next change exactly.

A `Schedule` is a set of half-open intervals over the week in local wall-clock seconds (see
`week.py`) plus the zone whose wall clock it follows. For an instant `t`:

- `armed(t)` is whether t's wall time in the zone (weekday, hh:mm:ss.ffffff) lies in an interval;
- `next_change(t)` is the first instant after t at which that answer differs.

Wall-clock rules, which follow from the definition and need no special case:
- spring forward (e.g. Berlin 02:00 -> 03:00): wall times in the gap never occur, so a boundary inside
  the gap takes effect at the first instant after the gap (03:00 new time), and an interval lying
  wholly inside the gap is skipped that day;
- fall back (e.g. Berlin 03:00 -> 02:00): the repeated wall times occur twice, and both instants get
  the same answer; the change at the transition itself is reported when the two sides differ.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from pydantic import TypeAdapter, ValidationError

from recorderd.core.errors import RecorderdError
from recorderd.schedule import week
from recorderd.schedule.spec import (
    DAYS,
    FOSCAM_DAYS,
    DayMaskSpec,
    ScheduleSpec,
    WeekdaysSpec,
    WindowsSpec,
    WordsSpec,
    parse_clock,
)
from recorderd.schedule.zonetime import US, ZoneTimeline, from_us, timeline, to_us

__all__ = [
    "ALWAYS",
    "NEVER",
    "CameraScheduleError",
    "Schedule",
    "ScheduleError",
    "compile_schedule",
    "from_day_mask",
    "from_weekdays",
    "from_windows",
    "from_words",
    "next_periodic",
]

_WEEK_US = week.WEEK * US
# 1970-01-01 was a Thursday: add three days so that position 0 of the week is a Monday 00:00
_MONDAY_SHIFT_US = 3 * week.DAY * US
# no weekly schedule stays unchanged for longer than this unless it never changes
_HORIZON_US = 3 * _WEEK_US


class ScheduleError(RecorderdError, ValueError):
    """A schedule that cannot be compiled, with a message fit for the user."""


class CameraScheduleError(ScheduleError):
    """The schedule is "camera": it exists only once read from the camera."""


class Schedule:
    """When something is on, as week intervals in one zone's wall-clock time."""

    __slots__ = ("_ends", "_flips", "_starts", "_tl", "intervals", "zone")

    def __init__(self, spans: Iterable[tuple[int, int]], zone: tzinfo) -> None:
        self.intervals: week.Spans = week.normalize(spans)
        self.zone = zone
        self._starts = [s for s, _ in self.intervals]
        self._ends = [e for _, e in self.intervals]
        self._flips = week.flips(self.intervals)
        self._tl: ZoneTimeline = timeline(zone)

    # -- identity -------------------------------------------------------------------------------
    @property
    def is_always(self) -> bool:
        return self.intervals == week.FULL

    @property
    def is_never(self) -> bool:
        return self.intervals == week.EMPTY

    @property
    def slot_aligned(self) -> bool:
        """Whether every boundary falls on a 15-minute slot, so `to_words` is exact."""
        return all(s % week.SLOT == 0 and e % week.SLOT == 0 for s, e in self.intervals)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        if self.intervals != other.intervals:
            return False
        return not self._flips or _zone_key(self.zone) == _zone_key(other.zone)

    def __hash__(self) -> int:
        return hash((self.intervals, _zone_key(self.zone) if self._flips else None))

    def __repr__(self) -> str:
        return f"Schedule({list(self.intervals)!r}, {_zone_key(self.zone)!r})"

    def in_zone(self, zone: tzinfo) -> Schedule:
        """The same wall-clock intervals, followed in another zone."""
        return Schedule(self.intervals, zone)

    # -- set operations (the zone of a non-constant operand wins) --------------------------------
    def _zone_with(self, other: Schedule) -> tzinfo:
        if not self._flips:
            return other.zone
        if other._flips and _zone_key(other.zone) != _zone_key(self.zone):
            raise ScheduleError(
                f"cannot combine schedules in different zones ({_zone_key(self.zone)}, "
                f"{_zone_key(other.zone)})"
            )
        return self.zone

    def __or__(self, other: Schedule) -> Schedule:
        return Schedule(week.union(self.intervals, other.intervals), self._zone_with(other))

    def __and__(self, other: Schedule) -> Schedule:
        return Schedule(week.intersection(self.intervals, other.intervals), self._zone_with(other))

    def __sub__(self, other: Schedule) -> Schedule:
        return self & ~other

    def __invert__(self) -> Schedule:
        return Schedule(week.complement(self.intervals), self.zone)

    # -- queries on microsecond instants (the CLI and periodic jobs use these directly) -----------
    def _member(self, pos_us: int) -> bool:
        sec = pos_us // US
        i = bisect.bisect_right(self._starts, sec) - 1
        return i >= 0 and sec < self._ends[i]

    def armed_us(self, us: int) -> bool:
        if not self._flips:
            return bool(self.intervals)
        local = us + self._tl.offset_s(us) * US
        return self._member((local + _MONDAY_SHIFT_US) % _WEEK_US)

    def _next_flip_local(self, local: int) -> int:
        """The first wall-clock flip strictly after `local` (both µs on the local time line)."""
        pos = (local + _MONDAY_SHIFT_US) % _WEEK_US
        i = bisect.bisect_right(self._flips, pos // US)
        flip = self._flips[i] if i < len(self._flips) else self._flips[0] + week.WEEK
        return local - pos + flip * US

    def _prev_flip_local(self, local: int) -> int:
        """The last wall-clock flip at or before `local`."""
        pos = (local + _MONDAY_SHIFT_US) % _WEEK_US
        i = bisect.bisect_right(self._flips, pos // US) - 1
        flip = self._flips[i] if i >= 0 else self._flips[-1] - week.WEEK
        return local - pos + flip * US

    def next_change_us(self, us: int) -> int | None:
        """The first instant after `us` at which `armed` differs from `armed(us)`, or None."""
        if not self._flips:
            return None
        state = self.armed_us(us)
        cur = us
        limit = us + _HORIZON_US
        while cur < limit:
            off = self._tl.offset_s(cur) * US
            cand = self._next_flip_local(cur + off) - off
            # a change of offset before the candidate moves the wall clock: look again from there
            t = self._tl.next_transition(cur, cand)
            if t is None:
                return cand
            if self.armed_us(t) != state:
                return t
            cur = t
        return None

    def prev_change_us(self, us: int) -> int | None:
        """The last instant at or before `us` at which `armed` took its value at `us`, or None."""
        if not self._flips:
            return None
        state = self.armed_us(us)
        cur = us
        limit = us - _HORIZON_US
        while cur > limit:
            off = self._tl.offset_s(cur) * US
            cand = self._prev_flip_local(cur + off) - off
            # the current offset holds since its transition; before that the wall clock differed
            t = self._tl.prev_transition(cand, cur)
            if t is None:
                return cand
            if self.armed_us(t - 1) != state:
                return t
            cur = t - 1
        return None

    # -- queries on aware datetimes ----------------------------------------------------------------
    def armed(self, at: datetime) -> bool:
        """Whether the schedule is on at instant `at` (an aware datetime, any zone)."""
        return self.armed_us(to_us(at))

    def next_change(self, at: datetime) -> datetime | None:
        """The exact next instant after `at` at which `armed` flips, in the schedule's zone."""
        us = self.next_change_us(to_us(at))
        return None if us is None else from_us(us, self.zone)

    def prev_change(self, at: datetime) -> datetime | None:
        """The instant at or before `at` at which the current state began, in the schedule's zone."""
        us = self.prev_change_us(to_us(at))
        return None if us is None else from_us(us, self.zone)

    def changes(self, after: datetime) -> Iterator[tuple[datetime, bool]]:
        """The changes after `after`, in order, as (instant, armed from then on); endless."""
        us: int | None = to_us(after)
        while us is not None:
            us = self.next_change_us(us)
            if us is not None:
                yield from_us(us, self.zone), self.armed_us(us)

    # -- export ------------------------------------------------------------------------------------
    def to_words(self) -> dict[str, int]:
        """The Foscam CGI's 96-slot words `sun_0` ... `sat_2`, unsigned 32-bit.

        A 15-minute slot is set when any part of it is on, so the words never leave out a moment
        the schedule covers; they are exact when `slot_aligned`.
        """
        cover = week.slot_coverage(self.intervals)
        words: dict[str, int] = {}
        for name in FOSCAM_DAYS:
            base = DAYS.index(name) * week.SLOTS_PER_DAY
            for k in range(3):
                value = 0
                for bit in range(32):
                    if cover[base + 32 * k + bit]:
                        value |= 1 << bit
                words[f"{name}_{k}"] = value
        return words

    def render_week(self) -> str:
        """The week as text: a header of hours, then 7 rows (mon..sun) of 96 fifteen-minute cells.

        `#` on for the whole slot, `+` on for part of it, `.` off.
        """
        cover = week.slot_coverage(self.intervals)
        header = "    " + "".join(f"{h:02d}      " for h in range(0, 24, 2))
        rows = [header.rstrip()]
        for d, name in enumerate(DAYS):
            cells = cover[d * week.SLOTS_PER_DAY : (d + 1) * week.SLOTS_PER_DAY]
            rows.append(f"{name} " + "".join("#" if c == week.SLOT else "+" if c else "." for c in cells))
        return "\n".join(rows)


def _zone_key(zone: tzinfo) -> str:
    key = getattr(zone, "key", None)
    return key if isinstance(key, str) else str(zone)


ALWAYS = Schedule(week.FULL, UTC)
NEVER = Schedule(week.EMPTY, UTC)


# -- builders, one per source form ---------------------------------------------------------------
def _clock(value: str | int, what: str, *, allow_24: bool = False) -> int:
    if isinstance(value, int):
        if 0 <= value < week.DAY or (allow_24 and value == week.DAY):
            return value
        raise ScheduleError(f"{what}: expected seconds within a day, got {value}")
    try:
        return parse_clock(value, allow_24=allow_24)
    except ValueError:
        raise ScheduleError(f'{what}: expected a time like "08:00", got "{value}"') from None


def from_words(words: Mapping[str, int], zone: tzinfo) -> Schedule:
    """The Foscam CGI's words `sun_0` ... `sat_2` (missing = 0); bit 0 of `_0` is 00:00-00:15, `_1`
    starts 08:00, `_2` 16:00. Values may be unsigned or signed 32-bit."""
    spans: list[tuple[int, int]] = []
    for key, value in words.items():
        day, _, part = key.partition("_")
        if day not in FOSCAM_DAYS or part not in ("0", "1", "2"):
            raise ScheduleError(f"{key}: expected a word name like sun_0 ... sat_2")
        if not -(2**31) <= value < 2**32:
            raise ScheduleError(f"{key}: expected a 32-bit value, got {value}")
        bits = value & 0xFFFFFFFF
        base = DAYS.index(day) * week.DAY + int(part) * 32 * week.SLOT
        spans.extend((base + b * week.SLOT, base + (b + 1) * week.SLOT) for b in range(32) if bits >> b & 1)
    return Schedule(spans, zone)


def from_day_mask(days: int, start: str | int, stop: str | int, zone: tzinfo) -> Schedule:
    """IPCamCGI: `days` bit 0 = Sunday ... bit 6 = Saturday; `hh:mm:ss` start and stop (or seconds).

    A stop earlier than the start crosses midnight into the next day; start equal to stop means the
    whole of each set day (00:00-24:00).
    """
    if not 0 <= days <= 127:
        raise ScheduleError(f"days: expected a 7-bit day mask 0..127, got {days}")
    a, b = _clock(start, "start"), _clock(stop, "stop")
    spans: list[tuple[int, int]] = []
    for bit in range(7):
        if days >> bit & 1:
            base = ((bit + 6) % 7) * week.DAY  # bit 0 is Sunday, day 6 of a Monday-first week
            if a == b:
                spans.append((base, base + week.DAY))
            else:
                spans.append((base + a, base + (b if b > a else b + week.DAY)))
    return Schedule(spans, zone)


def from_weekdays(weekdays: str, start: str | int, duration_h: int, zone: tzinfo) -> Schedule:
    """VAPIX: 7 characters `0`/`1`, Monday first; start `hh:mm`; duration in hours, 0 = 24 h.

    The interval runs on past midnight when start + duration does.
    """
    if len(weekdays) != 7 or set(weekdays) - {"0", "1"}:
        raise ScheduleError(f'weekdays: expected 7 characters of 0 and 1, Monday first, got "{weekdays}"')
    if duration_h < 0:
        raise ScheduleError(f"duration: expected hours >= 0, got {duration_h}")
    a = _clock(start, "start")
    length = (duration_h or 24) * 3600
    spans = [(d * week.DAY + a, d * week.DAY + a + length) for d, c in enumerate(weekdays) if c == "1"]
    return Schedule(spans, zone)


def from_windows(windows: Iterable[tuple[int, int, int]], zone: tzinfo) -> Schedule:
    """(weekday Monday = 0, start s, end s) windows; an end <= start runs past midnight."""
    spans: list[tuple[int, int]] = []
    for day, a, b in windows:
        base = day * week.DAY
        spans.append((base + a, base + (b if b > a else b + week.DAY)))
    return Schedule(spans, zone)


_SPEC: TypeAdapter[Any] = TypeAdapter(ScheduleSpec)


def compile_schedule(spec: ScheduleSpec | str | Mapping[str, Any], zone: tzinfo) -> Schedule:
    """A config schedule (validated spec, its string form, or a raw table) as a `Schedule`.

    "camera" raises CameraScheduleError: that schedule is read from the camera (see `readers`).
    """
    if isinstance(spec, Mapping) or (isinstance(spec, str) and spec not in ("always", "never", "camera")):
        try:
            spec = _SPEC.validate_python(spec)
        except ValidationError as e:
            raise ScheduleError(f"not a schedule: {_describe(e)}") from None
    if spec == "always":
        return Schedule(week.FULL, zone)
    if spec == "never":
        return Schedule(week.EMPTY, zone)
    if spec == "camera":
        raise CameraScheduleError(
            'schedule "camera" is kept by the camera: it is known only once read from it '
            "(at connect and on reload), not offline"
        )
    if isinstance(spec, WordsSpec):
        return from_words(spec.foscam.words(), zone)
    if isinstance(spec, DayMaskSpec):
        return from_day_mask(spec.days, spec.start, spec.stop, zone)
    if isinstance(spec, WeekdaysSpec):
        return from_weekdays(spec.weekdays, spec.start, spec.duration, zone)
    if isinstance(spec, WindowsSpec):
        return from_windows(spec.windows(), zone)
    raise ScheduleError(f"not a schedule: {spec!r}")


def _describe(e: ValidationError) -> str:
    """Pydantic's errors as 'key: what; ...', without its union tags ('@days')."""
    parts = []
    for err in e.errors():
        path = ".".join(str(p) for p in err["loc"] if not str(p).startswith("@"))
        parts.append(f"{path}: {err['msg']}" if path else str(err["msg"]))
    return "; ".join(parts)


def next_periodic(schedule: Schedule, interval_s: float, after: datetime) -> datetime | None:
    """The next run of a periodic job that runs every `interval_s` while `schedule` is on.

    Runs fall at the start of each on-period and every `interval_s` after it while it lasts, so the
    answer depends only on the schedule, not on when it is asked: the first such run strictly after
    `after`. A schedule that is always on counts its runs from the Unix epoch (an hourly job runs on
    the UTC hour); one that is never on has no run (None).
    """
    step = round(interval_s * US)
    if step <= 0:
        raise ValueError(f"interval must be positive, got {interval_s}")
    us = to_us(after)
    if schedule.is_never:
        return None
    if schedule.is_always:
        return from_us((us // step + 1) * step, schedule.zone)
    if schedule.armed_us(us):
        start = schedule.prev_change_us(us)
        end = schedule.next_change_us(us)
        if start is None or end is None:
            return None
        run = start + ((us - start) // step + 1) * step
        if run < end:
            return from_us(run, schedule.zone)
        us = end
    begin = schedule.next_change_us(us)
    return None if begin is None else from_us(begin, schedule.zone)
