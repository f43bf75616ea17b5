"""One stream's state as the status, the metrics and the log tell it, from the first attempt on.

States: "connecting" (an attempt is under way and nothing valid came yet), "up" (a valid part or
answer arrived on this connection), "down" (the attempt failed; waiting to try again), "refused"
(the camera answered that it will not serve this stream as asked: 204, a 4xx naming the request, a
body that is not a stream; asked again slowly, and the camera counts as connected without it).
Times are kept as the trio clock (for durations) and the wall clock (for people).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from recorderd.cameras.liveness import LivenessName

State = Literal["connecting", "up", "down", "refused"]


def iso(wall: float | None) -> str | None:
    return None if wall is None else datetime.fromtimestamp(wall, UTC).isoformat(timespec="seconds")


@dataclass
class StreamState:
    name: str
    method: LivenessName  # the liveness method, as the status says it
    state: State = "connecting"
    since: float | None = None  # wall time it entered the state
    attempts: int = 0
    # bound: one key per failure kind, a fixed set of our own words (CameraError kinds)
    failures: dict[str, int] = field(default_factory=dict)
    unreadable: int = 0  # parts or answers skipped as unreadable
    last_error: str = ""
    last_error_kind: str = ""
    last_error_at: float | None = None  # wall
    last_success: float | None = None  # wall: when it last worked (set when it goes down)
    ups: int = 0  # times it came up
    retry_at: float | None = None  # trio time of the next attempt while down or refused

    def enter(self, state: State, wall: float) -> None:
        if state != self.state or self.since is None:
            self.state = state
            self.since = wall

    def failed(self, kind: str, message: str, wall: float) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1
        self.last_error, self.last_error_kind, self.last_error_at = message, kind, wall

    def status(self, now: float, wall: float) -> dict[str, Any]:
        up = self.state == "up"
        out: dict[str, Any] = {
            "state": self.state,
            "since": iso(self.since),
            "liveness": self.method,
            "attempts": self.attempts,
            "failures": dict(self.failures),
            "last_error": self.last_error,
            "last_error_at": iso(self.last_error_at),
            "last_success": iso(wall if up else self.last_success),
        }
        if self.unreadable:
            out["unreadable"] = self.unreadable
        if self.retry_at is not None and not up:
            out["retry_in"] = round(max(0.0, self.retry_at - now), 1)
        return out
