"""armed / next_change / prev_change against a brute force, across DST changes, for every source form.

The brute force knows nothing of the engine: each spec also yields an *oracle* written straight from
the documents' wording (a function of the local weekday and time of day), and the local wall time of
an instant comes from zoneinfo itself (`datetime.fromtimestamp(sec, zone)`).

Stepping: every minute of an 8-day window, and within each minute only the seconds at which the
spec's boundaries sit (hh:mm:SS) plus :00. That is exhaustive, not a sample: the four zones' offsets
and transitions are whole minutes, so a wall boundary at second SS is only ever crossed at an instant
whose UTC second is SS, and the answer is constant in between. Windows are placed around the zones'
own offset changes (found here by an hourly scan), or anywhere in 1970-2038.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorderd.schedule import (
    Schedule,
    compile_schedule,
    from_foscam_params,
    from_ipcamcgi_params,
    from_param_event,
)

US = 1_000_000
DAY = 86_400
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZONE_NAMES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu")
TDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Oracle = Callable[[int, int], bool]  # (weekday Monday = 0, second of the day) -> on


def _scan_transitions(zone: ZoneInfo, first_year: int, last_year: int) -> list[int]:
    """Offset changes (to the hour) by stepping hours with zoneinfo: anchors for the windows."""
    out = []
    t = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(last_year + 1, 1, 1, tzinfo=UTC).timestamp())
    prev = datetime.fromtimestamp(t, zone).utcoffset()
    while t < end:
        t += 3600
        off = datetime.fromtimestamp(t, zone).utcoffset()
        if off != prev:
            out.append(t)
            prev = off
    return out


ZONES = {name: ZoneInfo(name) for name in ZONE_NAMES}
ANCHORS = {name: _scan_transitions(z, 2024, 2027) for name, z in ZONES.items()}
ANCHORS["Asia/Kathmandu"] = _scan_transitions(ZONES["Asia/Kathmandu"], 1985, 1986)  # +05:30 -> +05:45


def test_anchor_scan_found_the_changes() -> None:
    assert len(ANCHORS["Europe/Berlin"]) == 8
    assert len(ANCHORS["America/New_York"]) == 8
    assert len(ANCHORS["Australia/Lord_Howe"]) == 8
    assert len(ANCHORS["Asia/Kathmandu"]) == 1


@dataclass
class Case:
    zone: ZoneInfo
    start_us: int


@st.composite
def cases(draw: st.DrawFn) -> Case:
    name = draw(st.sampled_from(ZONE_NAMES))
    if draw(st.integers(0, 3)):
        base = draw(st.sampled_from(ANCHORS[name]))
    else:
        base = draw(st.integers(0, 2**31 - 4 * DAY))
    start_us = base * US + draw(st.integers(-2 * DAY * US, DAY * US))
    return Case(ZONES[name], start_us)


def _dt(us: int, zone: ZoneInfo) -> datetime:
    return (EPOCH + timedelta(microseconds=us)).astimezone(zone)


def _us(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def brute_force(schedule: Schedule, oracle: Oracle, seconds: set[int], case: Case, days: int = 8) -> None:
    zone = case.zone

    def state(sec: int) -> bool:
        d = datetime.fromtimestamp(sec, zone)
        return oracle(d.weekday(), d.hour * 3600 + d.minute * 60 + d.second)

    start_sec = case.start_us // US
    start = _dt(case.start_us, zone)
    s0 = state(start_sec)
    assert schedule.armed(start) == s0, f"armed({start.isoformat()})"
    marks = sorted(seconds | {0})
    first_min = start_sec // 60
    last_min = first_min + days * 1440
    flips: list[int] = []
    cur = s0
    for m in range(first_min, last_min + 1):
        for s in marks:
            c = m * 60 + s
            if c * US > case.start_us and state(c) != cur:
                flips.append(c)
                cur = not cur
    window_end = last_min * 60 + 60  # every flip before this instant is in `flips`

    at = case.start_us
    for i, f in enumerate(flips):
        nc = schedule.next_change(_dt(at, zone))
        want = datetime.fromtimestamp(f, zone).isoformat()
        got = None if nc is None else nc.isoformat()
        assert got == want, f"next_change({_dt(at, zone).isoformat()}): {got} != {want}"
        assert nc is not None and nc.tzinfo is zone and _us(nc) == f * US
        assert schedule.armed(nc) == state(f)
        assert schedule.armed(_dt(f * US - 1, zone)) == state(f - 1) != state(f)
        assert schedule.prev_change(nc) == nc
        before = schedule.prev_change(_dt(f * US - 1, zone))
        if i:
            assert before is not None and _us(before) == flips[i - 1] * US
        else:
            assert before is not None and _us(before) <= case.start_us
        at = f * US
    nc = schedule.next_change(_dt(at, zone))
    if schedule.is_always or schedule.is_never:
        assert nc is None
    else:
        assert nc is not None and _us(nc) >= window_end * US, f"missed a change: {nc}"
    # a few more instants, with microseconds, between the flips
    for k in range(1, 40):
        t = case.start_us + k * (days * DAY * US // 40) + k * 7919
        assert schedule.armed(_dt(t, zone)) == state(t // US)
        n = bisect.bisect_right(flips, t // US)
        nc = schedule.next_change(_dt(t, zone))
        if n < len(flips):
            assert nc is not None and _us(nc) == flips[n] * US


# -- clock strategies -----------------------------------------------------------------------------
def _secs(text: str) -> int:
    parts = [int(p) for p in text.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)


@st.composite
def clocks(draw: st.DrawFn, seconds: bool) -> str:
    h = draw(st.integers(0, 23))
    m = draw(st.sampled_from([0, 15, 30, 45, 1, 59]) | st.integers(0, 59))
    if seconds:
        s = draw(st.sampled_from([0, 0, 30]) | st.integers(0, 59))
        return f"{h:02d}:{m:02d}:{s:02d}"
    return f"{h:02d}:{m:02d}"


# -- Foscam CGI: 96-slot words -------------------------------------------------------------------------
@st.composite
def foscam_words(draw: st.DrawFn) -> dict[str, int]:
    days = {}
    for day in ("sun", "mon", "tue", "wed", "thu", "fri", "sat"):
        if draw(st.integers(0, 4)) == 0:
            bits = draw(st.integers(0, 2**96 - 1))  # any pattern at all
        else:
            bits = 0
            for _ in range(draw(st.integers(0, 2))):
                a = draw(st.integers(0, 95))
                b = draw(st.integers(a + 1, 96))
                bits |= (1 << b) - (1 << a)
        days[day] = bits
    words = {}
    for day, bits in days.items():
        for k in range(3):
            v = bits >> (32 * k) & 0xFFFFFFFF
            if v >= 2**31 and draw(st.booleans()):
                v -= 2**32  # printed signed by clone firmware
            words[f"{day}_{k}"] = v
    return words


def words_oracle(words: dict[str, int]) -> Oracle:
    def on(wd: int, tod: int) -> bool:
        slot = tod // 900
        word = words[f"{TDAYS[wd]}_{slot // 32}"] & 0xFFFFFFFF
        return bool(word >> (slot % 32) & 1)

    return on


@SETTINGS
@given(case=cases(), words=foscam_words(), via_params=st.booleans())
def test_foscam_words(case: Case, words: dict[str, int], via_params: bool) -> None:
    if via_params:
        params = {f"alarm_schedule_{k}": str(v) for k, v in words.items()}
        params["alarm_schedule_enable"] = "1"
        schedule = from_foscam_params(params, case.zone)
    else:
        schedule = compile_schedule({"foscam": words}, case.zone)
    brute_force(schedule, words_oracle(words), set(), case)
    assert schedule.to_words() == {k: v & 0xFFFFFFFF for k, v in words.items()}


# -- IPCamCGI: day mask with start and stop ----------------------------------------------------------
def mask_oracle(days: int, start: str, stop: str) -> Oracle:
    a, b = _secs(start), _secs(stop)

    def enabled(wd: int) -> bool:
        return bool(days >> ((wd + 1) % 7) & 1)  # bit 0 Sunday, bit 1 Monday, ...

    def on(wd: int, tod: int) -> bool:
        if a == b:
            return enabled(wd)
        if a < b:
            return enabled(wd) and a <= tod < b
        return (enabled(wd) and tod >= a) or (enabled((wd - 1) % 7) and tod < b)

    return on


@SETTINGS
@given(
    case=cases(),
    days=st.integers(0, 127),
    start=clocks(seconds=True),
    stop=clocks(seconds=True),
    same=st.integers(0, 5),
    via_params=st.booleans(),
)
def test_day_mask(case: Case, days: int, start: str, stop: str, same: int, via_params: bool) -> None:
    if same == 0:
        stop = start  # the whole day
    if via_params:
        params = {
            "FTPScheduleEnable": "1",
            "FTPScheduleMode": "1",
            "FTPScheduleDay": str(days),
            "FTPScheduleTimeStart": start,
            "FTPScheduleTimeStop": stop,
        }
        schedule = from_ipcamcgi_params(params, case.zone)
    else:
        schedule = compile_schedule({"days": days, "start": start, "stop": stop}, case.zone)
    marks = {_secs(start) % 60, _secs(stop) % 60}
    brute_force(schedule, mask_oracle(days, start, stop), marks, case)


# -- VAPIX: weekdays, start, duration ---------------------------------------------------------------
def weekdays_oracle(weekdays: str, start: str, duration: int) -> Oracle:
    a = _secs(start)
    end = a + (duration or 24) * 3600  # may pass midnight

    def on(wd: int, tod: int) -> bool:
        today = weekdays[wd] == "1" and a <= tod < end
        yesterday = weekdays[(wd - 1) % 7] == "1" and tod + DAY < end
        return today or yesterday

    return on


@SETTINGS
@given(
    case=cases(),
    weekdays=st.text(alphabet="01", min_size=7, max_size=7),
    start=clocks(seconds=False),
    duration=st.sampled_from([0, 24, 1, 10, 23]) | st.integers(0, 24),
    via_params=st.booleans(),
)
def test_weekdays(case: Case, weekdays: str, start: str, duration: int, via_params: bool) -> None:
    if via_params:
        params = {
            "root.Event.E3.Enabled": "yes",
            "root.Event.E3.Weekdays": weekdays,
            "root.Event.E3.Starttime": start,
            "root.Event.E3.Duration": str(duration),
        }
        schedule = from_param_event(params, case.zone, "Event.E3")
    else:
        schedule = compile_schedule({"weekdays": weekdays, "start": start, "duration": duration}, case.zone)
    brute_force(schedule, weekdays_oracle(weekdays, start, duration), set(), case)


# -- windows in the config ---------------------------------------------------------------------------------
def _key_days(key: str) -> list[int]:
    if key == "daily":
        return list(range(7))
    if "-" in key:
        a, b = (TDAYS.index(x) for x in key.split("-"))
        return [(a + n) % 7 for n in range((b - a) % 7 + 1)]
    return [TDAYS.index(key)]


def windows_oracle(table: dict[str, list[str]]) -> Oracle:
    spans: list[tuple[int, int, int]] = []
    for key, windows in table.items():
        for w in windows:
            s, e = (_secs(x) for x in w.split("-"))
            end = e if e > s else e + DAY  # an end at or before the start runs past midnight
            spans.extend((d, s, end) for d in _key_days(key))

    def on(wd: int, tod: int) -> bool:
        for d, s, end in spans:
            if d == wd and s <= tod < end:
                return True
            if d == (wd - 1) % 7 and tod + DAY < end:
                return True
        return False

    return on


day_keys = (
    st.sampled_from(TDAYS)
    | st.sampled_from(["mon-fri", "sat-sun", "fri-mon", "daily", "sun-sat"])
    | st.tuples(st.sampled_from(TDAYS), st.sampled_from(TDAYS)).map(lambda p: f"{p[0]}-{p[1]}")
)


@st.composite
def window_texts(draw: st.DrawFn) -> str:
    special = ["22:00-06:00", "00:00-24:00", "08:00-12:00", "13:00-18:00", "23:59-00:01", "06:30-06:30"]
    if draw(st.booleans()):
        return draw(st.sampled_from(special))
    secs = draw(st.booleans())
    start = draw(clocks(seconds=secs))
    end = "24:00" if draw(st.integers(0, 9)) == 0 else draw(clocks(seconds=secs))
    return f"{start}-{end}"


@SETTINGS
@given(
    case=cases(),
    table=st.dictionaries(day_keys, st.lists(window_texts(), min_size=1, max_size=3), min_size=1, max_size=3),
    single=st.booleans(),
)
def test_windows(case: Case, table: dict[str, list[str]], single: bool) -> None:
    raw: dict[str, str | list[str]] = {k: v[0] if single and len(v) == 1 else v for k, v in table.items()}
    schedule = compile_schedule(raw, case.zone)
    marks = {_secs(x) % 60 for ws in table.values() for w in ws for x in w.split("-")}
    brute_force(schedule, windows_oracle(table), marks, case)


# -- always / never, and set operations --------------------------------------------------------------------
@SETTINGS
@given(case=cases(), which=st.sampled_from(["always", "never"]))
def test_always_never(case: Case, which: str) -> None:
    schedule = compile_schedule(which, case.zone)
    brute_force(schedule, lambda wd, tod: which == "always", set(), case, days=1)
    assert schedule.prev_change(_dt(case.start_us, case.zone)) is None


@SETTINGS
@given(
    case=cases(),
    table=st.dictionaries(day_keys, st.lists(window_texts(), min_size=1, max_size=2), min_size=1, max_size=2),
    days=st.integers(0, 127),
    start=clocks(seconds=False),
    stop=clocks(seconds=False),
)
def test_schedule_minus_privacy(
    case: Case, table: dict[str, list[str]], days: int, start: str, stop: str
) -> None:
    """What the engine does with `schedule` and `privacy`: on while armed and not private."""
    armed = compile_schedule(table, case.zone)
    privacy = compile_schedule({"days": days, "start": start, "stop": stop}, case.zone)
    a, p = windows_oracle(table), mask_oracle(days, start, stop)
    marks = {_secs(x) % 60 for ws in table.values() for w in ws for x in w.split("-")}
    brute_force(armed - privacy, lambda wd, tod: a(wd, tod) and not p(wd, tod), marks, case)
    brute_force(armed | privacy, lambda wd, tod: a(wd, tod) or p(wd, tod), marks, case, days=1)
