"""The settings a simulated camera reports and accepts: param.cgi trees, Foscam CGI variables, IPCamCGI tables.

Built from the camera's config (its schedule, credentials, sizes) and changed by the set/update CGIs,
so a client that writes a setting reads it back.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from recorderd.schedule.spec import FOSCAM_DAYS, DayMaskSpec, WeekdaysSpec, WordsSpec
from recorderd.sim.config import SimCameraConfig

EVENT_TEMPLATE: dict[str, str] = {
    # VAPIX §5.1.1.4: "A listing of the new group will output the following"
    "Name": "MyEvent",
    "Type": "T",
    "Enabled": "yes",
    "Active": "no",
    "Priority": "1",
    "Image": "1",
    "HWInputs": "xxxx",
    "SWInput": "",
    "Weekdays": "1111111",
    "Starttime": "00:00",
    "Duration": "0",
    "ImageURLSettingsEnabled": "no",
    "ImageURLSettings": "",
    "IncludePreTrigger": "no",
    "PreTriggerSize": "0",
    "PreTriggerInterval": "1000",
    "PreTriggerIntervalUnit": "s",
    "PreTriggerUnit": "s",
    "IncludePostTrigger": "no",
    "PostTriggerSize": "0",
    "PostTriggerInterval": "1000",
    "PostTriggerIntervalUnit": "s",
    "PostTriggerUnit": "s",
    "IncludeBestEffort": "no",
    "BestEffortInterval": "1000",
    "BestEffortDuration": "0",
    "BestEffortIntervalUnit": "s",
    "BestEffortDurationUnit": "s",
    "FileName": "image.jpg",
    "Suffix": "%y-%m-%d_%H-%M-%S-%f",
    "MaxSequenceNumber": "-100",
}
MOTION_TEMPLATE = {
    "Name": "DefaultWindow",
    "Left": "0",
    "Right": "9999",
    "Top": "0",
    "Bottom": "9999",
    "WindowType": "include",
    "Sensitivity": "90",
    "History": "90",
    "ObjectSize": "15",
}
TEMPLATES = {"event": ("Event", "E", EVENT_TEMPLATE), "motion": ("Motion", "M", MOTION_TEMPLATE)}


class ParamTree:
    """An ordered `Group.Sub.Name = value` store with param.cgi's list/update/add/remove."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self.values: dict[str, str] = dict(items)

    def select(self, groups: list[str]) -> list[str]:
        """Names matching any of the groups (`Network`, `Event.E0.Name`, `Event.*.Name`); all when empty."""
        if not groups:
            return list(self.values)
        out: list[str] = []
        for raw in groups:
            g = raw.strip().removeprefix("root.")
            for name in self.values:
                hit = fnmatch.fnmatchcase(name, g) if "*" in g else name == g or name.startswith(g + ".")
                if hit and name not in out:
                    out.append(name)
        return out

    def update(self, changes: dict[str, str]) -> list[str]:
        """Apply `Group.Name=value` pairs; returns the names that do not exist (not applied)."""
        unknown = []
        for k, v in changes.items():
            k = k.removeprefix("root.")
            if k in self.values:
                self.values[k] = v
            else:
                unknown.append(k)
        return unknown

    def add(self, group: str, template: str, given: dict[str, str]) -> str | None:
        """param.cgi action=add: a new `<group>.<letter><n>` from the template; returns `E7` or None."""
        found = TEMPLATES.get(template)
        if found is None or found[0] != group:
            return None
        _, letter, defaults = found
        used = {int(m.group(1)) for n in self.values if (m := re.match(rf"{group}\.{letter}(\d+)\.", n))}
        number = next(i for i in range(len(used) + 1) if i not in used)
        entry = f"{letter}{number}"
        for k, v in defaults.items():
            self.values[f"{group}.{entry}.{k}"] = given.get(f"{group}.{letter}.{k}", v)
        return entry

    def remove(self, groups: list[str]) -> bool:
        names = [n for g in groups for n in self.values if n.startswith(g.removeprefix("root.") + ".")]
        for n in names:
            del self.values[n]
        return bool(names)


def event_items(cfg: SimCameraConfig) -> list[tuple[str, str]]:
    ev = dict(EVENT_TEMPLATE, Name="Motion", Enabled="yes" if cfg.schedule_enable else "no")
    if isinstance(cfg.schedule, WeekdaysSpec):
        ev.update(
            Weekdays=cfg.schedule.weekdays, Starttime=cfg.schedule.start, Duration=str(cfg.schedule.duration)
        )
    return [(f"Event.E0.{k}", v) for k, v in ev.items()]


def axis_tree(cfg: SimCameraConfig, name: str) -> ParamTree:
    """The parameters of an Open API/VAPIX camera (param.cgi, config.cgi)."""
    items: list[tuple[str, str]] = [
        ("Brand.Brand", "recorderd"),
        ("Brand.ProdShortName", f"recorderd-sim {cfg.dialect}"),
        ("Properties.API.HTTP.Version", "3"),
        ("Properties.Firmware.Version", "3.00"),
        ("Properties.Motion.Motion", "yes"),
        ("Properties.Audio.Audio", "yes" if cfg.has_audio else "no"),
        ("Network.HostName", name),
        ("Network.IPAddress", "127.0.0.1"),
        ("Network.SubnetMask", "255.0.0.0"),
        ("Image.NbrOfConfigs", "1"),
        ("Image.I0.Resolution", f"{cfg.width}x{cfg.height}"),
        ("Image.I0.Stream.FPS", f"{cfg.fps:g}"),
        ("Audio.A0.Enabled", "yes" if cfg.has_audio else "no"),
        ("Audio.A0.HTTPMessageType", cfg.audio_httptype),
        ("Audiod.HttpMessageType", cfg.audio_httptype),
        ("AudioSource.A0.AudioEncoding", "g711" if cfg.audio == "mulaw" else cfg.audio),
        ("AudioSource.A0.SampleRate", "8000"),
    ]
    for i in range(cfg.inputs):
        items += [(f"IOPort.I{i}.Direction", "input"), (f"IOPort.I{i}.Input.Name", f"Input {i + 1}")]
        items += [(f"IOPort.I{i}.Input.Trig", "closed")]
    for i in range(cfg.outputs):
        j = cfg.inputs + i
        items += [(f"IOPort.I{j}.Direction", "output"), (f"IOPort.I{j}.Output.Name", f"Output {i + 1}")]
        items += [(f"IOPort.I{j}.Output.Active", "closed")]
    for w in cfg.motion_windows:
        m = dict(MOTION_TEMPLATE, Name=f"Window{w}")
        items += [(f"Motion.M{w}.{k}", v) for k, v in m.items()]
    items += event_items(cfg)
    return ParamTree(items)


def move_zone(cfg: SimCameraConfig) -> str:
    """MOBOTIX MOVE Time.TimeZone (`GMT-12` ... `GMT+13`, whole hours): the zone's offset now."""
    offset = datetime.now(ZoneInfo(cfg.timezone)).utcoffset()
    hours = round(offset.total_seconds() / 3600) if offset else 0
    return f"GMT{hours:+d}"


def move_tree(cfg: SimCameraConfig, name: str) -> ParamTree:
    """The parameters of a MOBOTIX MOVE camera (cgi-bin/admin/param.cgi, printed with `root.`)."""
    items = [
        ("System.HostName", name),
        ("System.Info.Model", "recorderd-sim move"),
        ("Network.IPAddress", "127.0.0.1"),
        ("Network.HTTPPort", "80"),
        ("Network.RTSP.Stream1", "h264"),
        ("Time.TimeZone", move_zone(cfg)),
        ("Image.I0.Resolution", f"{cfg.width}x{cfg.height}"),
        ("Image.I0.FPS", f"{cfg.fps:g}"),
    ]
    for w in range(4):
        event = {0: 1, 1: 10, 2: 11, 3: 12}[w]
        items += [(f"Event.E{event}.Enabled", "1" if w in cfg.motion_windows else "0")]
    items += [("Event.E2.Enabled", "1"), ("Event.E14.Enabled", "1")]
    return ParamTree(items)


def foscam_words(cfg: SimCameraConfig) -> dict[str, int]:
    if isinstance(cfg.schedule, WordsSpec):
        return cfg.schedule.foscam.words()
    return {f"{d}_{i}": 0 for d in FOSCAM_DAYS for i in range(3)}


def foscam_forbidden(cfg: SimCameraConfig) -> dict[str, int | str]:
    """get_forbidden.cgi: "return: see set_forbidden.cgi", i.e. schedule_enable and the 21
    schedule_<day>_<n> words (bit set: video/audio forbidden in that 15-minute slot)."""
    words = cfg.privacy.foscam.words() if cfg.privacy is not None else {}
    out: dict[str, int | str] = {"schedule_enable": int(cfg.privacy is not None)}
    out.update({f"schedule_{d}_{i}": words.get(f"{d}_{i}", 0) for d in FOSCAM_DAYS for i in range(3)})
    return out


def foscam_vars(cfg: SimCameraConfig, name: str) -> dict[str, int | str]:
    """get_params.cgi variables (the real capture's order), alarm schedule from the config."""
    v: dict[str, int | str] = {
        "id": "00A0B0C0D0E0",
        "sys_ver": "11.22.2.38",
        "app_ver": "2.4.18.17",
        "alias": name,
        "daylight_saving_time": 0,
        "ntp_enable": 1,
        "ntp_svr": "pool.ntp.org",
        "user1_name": cfg.username,
        "user1_pwd": cfg.password,
        "user1_pri": 2,
    }
    for i in range(2, 9):
        v.update({f"user{i}_name": "", f"user{i}_pwd": "", f"user{i}_pri": 0})
    v.update(
        {
            "ip": "127.0.0.1",
            "mask": "255.0.0.0",
            "gateway": "0.0.0.0",
            "dns": "0.0.0.0",
            "port": 80,
            "mail_svr": "",
            "mail_port": 25,
            "mail_tls": 0,
            "mail_user": "",
            "mail_pwd": "",
            "mail_sender": "",
            "mail_receiver1": "",
            "ftp_svr": "",
            "ftp_port": 21,
            "ftp_user": "",
            "ftp_pwd": "",
            "ftp_dir": "",
            "ftp_mode": 1,
            "ftp_upload_interval": 0,
            "alarm_motion_armed": 1,
            "alarm_motion_sensitivity": 5,
            "alarm_motion_compensation": 0,
            "alarm_input_armed": 1,
            "alarm_ioin_level": 1,
            "alarm_sounddetect_armed": 1,
            "alarm_sounddetect_sensitivity": 5,
            "alarm_iolinkage": 0,
            "alarm_preset": 0,
            "alarm_ioout_level": 1,
            "alarm_mail": 0,
            "alarm_upload_interval": 0,
            "alarm_http": 0,
            "alarm_msn": 0,
            "alarm_http_url": "",
            "alarm_schedule_enable": int(cfg.schedule_enable and cfg.schedule is not None),
        }
    )
    v.update({f"alarm_schedule_{k}": w for k, w in foscam_words(cfg).items()})
    v.update({"decoder_baud": 12})
    return v


def ipcam_tables(cfg: SimCameraConfig, name: str) -> dict[str, dict[str, str]]:
    """IPCamCGI configuration CGIs (name=value tables), schedules from the config's day mask."""
    sched = cfg.schedule if isinstance(cfg.schedule, DayMaskSpec) else None
    on = "1" if sched is not None and cfg.schedule_enable else "0"
    days = str(sched.days) if sched else "127"
    start = sched.start if sched else "00:00:00"
    stop = sched.stop if sched else "00:00:00"
    ftp = {
        "FTPHostAddress": "",
        "FTPPortNumber": "21",
        "FTPUserName": "",
        "FTPPassword": "",
        "FTPDirectoryPath": "/",
        "FTPPassiveMode": "1",
        "FTPScheduleEnable": on,
        "FTPScheduleMode": "1" if sched else "0",
        "FTPScheduleDay": days,
        "FTPScheduleTimeStart": start,
        "FTPScheduleTimeStop": stop,
        "FTPScheduleVideoFrequencyMode": "1",
        "FTPScheduleFramePerSecond": "1",
        "FTPScheduleSecondPerFrame": "5",
        "FTPScheduleBaseFileName": name,
        "FTPScheduleFileMode": "1",
        "FTPScheduleMaxFileSequenceNumber": "1024",
        "FTPManualEnable": "0",
        "FTPManualBaseFileName": name,
        "FTPManualFileMode": "1",
        "FTPManualMaxFileSequenceNumber": "1024",
    }
    email = {
        "EmailSMTPServerAddress": "",
        "EmailSenderAddress": "",
        "EmailReceiverAddress": "",
        "EmailUserName": "",
        "EmailPassword": "",
        "EmailScheduleEnable": on,
        "EmailScheduleMode": "1" if sched else "0",
        "EmailScheduleDay": days,
        "EmailScheduleTimeStart": start,
        "EmailScheduleTimeStop": stop,
        "EmailScheduleInterval": "60",
        "EmailManualEnable": "0",
        "EmailManualInterval": "60",
    }
    system = {
        "CameraName": name,
        "Location": "loopback",
        "AdminID": cfg.username,
        "AdminPassword": cfg.password,
    }
    system["LEDControl"] = "0"
    image = {
        "VideoResolution": "2" if cfg.width >= 640 else "1",
        "CompressionRate": "2",
        "FrameRate": str(int(cfg.fps)),
        "BrightnessControl": "64",
        "ContrastControl": "64",
        "SaturationControl": "64",
        "LightFrequency": "0",
        "Mirror": "0",
        "AntiFlickerEnable": "0",
    }
    return {
        "upload.cgi": ftp,
        "email.cgi": email,
        "system.cgi": system,
        "image.cgi": image,
        "cgiversion.cgi": {"CGIVersion": "2"},
    }
