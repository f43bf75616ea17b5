"""Schedules read out of camera answers: the real Foscam capture, IPCamCGI and param.cgi values."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from recorderd.protocol.dialects.foscam import parse_vars
from recorderd.schedule import (
    ALWAYS,
    NEVER,
    ScheduleError,
    compile_schedule,
    event_groups,
    from_foscam_params,
    from_ipcamcgi_params,
    from_param_event,
)

BERLIN = ZoneInfo("Europe/Berlin")
T0915 = 9 * 3600 + 15 * 60
T1930 = 19 * 3600 + 30 * 60


def test_real_foscam_capture_is_armed_0915_to_1930_every_day(foscam_params_text: str) -> None:
    params = parse_vars(foscam_params_text)
    # the words as captured: _1 = 0xFFFFFFE0 sets bits 5..31 (08:00 + 5 x 15 min = 09:15 .. 16:00),
    # _2 = 0x3FFF sets bits 0..13 (16:00 .. 16:00 + 14 x 15 min = 19:30), _0 = 0; all seven days
    for day in ("sun", "mon", "tue", "wed", "thu", "fri", "sat"):
        assert params[f"alarm_schedule_{day}_0"] == "0"
        assert int(params[f"alarm_schedule_{day}_1"]) == 0xFFFFFFE0 == 4294967264
        assert int(params[f"alarm_schedule_{day}_2"]) == 0x3FFF == 16383
    assert params["alarm_schedule_enable"] == "1"
    s = from_foscam_params(params, BERLIN)
    assert s.intervals == tuple((d * 86400 + T0915, d * 86400 + T1930) for d in range(7))
    for mday in range(5, 12):  # 2026-01-05 is a Monday
        assert not s.armed(datetime(2026, 1, mday, 9, 14, 59, tzinfo=BERLIN))
        assert s.armed(datetime(2026, 1, mday, 9, 15, tzinfo=BERLIN))
        assert s.armed(datetime(2026, 1, mday, 19, 29, 59, tzinfo=BERLIN))
        assert not s.armed(datetime(2026, 1, mday, 19, 30, tzinfo=BERLIN))
    assert s.next_change(datetime(2026, 1, 5, 12, tzinfo=BERLIN)) == datetime(
        2026, 1, 5, 19, 30, tzinfo=BERLIN
    )
    assert s.to_words() == {
        k.removeprefix("alarm_schedule_"): int(v)
        for k, v in params.items()
        if k.startswith("alarm_schedule_") and k != "alarm_schedule_enable"
    }
    # the same capture's FTP schedule is switched off (ftp_schedule_enable=0): no scheduled uploads
    assert from_foscam_params(params, BERLIN, prefix="ftp_schedule") == NEVER


def test_foscam_signed_and_unsigned_words_agree() -> None:
    unsigned = {"alarm_schedule_enable": "1"} | {
        f"alarm_schedule_{d}_{k}": "0"
        for d in ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
        for k in range(3)
    }
    signed = dict(unsigned)
    unsigned["alarm_schedule_mon_1"] = "4294967264"
    signed["alarm_schedule_mon_1"] = "-32"
    unsigned["alarm_schedule_sat_2"] = "2147483648"
    signed["alarm_schedule_sat_2"] = "-2147483648"
    a, b = from_foscam_params(unsigned, BERLIN), from_foscam_params(signed, BERLIN)
    assert a == b
    assert a.intervals == ((T0915, 16 * 3600), (5 * 86400 + 23 * 3600 + 45 * 60, 6 * 86400))


def test_foscam_disabled_missing_and_broken() -> None:
    words = {
        f"schedule_{d}_{k}": "0" for d in ("sun", "mon", "tue", "wed", "thu", "fri", "sat") for k in range(3)
    }
    off = {"alarm_schedule_enable": "0", "alarm_schedule_sun_0": "1"}
    assert from_foscam_params(off, BERLIN) == ALWAYS  # arming not limited by the clock
    assert from_foscam_params({}, BERLIN) == ALWAYS  # firmware without schedules
    assert from_foscam_params({"schedule_enable": "0"} | words, BERLIN, prefix="schedule") == NEVER
    assert from_foscam_params({}, BERLIN, if_disabled=NEVER) == NEVER
    assert from_foscam_params({"alarm_schedule_enable": "0"}, BERLIN).zone is BERLIN
    with pytest.raises(ScheduleError, match="alarm_schedule_sun_1: missing"):
        from_foscam_params({"alarm_schedule_sun_0": "1"}, BERLIN)
    broken = {"schedule_enable": "1"} | words | {"schedule_tue_2": "12x"}
    with pytest.raises(ScheduleError, match='schedule_tue_2: expected an integer, got "12x"'):
        from_foscam_params(broken, BERLIN, prefix="schedule")
    broken["schedule_tue_2"] = "4294967296"
    with pytest.raises(ScheduleError, match="schedule_tue_2: expected a 32-bit value"):
        from_foscam_params(broken, BERLIN, prefix="schedule")


def test_ipcamcgi_upload_and_email_schedules() -> None:
    params = {
        "FTPScheduleEnable": "1",
        "FTPScheduleMode": "1",
        "FTPScheduleDay ": " 62",  # padded by firmware
        "FTPScheduleTimeStart": "06:12:35",
        "FTPScheduleTimeStop": "18:12:35",
        "EmailScheduleEnable": "1",
        "EmailScheduleMode": "0",
    }
    s = from_ipcamcgi_params(params, BERLIN)
    assert s == compile_schedule({"mon-fri": "06:12:35-18:12:35"}, BERLIN)
    assert from_ipcamcgi_params(params, BERLIN, prefix="EmailSchedule") == ALWAYS
    # §3.5.1: Enable=0 switches the scheduled feature off: no time window, so arming is not limited
    # by the clock (it was read as "never armed", the common case making schedule = "camera" dead)
    assert from_ipcamcgi_params(params | {"FTPScheduleEnable": "0"}, BERLIN) == ALWAYS
    assert from_ipcamcgi_params(params | {"FTPScheduleEnable": "0"}, BERLIN, if_disabled=NEVER) == NEVER
    night = params | {
        "FTPScheduleDay": "1",
        "FTPScheduleTimeStart": "22:00:00",
        "FTPScheduleTimeStop": "06:00:00",
    }
    assert from_ipcamcgi_params(night, BERLIN) == compile_schedule({"sun": "22:00-06:00"}, BERLIN)
    with pytest.raises(ScheduleError, match='FTPScheduleTimeStart: expected a time like "08:00", got "6am"'):
        from_ipcamcgi_params(params | {"FTPScheduleTimeStart": "6am"}, BERLIN)
    with pytest.raises(ScheduleError, match="FTPScheduleDay: expected a 7-bit day mask"):
        from_ipcamcgi_params(params | {"FTPScheduleDay ": "128"}, BERLIN)
    with pytest.raises(ScheduleError, match="FTPScheduleTimeStop: missing"):
        from_ipcamcgi_params({k: v for k, v in params.items() if k != "FTPScheduleTimeStop"}, BERLIN)


def test_param_cgi_event_groups() -> None:
    # VAPIX §5.1.1.4's own listing of a new event, then a second one as an Axis list shows it (root.)
    params = {
        "Event.E0.Name": "MyEvent",
        "Event.E0.Enabled": "yes",
        "Event.E0.Weekdays": "1111111",
        "Event.E0.Starttime": "00:00",
        "Event.E0.Duration": "0",
        "root.Event.E12.Enabled": "yes",
        "root.Event.E12.Weekdays": "0000011",
        "root.Event.E12.Starttime": "20:00 ",
        "root.Event.E12.Duration": "12",
        "root.Event.E3.Enabled": "no",
        "root.Event.E3.Weekdays": "1111111",
        "root.Event.E3.Starttime": "00:00",
        "root.Event.E3.Duration": "0",
    }
    assert event_groups(params) == ["Event.E0", "Event.E3", "Event.E12"]
    assert from_param_event(params, BERLIN) == ALWAYS
    assert from_param_event(params, BERLIN, "Event.E3") == NEVER
    assert from_param_event(params, BERLIN, "Event.E12") == compile_schedule(
        {"sat-sun": "20:00-08:00"}, BERLIN
    )
    with pytest.raises(ScheduleError, match=r"Event\.E7\.Weekdays: missing"):
        from_param_event(params, BERLIN, "Event.E7")
    with pytest.raises(ScheduleError, match=r"root\.Event\.E12\.Weekdays: expected 7 characters"):
        from_param_event(params | {"root.Event.E12.Weekdays": "11"}, BERLIN, "Event.E12")
