"""The demo's plan: the config it writes is valid, and the account's lines are readable."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from recorderd.cli.demo import find_mosquitto
from recorderd.config.load import parse_config
from recorderd.demo import plan
from recorderd.demo.account import mqtt_text, short_id, size_text


def sim_tables() -> dict[str, dict[str, object]]:
    tables: dict[str, dict[str, object]] = {}
    for i, cam in enumerate(plan.CAMERAS):
        t: dict[str, object] = {
            "dialect": cam.name,
            "username": "admin",
            "password": 'p"w\\x',
            "auth": "auto",
        }
        if cam.name == "mjpeg":
            t["video_url"] = f"http://127.0.0.1:{20000 + i}/video.mjpg"
        else:
            t["url"] = f"http://127.0.0.1:{20000 + i}/"
        tables[cam.name] = t
    return tables


@pytest.mark.parametrize("mqtt_port", [None, 41883])
def test_config_text_is_a_valid_config(tmp_path: Path, mqtt_port: int | None) -> None:
    text = plan.config_text(tmp_path, sim_tables(), zone="Europe/Berlin", mqtt_port=mqtt_port)
    cfg = parse_config(text)
    assert list(cfg.cameras) == [c.name for c in plan.CAMERAS]
    assert cfg.daemon.state_dir == tmp_path
    assert cfg.cameras["vapix"].password is not None
    assert cfg.cameras["vapix"].password.get_secret_value() == 'p"w\\x'
    assert cfg.cameras["mjpeg"].record.mode == "continuous"
    assert cfg.cameras["openapi"].action_list(mqtt_port is not None)[0] == "output:1"
    assert (cfg.mqtt is not None) == (mqtt_port is not None)
    for cam in plan.CAMERAS:
        if cam.trigger:
            assert cfg.cameras[cam.name].triggers == [cam.trigger]
            assert cfg.cameras[cam.name].record.pre == 2.0


def test_toml_values_round_trip() -> None:
    value = {"s": 'a "quoted" \\ line\nnext ü', "n": 3, "f": 0.5, "b": True, "l": ["x", 1], "t": {"k": "v"}}
    text = "".join(f"{k} = {plan.toml_value(v)}\n" for k, v in value.items())
    assert tomllib.loads(text) == value


def test_scenario_is_staggered_and_fits_twenty_seconds() -> None:
    times = plan.incident_times()
    starts = sorted(on for on, _ in times.values())
    assert len(set(starts)) == len(starts)
    # the last clip's post-time ends well before a 20 s demo stops
    assert max(off for _, off in times.values()) + 3.0 < 18.0
    sim = plan.sim_config()
    assert {c.dialect for c in sim.cameras.values()} == {
        "ipcamcgi",
        "openapi",
        "vapix",
        "foscam",
        "move",
        "mjpeg",
    }


def test_mqtt_lines() -> None:
    event = {"id": "vapix-20260101T000000-abc123", "type": "start", "trigger": "motion"}
    assert mqtt_text("recorderd/vapix/events", json.dumps(event).encode()) == "event start motion #abc123"
    assert mqtt_text("recorderd/vapix/snapshot", b"\xff" * 2048) == "JPEG snapshot, 2 KiB"
    assert mqtt_text("recorderd/vapix/motion", b"ON") == "ON"
    assert len(mqtt_text("recorderd/x", b"y" * 500)) == 60
    assert size_text(3 * 1024**2 // 2) == "1.5 MiB"  # binary units, named as such
    assert short_id("move-20260101T000000-0f0f0f") == "0f0f0f"


def test_find_mosquitto_looks_in_sbin(tmp_path: Path) -> None:
    assert find_mosquitto(path=str(tmp_path), sbin=()) is None  # the demo then says it skipped MQTT
    exe = tmp_path / "sbin" / "mosquitto"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    # not on PATH (a normal user's PATH has no /usr/sbin), found in sbin
    assert find_mosquitto(path=str(tmp_path), sbin=(str(exe.parent),)) == str(exe)
