"""Settings that are valid but make a camera produce nothing: said at check-config and at start.

A trigger the dialect cannot report is an error (recorderd.config.offers). What is left here is
legal and sometimes meant (a camera armed by hand only, a schedule switched off for the holidays),
so it is a warning, never a refusal: a camera whose settings mean it will never record, alarm or
both, with the reason.
"""

from __future__ import annotations

from recorderd.config.model import CameraConfig, Config


def camera_advice(cam: CameraConfig) -> list[str]:
    """Why this camera will never record or never alarm, one line per reason ([] when it can)."""
    if not cam.enabled:
        return []
    out: list[str] = []
    mode = cam.record.mode
    never_armed = (cam.schedule == "never" and cam.armed != "on") or cam.armed == "off"
    if cam.privacy == "always":
        out.append('privacy = "always": nothing is ever recorded or sent')
        return out
    if not cam.triggers:
        if mode == "event":
            out.append(
                'no triggers and record.mode = "event": it records and alarms only when triggered '
                "by hand (POST /api/cameras/<camera>/trigger)"
            )
        elif mode == "off":
            out.append('no triggers and record.mode = "off": it neither records nor alarms')
    elif never_armed:
        why = 'armed = "off"' if cam.armed == "off" else 'schedule = "never"'
        if mode == "event":
            out.append(f"{why}: never armed, so its triggers start no incident and nothing is recorded")
        else:
            out.append(f"{why}: never armed, so its triggers start no incident")
    return out


def config_advice(cfg: Config, name: str = "") -> list[str]:
    """Every camera's advice as `file: cameras.<camera>: ...` lines."""
    prefix = f"{name}: " if name else ""
    return [f"{prefix}cameras.{n}: {line}" for n, c in cfg.cameras.items() for line in camera_advice(c)]
