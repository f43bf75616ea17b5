"""The incident event that the camera engine produces and every action (and MQTT) consumes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

EventType = Literal["start", "end"]


@dataclass(frozen=True)
class IncidentEvent:
    """One edge of an incident: its start or its end.

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
