"""The pure part: topic names, the command grammar, the discovery documents."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recorderd.mqtt.topics import Topics, discovery, parse_arm_command, trigger_slug, trigger_title


def test_layout() -> None:
    t = Topics("home/rd")
    assert t.available == "home/rd/available"
    assert t.connected("gate") == "home/rd/gate/connected"
    assert t.trigger("gate", "motion:1") == "home/rd/gate/motion_1"
    assert t.trigger("gate", "input:2") == "home/rd/gate/input_2"
    assert t.armed("gate") == "home/rd/gate/armed"
    assert t.armed_set("gate") == "home/rd/gate/armed/set"
    assert t.armed_set_filter == "home/rd/+/armed/set"
    assert t.events("gate") == "home/rd/gate/events"
    assert t.snapshot("gate") == "home/rd/gate/snapshot"


@pytest.mark.parametrize(
    ("topic", "camera"),
    [
        ("rd/front/armed/set", "front"),
        ("rd/front.cam-2/armed/set", "front.cam-2"),
        ("rd/a/b/armed/set", None),
        ("rd//armed/set", None),
        ("rd/front/armed", None),
        ("other/front/armed/set", None),
        ("rdx/front/armed/set", None),
    ],
)
def test_armed_set_camera(topic: str, camera: str | None) -> None:
    assert Topics("rd").armed_set_camera(topic) == camera


@pytest.mark.parametrize(
    ("payload", "command"),
    [
        (b"ON", "ON"),
        (b"on", "ON"),
        (b" Off\r\n", "OFF"),
        (b"AUTO", "AUTO"),
        (b"auto", "AUTO"),
        (b"", None),
        (b"1", None),
        (b"ONN", None),
        (b"\xff\xfe", None),
        (b'{"state":"ON"}', None),
    ],
)
def test_arm_commands(payload: bytes, command: str | None) -> None:
    assert parse_arm_command(payload) == command


@given(st.binary(max_size=16))
def test_arm_command_never_raises(payload: bytes) -> None:
    assert parse_arm_command(payload) in (None, "ON", "OFF", "AUTO")


def test_slug_and_title() -> None:
    assert trigger_slug("motion") == "motion"
    assert trigger_slug("motion:window_2") == "motion_window_2"
    assert trigger_title("input:1") == "Input 1"
    assert trigger_title("sound") == "Sound"


def test_discovery_documents() -> None:
    docs = dict(discovery(Topics("rd"), "ha", {"gate.1": ["motion:1", "input:2", "tamper"]}, "9.9"))
    assert set(docs) == {
        "ha/binary_sensor/rd/gate_1_connected/config",
        "ha/binary_sensor/rd/gate_1_motion_1/config",
        "ha/binary_sensor/rd/gate_1_input_2/config",
        "ha/binary_sensor/rd/gate_1_tamper/config",
        "ha/switch/rd/gate_1_armed/config",
        "ha/button/rd/gate_1_armed_auto/config",
        "ha/camera/rd/gate_1_snapshot/config",
    }
    parsed = {k: json.loads(v) for k, v in docs.items()}
    assert len({d["unique_id"] for d in parsed.values()}) == 7
    motion = parsed["ha/binary_sensor/rd/gate_1_motion_1/config"]
    assert motion["state_topic"] == "rd/gate.1/motion_1"
    assert motion["device_class"] == "motion"
    assert motion["availability_mode"] == "all"
    assert [a["topic"] for a in motion["availability"]] == ["rd/available", "rd/gate.1/connected"]
    assert motion["device"] == {
        "identifiers": ["rd_gate_1"],
        "name": "gate.1",
        "manufacturer": "recorderd",
        "model": "IP camera",
        "sw_version": "9.9",
    }
    assert "device_class" not in parsed["ha/binary_sensor/rd/gate_1_input_2/config"]
    assert parsed["ha/binary_sensor/rd/gate_1_tamper/config"]["device_class"] == "tamper"
    button = parsed["ha/button/rd/gate_1_armed_auto/config"]
    assert (button["command_topic"], button["payload_press"]) == ("rd/gate.1/armed/set", "AUTO")
    switch = parsed["ha/switch/rd/gate_1_armed/config"]
    assert [a["topic"] for a in switch["availability"]] == ["rd/available"]
