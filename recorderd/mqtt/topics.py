"""The topic layout, the command grammar and the Home Assistant discovery documents.

Pure: names and payloads from values, no I/O. `<t>` is `[mqtt].topic`:

    <t>/available                 online | offline   retained, also the last will
    <t>/<camera>/connected        ON | OFF           retained
    <t>/<camera>/<trigger>        ON | OFF           retained (":" becomes "_")
    <t>/<camera>/armed            ON | OFF           retained
    <t>/<camera>/armed/set        ON | OFF | AUTO    commands to the daemon
    <t>/<camera>/events           JSON               not retained, one per incident start and end
    <t>/<camera>/snapshot         JPEG               retained, the latest trigger's frame
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

ArmCommand = Literal["ON", "OFF", "AUTO"]
ON, OFF = b"ON", b"OFF"
ONLINE, OFFLINE = b"online", b"offline"

# Home Assistant wants [a-zA-Z0-9_-] in node and object ids.
_HA_ID_BAD = re.compile(r"[^A-Za-z0-9_-]")
_DEVICE_CLASS = {"motion": "motion", "sound": "sound", "tamper": "tamper", "face": "occupancy"}


def trigger_slug(trigger: str) -> str:
    """`motion:1` -> `motion_1`: a trigger as one topic level."""
    return trigger.replace(":", "_")


def on_off(value: bool) -> bytes:
    return ON if value else OFF


def parse_arm_command(payload: bytes) -> ArmCommand | None:
    """ON, OFF or AUTO (any case, surrounding blanks ignored); None for anything else."""
    try:
        word = payload.decode("ascii").strip().upper()
    except UnicodeDecodeError:
        return None
    if word == "ON":
        return "ON"
    if word == "OFF":
        return "OFF"
    if word == "AUTO":
        return "AUTO"
    return None


@dataclass(frozen=True)
class Topics:
    base: str = "recorderd"

    @property
    def available(self) -> str:
        return f"{self.base}/available"

    def connected(self, camera: str) -> str:
        return f"{self.base}/{camera}/connected"

    def trigger(self, camera: str, trigger: str) -> str:
        return f"{self.base}/{camera}/{trigger_slug(trigger)}"

    def armed(self, camera: str) -> str:
        return f"{self.base}/{camera}/armed"

    def armed_set(self, camera: str) -> str:
        return f"{self.base}/{camera}/armed/set"

    @property
    def armed_set_filter(self) -> str:
        return f"{self.base}/+/armed/set"

    def events(self, camera: str) -> str:
        return f"{self.base}/{camera}/events"

    def snapshot(self, camera: str) -> str:
        return f"{self.base}/{camera}/snapshot"

    def armed_set_camera(self, topic: str) -> str | None:
        """The camera a `<t>/<camera>/armed/set` topic names, else None."""
        head, tail = f"{self.base}/", "/armed/set"
        if not (topic.startswith(head) and topic.endswith(tail)):
            return None
        camera = topic[len(head) : len(topic) - len(tail)]
        return camera if camera and "/" not in camera else None


def ha_id(text: str) -> str:
    return _HA_ID_BAD.sub("_", text)


def trigger_title(trigger: str) -> str:
    """`motion:1` -> `Motion 1`, `input:2` -> `Input 2`."""
    words = trigger.replace(":", " ").replace("_", " ")
    return words[:1].upper() + words[1:]


def _dumps(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def discovery(
    topics: Topics,
    prefix: str,
    cameras: Mapping[str, Sequence[str]],
    version: str,
) -> Iterator[tuple[str, bytes]]:
    """(config topic, JSON) for every entity: per camera a connectivity binary_sensor, one
    binary_sensor per trigger, an `armed` switch, an "armed: auto" button and the snapshot camera.

    Trigger sensors are available only while the daemon is online AND the camera is connected, so
    a dead camera shows "unavailable", not a reassuring OFF.
    """
    for camera, triggers in cameras.items():
        yield from _camera_discovery(topics, prefix, camera, triggers, version)


def _camera_discovery(
    topics: Topics, prefix: str, camera: str, triggers: Sequence[str], version: str
) -> Iterator[tuple[str, bytes]]:
    node, cam_id = ha_id(topics.base), ha_id(camera)
    daemon = {"topic": topics.available, "payload_available": "online", "payload_not_available": "offline"}
    camera_up = {"topic": topics.connected(camera), "payload_available": "ON", "payload_not_available": "OFF"}
    device = {
        "identifiers": [f"{node}_{cam_id}"],
        "name": camera,
        "manufacturer": "recorderd",
        "model": "IP camera",
        "sw_version": version,
    }

    def entity(
        component: str, uid: str, name: str, availability: list[dict[str, str]], **extra: Any
    ) -> tuple[str, bytes]:
        body: dict[str, Any] = {
            "name": name,
            "unique_id": f"{node}_{cam_id}_{uid}",
            "device": device,
            "origin": {"name": "recorderd", "sw_version": version},
            "availability": availability,
            "availability_mode": "all",
            **extra,
        }
        return f"{prefix}/{component}/{node}/{cam_id}_{uid}/config", _dumps(body)

    on_off_keys = {"payload_on": "ON", "payload_off": "OFF"}
    yield entity(
        "binary_sensor",
        "connected",
        "Connected",
        [daemon],
        state_topic=topics.connected(camera),
        device_class="connectivity",
        entity_category="diagnostic",
        **on_off_keys,
    )
    for trigger in triggers:
        slug = ha_id(trigger_slug(trigger))
        kind = _DEVICE_CLASS.get(trigger.split(":", 1)[0])
        yield entity(
            "binary_sensor",
            slug,
            trigger_title(trigger),
            [daemon, camera_up],
            state_topic=topics.trigger(camera, trigger),
            **({"device_class": kind} if kind else {}),
            **on_off_keys,
        )
    yield entity(
        "switch",
        "armed",
        "Armed",
        [daemon],
        state_topic=topics.armed(camera),
        command_topic=topics.armed_set(camera),
        state_on="ON",
        state_off="OFF",
        **on_off_keys,
    )
    yield entity(
        "button",
        "armed_auto",
        "Armed: back to schedule",
        [daemon],
        command_topic=topics.armed_set(camera),
        payload_press="AUTO",
    )
    yield entity("camera", "snapshot", "Snapshot", [daemon], topic=topics.snapshot(camera))
