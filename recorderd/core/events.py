"""What travels on the daemon's bus: camera states and incident events (start, end), with their vocabularies.

Values only; who publishes and who consumes is told in recorderd/core/bus.py and docs/DESIGN.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

EventType = Literal["start", "end"]
# why an incident ended: its last trigger went off, its alarm timed out, the camera was disarmed or
# entered privacy, or the daemon stopped the camera (shutdown, reload)
EndReason = Literal["ended", "timeout", "disarmed", "privacy", "stopped"]


# the override as the config and the HTTP endpoint write it (Override below is its value)
ArmedMode = Literal["auto", "on", "off"]


class Override(StrEnum):
    """The manual arming override (`armed` in the config, MQTT and HTTP)."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"

    @classmethod
    def parse(cls, text: str) -> Override:
        """'on'/'off'/'auto' in any case, also 'true'/'false'/'1'/'0' as MQTT switches send them."""
        t = text.strip().lower()
        if t in ("on", "true", "1", "armed"):
            return cls.ON
        if t in ("off", "false", "0", "disarmed"):
            return cls.OFF
        if t == "auto":
            return cls.AUTO
        raise ValueError(f'expected on, off or auto, got "{text}"')


@dataclass(frozen=True, slots=True)
class Connected:
    """A camera's streams are all up (True) or one of them is down (False)."""

    camera: str
    connected: bool
    time: datetime


@dataclass(frozen=True, slots=True)
class TriggerChanged:
    """A configured trigger turned on or off, as the camera says it (armed or not)."""

    camera: str
    trigger: str
    on: bool
    time: datetime


@dataclass(frozen=True, slots=True)
class ArmedChanged:
    """The camera's effective arming changed (schedule, override, privacy)."""

    camera: str
    armed: bool
    override: Override
    privacy: bool
    time: datetime


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The JPEG of a trigger's start (for MQTT's snapshot topic and mail attachments)."""

    camera: str
    incident: str
    jpeg: bytes
    time: datetime


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """One event of an incident, its start or its end: what the camera engine publishes on the bus
    and every action (MQTT included) consumes.

    `id` names the incident, so its start and end share it; `(id, type)` names the event, and
    receivers drop duplicates (the outbox delivers at least once) by that pair.
    `time` must be aware (it is written ISO 8601 with its offset). `recording` is the clip's
    path; on an `end` event it names the finished file. `snapshots` are JPEG frames (pre-trigger
    and trigger), never part of the JSON.
    """

    id: str
    camera: str
    trigger: str
    type: EventType
    time: datetime
    armed: bool
    triggers: tuple[str, ...] = ()  # every trigger that counted, in order of joining (on "end")
    reason: EndReason | None = None  # why it ended (on "end")
    recording: str | None = None
    snapshots: tuple[bytes, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError("IncidentEvent.time must be an aware datetime")
        if self.type not in ("start", "end"):
            raise ValueError(f'IncidentEvent.type must be "start" or "end", got {self.type!r}')

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: id, camera, trigger, type, time, armed, recording (no snapshots)."""
        return {
            "id": self.id,
            "camera": self.camera,
            "trigger": self.trigger,
            "type": self.type,
            "time": self.time.isoformat(),
            "armed": self.armed,
            "recording": self.recording,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any], snapshots: tuple[bytes, ...] = ()) -> IncidentEvent:
        kind = d["type"]
        if kind not in ("start", "end"):
            raise ValueError(f"bad event type {kind!r}")
        return cls(
            id=str(d["id"]),
            camera=str(d["camera"]),
            trigger=str(d["trigger"]),
            type=kind,
            time=datetime.fromisoformat(d["time"]),
            armed=bool(d["armed"]),
            recording=d.get("recording"),
            snapshots=snapshots,
        )

    def with_snapshots(self, snapshots: tuple[bytes, ...]) -> IncidentEvent:
        return replace(self, snapshots=snapshots)


BusEvent = Connected | TriggerChanged | ArmedChanged | IncidentEvent | Snapshot
