"""The engine on hand-checked cases: DST gaps and repeats, words, the grid, set operations, periodic jobs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from recorderd.config.load import load_config
from recorderd.schedule import (
    ALWAYS,
    NEVER,
    CameraScheduleError,
    Schedule,
    ScheduleError,
    compile_schedule,
    from_day_mask,
    from_weekdays,
    next_periodic,
)
from recorderd.schedule.spec import DayMaskSpec
from recorderd.schedule.week import WEEK

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KATHMANDU = ZoneInfo("Asia/Kathmandu")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def changes(schedule: Schedule, start: str, n: int) -> list[str]:
    return [
        f"{t.isoformat()} {'on' if on else 'off'}"
        for t, on in itertools.islice(schedule.changes(at(start)), n)
    ]


def test_spring_forward_boundary_in_gap_takes_effect_after_the_gap() -> None:
    s = compile_schedule({"sun": "02:30-04:00"}, BERLIN)
    assert not s.armed(at("2026-03-29T01:59:59+01:00"))
    assert s.next_change(at("2026-03-29T01:00:00+01:00")) == at("2026-03-29T03:00:00+02:00")
    assert s.next_change(at("2026-03-29T01:00:00+01:00")).isoformat() == "2026-03-29T03:00:00+02:00"  # type: ignore[union-attr]
    assert s.armed(at("2026-03-29T03:00:00+02:00"))
    assert changes(s, "2026-03-28T12:00:00+01:00", 3) == [
        "2026-03-29T03:00:00+02:00 on",
        "2026-03-29T04:00:00+02:00 off",
        "2026-04-05T02:30:00+02:00 on",
    ]


def test_interval_wholly_inside_the_gap_is_skipped_that_day() -> None:
    s = compile_schedule({"sun": "02:15-02:45"}, BERLIN)
    assert s.next_change(at("2026-03-29T00:00:00+01:00")) == at("2026-04-05T02:15:00+02:00")
    assert s.next_change(at("2026-03-22T00:00:00+01:00")) == at("2026-03-22T02:15:00+01:00")


def test_fall_back_repeated_hour_is_on_twice() -> None:
    s = compile_schedule({"sun": "02:00-02:30"}, BERLIN)
    assert changes(s, "2026-10-24T12:00:00+02:00", 5) == [
        "2026-10-25T02:00:00+02:00 on",
        "2026-10-25T02:30:00+02:00 off",
        "2026-10-25T02:00:00+01:00 on",
        "2026-10-25T02:30:00+01:00 off",
        "2026-11-01T02:00:00+01:00 on",
    ]
    # both instants of 02:10 have the same answer
    assert s.armed(at("2026-10-25T02:10:00+02:00")) and s.armed(at("2026-10-25T02:10:00+01:00"))


def test_fall_back_transition_itself_is_a_change() -> None:
    # 03:00 CEST becomes 02:00 CET: the clock jumps back into the window
    s = compile_schedule({"sun": "01:00-02:30"}, BERLIN)
    assert changes(s, "2026-10-25T00:00:00+02:00", 4) == [
        "2026-10-25T01:00:00+02:00 on",
        "2026-10-25T02:30:00+02:00 off",
        "2026-10-25T02:00:00+01:00 on",
        "2026-10-25T02:30:00+01:00 off",
    ]


def test_new_york() -> None:
    s = compile_schedule({"days": 1, "start": "01:30:00", "stop": "02:30:00"}, NEW_YORK)  # Sundays
    # 2026-03-08 02:00 EST -> 03:00 EDT: the stop 02:30 is in the gap, so off at 03:00 EDT
    assert changes(s, "2026-03-08T00:00:00-05:00", 2) == [
        "2026-03-08T01:30:00-05:00 on",
        "2026-03-08T03:00:00-04:00 off",
    ]
    # 2026-11-01 02:00 EDT -> 01:00 EST: 01:30-02:30 starts twice; 01:00..01:30 is off twice
    assert changes(s, "2026-11-01T00:00:00-04:00", 3) == [
        "2026-11-01T01:30:00-04:00 on",
        "2026-11-01T01:00:00-05:00 off",
        "2026-11-01T01:30:00-05:00 on",
    ]


def test_lord_howe_half_hour_dst() -> None:
    # 2026-10-04 02:00 +10:30 -> 02:30 +11:00
    s = compile_schedule({"sun": ["02:00-02:20", "02:10-03:00"]}, LORD_HOWE)
    assert changes(s, "2026-10-04T00:00:00+10:30", 2) == [
        "2026-10-04T02:30:00+11:00 on",
        "2026-10-04T03:00:00+11:00 off",
    ]
    # 2026-04-05 02:00 +11:00 -> 01:30 +10:30: 01:45 comes twice
    s = compile_schedule({"sun": "01:45-01:50"}, LORD_HOWE)
    assert changes(s, "2026-04-05T00:00:00+11:00", 4) == [
        "2026-04-05T01:45:00+11:00 on",
        "2026-04-05T01:50:00+11:00 off",
        "2026-04-05T01:45:00+10:30 on",
        "2026-04-05T01:50:00+10:30 off",
    ]


def test_kathmandu_quarter_hour_offset_and_its_1986_change() -> None:
    s = compile_schedule({"mon-fri": "09:00-17:00"}, KATHMANDU)
    assert s.next_change(at("2026-03-02T08:00:00+05:45")) == at("2026-03-02T09:00:00+05:45")
    assert s.armed(at("2026-03-02T03:15:00+00:00"))  # 09:00 local
    assert not s.armed(at("2026-03-02T03:14:59+00:00"))
    # 1986-01-01 (Wednesday) 00:00 +05:30 became 00:15 +05:45
    s = compile_schedule({"wed": "00:05-01:00"}, KATHMANDU)
    assert changes(s, "1985-12-31T23:00:00+05:30", 2) == [
        "1986-01-01T00:15:00+05:45 on",
        "1986-01-01T01:00:00+05:45 off",
    ]


def test_armed_needs_an_aware_datetime() -> None:
    s = compile_schedule("always", BERLIN)
    with pytest.raises(ValueError, match="aware"):
        s.armed(datetime(2026, 1, 1))


def test_answers_for_any_input_zone_are_in_the_schedule_zone() -> None:
    s = compile_schedule({"mon": "08:00-09:00"}, BERLIN)
    nc = s.next_change(at("2026-01-05T06:00:00+00:00"))
    assert nc is not None and nc.isoformat() == "2026-01-05T08:00:00+01:00" and nc.tzinfo is BERLIN
    assert s.armed(datetime(2026, 1, 5, 7, 30, tzinfo=timezone(timedelta(hours=0))))


def test_always_never_constants() -> None:
    now = at("2026-06-01T12:00:00+00:00")
    assert ALWAYS.armed(now) and not NEVER.armed(now)
    assert ALWAYS.next_change(now) is None and NEVER.next_change(now) is None
    assert ALWAYS.is_always and NEVER.is_never
    assert compile_schedule("always", BERLIN) == ALWAYS
    assert compile_schedule("never", KATHMANDU) == NEVER
    assert ~ALWAYS == NEVER
    assert ALWAYS.to_words() == {k: 0xFFFFFFFF for k in ALWAYS.to_words()}
    assert set(NEVER.to_words().values()) == {0}


def test_camera_schedule_cannot_be_compiled_offline() -> None:
    with pytest.raises(CameraScheduleError, match="camera"):
        compile_schedule("camera", BERLIN)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sometimes", "not a schedule"),
        ({"mon": "8-12"}, 'expected a time like "08:00", got "8"'),
        ({"days": 200, "start": "08:00:00", "stop": "9"}, "days: .*127; stop: expected a time"),
        ({"weekdays": "11111", "start": "08:00", "duration": 1}, "weekdays: "),
        ({"foscam": {"sun_0": 2**32}}, "foscam.sun_0: "),
    ],
)
def test_bad_specs(spec: object, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        compile_schedule(spec, BERLIN)  # type: ignore[arg-type]


def test_validated_spec_objects_compile_too() -> None:
    spec = DayMaskSpec(days=62, start="08:00:00", stop="18:00:00")
    assert compile_schedule(spec, BERLIN) == compile_schedule({"mon-fri": "08:00-18:00"}, BERLIN)


def test_crossing_midnight_forms_agree() -> None:
    a = from_day_mask(0b0000001, "22:00:00", "06:00:00", BERLIN)  # Sunday night
    b = from_weekdays("0000001", "22:00", 8, BERLIN)
    c = compile_schedule({"sun": "22:00-06:00"}, BERLIN)
    assert a == b == c
    assert a.intervals == ((0, 6 * 3600), (WEEK - 7200, WEEK))  # wraps into Monday
    assert a.next_change(at("2026-01-05T05:00:00+01:00")) == at("2026-01-05T06:00:00+01:00")
    assert a.prev_change(at("2026-01-05T05:00:00+01:00")) == at("2026-01-04T22:00:00+01:00")


def test_start_equal_stop_and_zero_duration_mean_whole_day() -> None:
    assert from_day_mask(0b0000010, "08:00:00", "08:00:00", BERLIN).intervals == ((0, 86400),)
    assert from_weekdays("1000000", "08:00", 0, BERLIN).intervals == ((8 * 3600, 86400 + 8 * 3600),)
    assert compile_schedule({"mon": "00:00-24:00"}, BERLIN).intervals == ((0, 86400),)


def test_words_export_and_grid() -> None:
    s = compile_schedule({"mon": ["08:00-12:00", "13:07-18:00"]}, BERLIN)
    assert not s.slot_aligned
    words = s.to_words()
    assert words["mon_1"] == 0xFFFF | (0xFFF << 20)  # 08:00-12:00, 13:00-16:00 (13:00-13:15 partly)
    assert words["mon_2"] == (1 << 8) - 1  # 16:00-18:00
    grid = s.render_week().splitlines()
    assert len(grid) == 8  # header and 7 days
    assert [row[:4] for row in grid[1:]] == ["mon ", "tue ", "wed ", "thu ", "fri ", "sat ", "sun "]
    assert all(len(row) == 4 + 96 for row in grid[1:])
    assert grid[1][4:] == "." * 32 + "#" * 16 + "." * 4 + "+" + "#" * 19 + "." * 24


def test_set_operations() -> None:
    work = compile_schedule({"mon-fri": "08:00-18:00"}, BERLIN)
    lunch = compile_schedule({"daily": "12:00-13:00"}, BERLIN)
    s = work - lunch
    assert s.armed(at("2026-01-05T11:59:59+01:00")) and not s.armed(at("2026-01-05T12:30:00+01:00"))
    assert (work | lunch).armed(at("2026-01-10T12:30:00+01:00"))  # Saturday lunch
    assert (work & ALWAYS) == work and (work | NEVER) == work
    with pytest.raises(ScheduleError, match="different zones"):
        work | compile_schedule({"mon": "08:00-09:00"}, NEW_YORK)


def test_next_periodic() -> None:
    s = compile_schedule({"mon": "08:00-09:00"}, BERLIN)
    p = 1500.0
    assert next_periodic(s, p, at("2026-01-05T07:00:00+01:00")) == at("2026-01-05T08:00:00+01:00")
    assert next_periodic(s, p, at("2026-01-05T08:00:00+01:00")) == at("2026-01-05T08:25:00+01:00")
    assert next_periodic(s, p, at("2026-01-05T08:30:00+01:00")) == at("2026-01-05T08:50:00+01:00")
    assert next_periodic(s, p, at("2026-01-05T08:50:00+01:00")) == at("2026-01-12T08:00:00+01:00")
    # runs are counted in elapsed time: across the spring gap an hourly job runs at 01:00 and 03:00
    s = compile_schedule({"sun": "01:00-04:00"}, BERLIN)
    runs = [at("2026-03-29T00:00:00+01:00")]
    for _ in range(3):
        nxt = next_periodic(s, 3600, runs[-1])
        assert nxt is not None
        runs.append(nxt)
    assert [r.isoformat() for r in runs[1:]] == [
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-04-05T01:00:00+02:00",
    ]
    assert next_periodic(ALWAYS, 60, at("2026-01-01T00:00:30+00:00")) == at("2026-01-01T00:01:00+00:00")
    assert next_periodic(NEVER, 60, at("2026-01-01T00:00:30+00:00")) is None
    with pytest.raises(ValueError, match="positive"):
        next_periodic(ALWAYS, 0, at("2026-01-01T00:00:30+00:00"))


def test_next_periodic_matches_its_definition() -> None:
    """Runs at each on-period's start and every interval after it while on; checked over 3 weeks."""
    s = compile_schedule({"mon-fri": "08:00-18:00", "sat": "22:00-06:00", "sun": "02:30-02:31"}, BERLIN)
    step = timedelta(seconds=2222)
    start = at("2026-03-20T00:00:00+01:00")
    expected: list[datetime] = []
    for (a, on), (b, _) in itertools.pairwise(itertools.islice(s.changes(start), 40)):
        if on:
            t = a.astimezone(UTC)  # elapsed time: aware datetimes in one zone add as wall time
            while t < b:
                expected.append(t)
                t = t + step
    got: list[datetime] = []
    t = expected[0] - timedelta(seconds=1)
    while len(got) < len(expected):
        nxt = next_periodic(s, step.total_seconds(), t)
        assert nxt is not None
        got.append(nxt)
        t = nxt
    assert [g.astimezone(UTC) for g in got] == [e.astimezone(UTC) for e in expected]


def test_every_schedule_in_the_example_config_compiles(example_config: object) -> None:
    from pathlib import Path

    assert isinstance(example_config, Path)
    cfg = load_config(example_config)
    zone = ZoneInfo(cfg.daemon.timezone)
    count = 0
    for cam in cfg.cameras.values():
        for spec in (cam.schedule, cam.privacy):
            if spec != "camera":
                compile_schedule(spec, cam.zone(cfg.daemon.timezone))
                count += 1
    for target in cfg.targets.values():
        if target.schedule is not None:
            compile_schedule(target.schedule, zone)
            count += 1
    assert count >= 8
    yard = compile_schedule(cfg.cameras["yard"].schedule, zone)
    # sun_1 = 4294967264: 09:15-16:00; sun_2 = 1023: 16:00-18:30; mon_1 = -32: 09:15-16:00
    assert yard.intervals == ((33300, 57600), (6 * 86400 + 33300, 6 * 86400 + 66600))
