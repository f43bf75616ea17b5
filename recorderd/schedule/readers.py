"""Schedules read out of camera answers (already parsed into name -> value maps; no I/O here).

- Foscam CGI: `get_params.cgi` variables `<prefix>_enable` and `<prefix>_sun_0` ... `_sat_2`;
  prefixes `alarm_schedule` (arming), `ftp_schedule` (uploads), `schedule` (`get_forbidden.cgi`);
- IPCamCGI: `upload.cgi` / `email.cgi` values `<prefix>Enable`, `<prefix>Mode`,
  `<prefix>Day`, `<prefix>TimeStart`, `<prefix>TimeStop`; prefixes `FTPSchedule`, `EmailSchedule`;
- VAPIX (param.cgi): an Event group's `Enabled`, `Weekdays`, `Starttime`, `Duration`, with or
  without the `root.` prefix.

Names and values are stripped of surrounding blanks (firmware pads both). A value that is present
but unreadable raises ScheduleError naming the parameter; it is never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import tzinfo

from recorderd.schedule import week
from recorderd.schedule.engine import (
    Schedule,
    ScheduleError,
    from_day_mask,
    from_weekdays,
    from_words,
)
from recorderd.schedule.spec import FOSCAM_DAYS

__all__ = [
    "event_groups",
    "from_foscam_params",
    "from_ipcamcgi_params",
    "from_param_event",
]

_EVENT_GROUP = re.compile(r"^(?:root\.)?(Event\.E\d+)\.")


def _clean(params: Mapping[str, str]) -> dict[str, str]:
    return {k.strip(): v.strip() for k, v in params.items()}


def _int(params: Mapping[str, str], key: str) -> int:
    raw = params[key]
    try:
        return int(raw)
    except ValueError:
        raise ScheduleError(f'{key}: expected an integer, got "{raw}"') from None


def from_foscam_params(
    params: Mapping[str, str],
    zone: tzinfo,
    prefix: str = "alarm_schedule",
    *,
    if_disabled: Schedule | None = None,
) -> Schedule:
    """The 96-slot schedule `<prefix>_sun_0` ... `<prefix>_sat_2` (unsigned or signed words).

    When `<prefix>_enable` is 0, or the camera has no such words at all, the camera does not limit by
    time, and the answer is `if_disabled`; by default "always" for an alarm schedule (arming is
    then not limited by the clock) and "never" for the others (no scheduled uploads, nothing
    forbidden). Some words present but others missing raises ScheduleError.
    """
    p = _clean(params)
    if if_disabled is None:
        if_disabled = Schedule(week.FULL if prefix.startswith("alarm") else week.EMPTY, zone)
    keys = [f"{prefix}_{day}_{k}" for day in FOSCAM_DAYS for k in range(3)]
    present = [k for k in keys if k in p]
    if p.get(f"{prefix}_enable") == "0" or not present:
        return if_disabled.in_zone(zone)
    if len(present) < len(keys):
        missing = [k for k in keys if k not in p]
        raise ScheduleError(f"{missing[0]}: missing ({len(missing)} of the 21 schedule words are)")
    words = {k.removeprefix(f"{prefix}_"): _int(p, k) for k in keys}
    try:
        return from_words(words, zone)
    except ScheduleError as e:  # "sun_0: ..." -> the camera's own name, "alarm_schedule_sun_0: ..."
        raise ScheduleError(f"{prefix}_{e}") from None


def from_ipcamcgi_params(
    params: Mapping[str, str],
    zone: tzinfo,
    prefix: str = "FTPSchedule",
    *,
    if_disabled: Schedule | None = None,
) -> Schedule:
    """IPCamCGI's schedule: `<prefix>Enable`, `<prefix>Mode` (0 = always, 1 = by schedule),
    `<prefix>Day` (bit 0 = Sunday), `<prefix>TimeStart`, `<prefix>TimeStop` (hh:mm:ss).

    §3.5.1: `<prefix>Enable` switches the scheduled upload (or mail) feature itself, and
    `<prefix>Mode` says when it runs. With the feature off (0, what cameras ship with) the camera
    keeps no time window at all, so the answer is `if_disabled`: by default "always" (read as an
    arming schedule, the camera does not limit arming by the clock), as the Foscam CGI's
    `alarm_schedule_enable=0` is read.
    """
    p = _clean(params)
    enable_key, mode_key = f"{prefix}Enable", f"{prefix}Mode"
    if enable_key in p and _int(p, enable_key) == 0:
        return (if_disabled or Schedule(week.FULL, zone)).in_zone(zone)
    if mode_key in p and _int(p, mode_key) == 0:
        return Schedule(week.FULL, zone)
    keys = [f"{prefix}Day", f"{prefix}TimeStart", f"{prefix}TimeStop"]
    for k in keys:
        if k not in p:
            raise ScheduleError(f"{k}: missing")
    days = _int(p, keys[0])
    try:
        return from_day_mask(days, p[keys[1]], p[keys[2]], zone)
    except ScheduleError as e:
        raise ScheduleError(_rename(str(e), {"days": keys[0], "start": keys[1], "stop": keys[2]})) from None


def event_groups(params: Mapping[str, str]) -> list[str]:
    """The param.cgi Event groups present (`Event.E0`, `Event.E3`, ...), in number order."""
    groups = {m.group(1) for k in params if (m := _EVENT_GROUP.match(k.strip()))}
    return sorted(groups, key=lambda g: int(g.rpartition("E")[2]))


def from_param_event(params: Mapping[str, str], zone: tzinfo, group: str = "Event.E0") -> Schedule:
    """VAPIX's Event group: `Weekdays` (7 of 0/1, Monday first), `Starttime` hh:mm, `Duration`
    hours (0 = 24 h). A group with `Enabled=no` is never on."""
    p = _clean(params)

    def key(name: str) -> str:
        for k in (f"{group}.{name}", f"root.{group}.{name}"):
            if k in p:
                return k
        raise ScheduleError(f"{group}.{name}: missing")

    for k in (f"{group}.Enabled", f"root.{group}.Enabled"):
        if p.get(k, "").lower() == "no":
            return Schedule(week.EMPTY, zone)
    wd, st, du = key("Weekdays"), key("Starttime"), key("Duration")
    duration = _int(p, du)
    try:
        return from_weekdays(p[wd], p[st], duration, zone)
    except ScheduleError as e:
        raise ScheduleError(_rename(str(e), {"weekdays": wd, "start": st, "duration": du})) from None


def _rename(message: str, names: dict[str, str]) -> str:
    """'start: ...' from a builder -> 'FTPScheduleTimeStart: ...', the camera's own name."""
    head, sep, rest = message.partition(": ")
    return f"{names.get(head, head)}{sep}{rest}"
