"""What the demo runs: one simulated camera per dialect, their scripted incidents, and the daemon's config.

Pure code: the simulator's config, and the daemon's config as TOML text built from the cameras'
real URLs once they are bound. The config is written to DIR/recorderd.toml and loaded back from
there, so the file on disk is exactly what ran (and check-config, events, recordings use it).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recorderd.sim import ScenarioStep, SimCameraConfig, SimConfig

TOPIC = "recorderd"
FIRST_AT = 3.0  # the first camera's incident, seconds after the simulator started
STAGGER = 1.5  # the next camera's, this much later
HOLD = 3.0  # how long each scripted trigger stays on
REPEAT = 30.0  # the script runs again every REPEAT seconds (a long demo keeps showing incidents)
PRE, POST = "2s", "3s"
SEGMENT = "10s"  # the continuous camera's file length


@dataclass(frozen=True)
class DemoCamera:
    name: str  # also its dialect
    trigger: str | None  # the scripted trigger (the simulator's and the daemon's name); None: continuous
    audio: bool = False  # recorded with its G.711 audio
    relay: bool = False  # an incident pulses the camera's own relay (action output:1)

    @property
    def dialect(self) -> str:
        return self.name


CAMERAS: tuple[DemoCamera, ...] = (
    DemoCamera("ipcamcgi", "motion"),
    DemoCamera("openapi", "input:1", relay=True),
    DemoCamera("vapix", "motion", audio=True),
    DemoCamera("foscam", "motion"),
    DemoCamera("move", "input:1"),
    DemoCamera("mjpeg", None),  # a plain MJPEG URL has no events: recorded continuously
)


def incident_times() -> dict[str, tuple[float, float]]:
    """Per scripted camera: (on, off) in seconds after the simulator started (first round)."""
    out: dict[str, tuple[float, float]] = {}
    for i, cam in enumerate(c for c in CAMERAS if c.trigger):
        at = FIRST_AT + i * STAGGER
        out[cam.name] = (at, at + HOLD)
    return out


def sim_config() -> SimConfig:
    """Every dialect on loopback ports the OS picks, each with its scripted trigger."""
    times = incident_times()
    cameras: dict[str, SimCameraConfig] = {}
    for cam in CAMERAS:
        steps: list[ScenarioStep] = []
        if cam.trigger:
            at, off = times[cam.name]
            steps.append(ScenarioStep(at=at, trigger=cam.trigger, on=True, duration=off - at))
        cameras[cam.name] = SimCameraConfig(
            dialect=cam.dialect,
            password=f"demo-{cam.name}",
            audio="mulaw" if cam.audio else "none",
            event_interval=1.0,
            scenario=steps,
            repeat=REPEAT if steps else None,
        )
    return SimConfig(cameras=cameras)


def camera_table(cam: DemoCamera, sim_table: Mapping[str, Any], mqtt: bool) -> dict[str, Any]:
    """The daemon's [cameras.NAME] table: the simulator's URLs and credentials, and the demo's settings."""
    table = dict(sim_table)
    table.update({"read_timeout": "5s", "poll_interval": "500ms", "alarm_timeout": "1m"})
    if cam.trigger is None:
        table["triggers"] = []
        table["record"] = {"mode": "continuous", "segment": SEGMENT}
    else:
        table["triggers"] = [cam.trigger]
        table["record"] = {"mode": "event", "pre": PRE, "post": POST}
    if cam.audio:
        table["audio"] = True
    actions = (["output:1"] if cam.relay else []) + (["mqtt"] if mqtt else [])
    table["actions"] = actions
    return table


def config_text(
    state_dir: Path,
    sim_tables: Mapping[str, Mapping[str, Any]],
    *,
    zone: str,
    mqtt_port: int | None,
) -> str:
    """DIR/recorderd.toml for the cameras as bound (sim_tables: SimCamera.recorderd_camera())."""
    sections: list[tuple[str, dict[str, Any]]] = [
        (
            "daemon",
            {
                "state_dir": str(state_dir),
                "timezone": zone,
                "http_listen": "127.0.0.1:0",  # a free port (the demo prints it)
                "log_level": "warning",
            },
        ),
        # bounded, and modest about free space: the demo must not prune a small disk's other files
        ("storage", {"max_usage": "2GiB", "min_free": "200MiB"}),
    ]
    if mqtt_port is not None:
        sections.append(
            (
                "mqtt",
                {"host": "127.0.0.1", "port": mqtt_port, "topic": TOPIC, "client_id": "recorderd-demo"},
            )
        )
    for cam in CAMERAS:
        sections.append(
            (f"cameras.{cam.name}", camera_table(cam, sim_tables[cam.name], mqtt_port is not None))
        )
    head = (
        "# Written by `recorderd demo`: the config it ran with. The cameras were simulated on loopback\n"
        "# ports that are gone when the demo ends (their passwords are demo values); use this file with\n"
        "# `recorderd recordings list -c`, `recorderd events -c` and `recorderd check-config -c`.\n"
    )
    return head + "".join(
        f"\n[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in body.items())
        for name, body in sections
    )


def toml_value(v: Any) -> str:
    """A TOML value: strings (JSON escapes are TOML's too), numbers, booleans, arrays, inline tables."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    if isinstance(v, Sequence):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {type(v).__name__}")


def local_zone() -> str:
    """The machine's IANA zone (file names use the camera's local time); UTC if it cannot be told."""
    candidates: list[str] = []
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        candidates.append(tz)
    target = os.path.realpath("/etc/localtime")
    if "zoneinfo/" in target:
        name = target.split("zoneinfo/", 1)[1]
        candidates.append(name.removeprefix("posix/").removeprefix("right/"))
    with contextlib.suppress(OSError, UnicodeDecodeError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"
