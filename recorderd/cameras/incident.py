"""Per-camera incident state machine: pure code, fed inputs with explicit times, returning outputs.

No clock reads, no I/O. The trio shell calls the input methods with its clock's `now` (seconds, any
monotonic origin) and sleeps until `next_deadline()`, then calls `advance(now)`. Every input first
fires the timers that are due before it, each at its own deadline, so outputs carry exact times.

Rules (docs/cameras.md has the reasoning):
- A trigger *counts* only if its start edge arrives while the camera is armed (override ON, or AUTO
  and the arming schedule on), privacy is off, no hold-off runs, and it is not a resync sample.
- min_on debounce: a start is confirmed only if the trigger stays on for min_on; the incident's start
  time is the edge's time. While an incident is open, further triggers join at once (no debounce).
- Overlapping counted triggers make one incident: it starts with the first and ends with the last.
- A trigger that is on but does not count is *latched*: ignored until it goes off. That covers
  starts while disarmed, in privacy or in hold-off, triggers past alarm_timeout, and resync samples: a
  (re)connect never fires a trigger, it can only end one.
- alarm_timeout: a counted trigger whose "off" never came stops counting that long after its start.
- Disarming (schedule, override OFF) or privacy ends an open incident at that moment.
- hold_off: after an incident ends, starts are ignored for that long.
- min_off debounce: an end is confirmed only if the trigger stays off for min_off; a trigger back
  on within it continues its incident (chatter is one incident); the end is dated at the edge.
- Rate limit: when `max_incidents` incidents opened within `incident_window`, the camera is
  *flapping*: the next incident is opened as a flapping one, which every start joins and which
  ends only once no trigger is on and none started for `flap_calm` (one alert for the storm).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from recorderd.core.events import EndReason, Override


@dataclass(frozen=True, slots=True)
class Opened:
    number: int  # per machine, from 1: the shell maps it to the index's incident id
    trigger: str
    at: float  # the start edge's time (earlier than now when min_on delayed the confirmation)
    flapping: bool = False  # opened past the rate limit: it covers the storm


@dataclass(frozen=True, slots=True)
class Joined:
    number: int
    trigger: str
    at: float


@dataclass(frozen=True, slots=True)
class Closed:
    number: int
    at: float
    reason: EndReason
    triggers: tuple[str, ...]  # every trigger that counted, in order of joining
    flapping: bool = False


@dataclass(frozen=True, slots=True)
class ArmingChanged:
    armed: bool  # effective: override and schedule, and not in privacy
    at: float


Output = Opened | Joined | Closed | ArmingChanged


class _St(enum.Enum):
    OFF = 0
    PENDING = 1  # on, waiting out min_on
    COUNTED = 2  # on and part of the open incident
    LATCHED = 3  # on, ignored until it goes off
    ENDING = 4  # off, still holding its incident while min_off runs


_HOLDING = (_St.COUNTED, _St.ENDING)


@dataclass(slots=True)
class _Trigger:
    state: _St = _St.OFF
    since: float = 0.0  # start edge time
    deadline: float | None = None  # PENDING: confirm; COUNTED: alarm_timeout; ENDING: end
    off_at: float = 0.0  # ENDING: the off edge's time


@dataclass(slots=True)
class _Incident:
    number: int
    start: float
    members: list[str] = field(default_factory=list)
    flapping: bool = False


class IncidentMachine:
    """One camera's triggers, gates and incident. Not thread-safe; one owner task."""

    def __init__(
        self,
        *,
        min_on: float = 0.0,
        hold_off: float = 0.0,
        alarm_timeout: float = 300.0,
        override: Override = Override.AUTO,
        schedule_armed: bool = True,
        privacy: bool = False,
        min_off: float = 0.0,
        max_incidents: int = 0,  # 0: no rate limit
        incident_window: float = 60.0,
        flap_calm: float = 30.0,
    ) -> None:
        self.min_on = max(0.0, min_on)
        self.min_off = max(0.0, min_off)
        self.hold_off = max(0.0, hold_off)
        self.incident_window = incident_window
        self.flap_calm = max(0.0, flap_calm)
        self.force_flapping = False  # the shell's back-pressure: open the next incident flapping
        # bound: max_incidents start times
        self._opened: deque[float] = deque(maxlen=max(1, max_incidents))
        self._max_incidents = max(0, max_incidents)
        self._last_start = float("-inf")  # of any trigger, for the flapping incident's calm
        self._last_off = 0.0  # when the flapping incident's last trigger went off
        self._calm_at: float | None = None
        self.alarm_timeout = alarm_timeout if alarm_timeout > 0 else float("inf")
        self.override = override
        self.schedule_armed = schedule_armed
        self.privacy = privacy
        # bound: the configured triggers (the camera's trigger map routes only those)
        self._triggers: dict[str, _Trigger] = {}
        self._incident: _Incident | None = None
        self._hold_until = float("-inf")
        self._count = 0
        self._armed = self._effective()

    # -- queries ------------------------------------------------------------------------------

    @property
    def armed(self) -> bool:
        """Effective arming: override ON, or AUTO and the schedule on; never during privacy."""
        return self._armed

    @property
    def incident_open(self) -> bool:
        return self._incident is not None

    @property
    def incident_number(self) -> int | None:
        return None if self._incident is None else self._incident.number

    @property
    def flapping(self) -> bool:
        """Whether the open incident is a flapping one (the camera is in a storm)."""
        return self._incident is not None and self._incident.flapping

    def active(self, trigger: str) -> bool:
        """Whether the camera last said this trigger is on (counted or not)."""
        t = self._triggers.get(trigger)
        return t is not None and t.state not in (_St.OFF, _St.ENDING)

    def next_deadline(self) -> float | None:
        """When `advance` has something to do (min_on or min_off confirmation, alarm_timeout, the
        end of a storm), or None."""
        best = self._calm_at
        for t in self._triggers.values():
            if t.deadline is not None and (best is None or t.deadline < best):
                best = t.deadline
        return best

    # -- inputs -------------------------------------------------------------------------------

    def advance(self, now: float) -> list[Output]:
        """Fire every timer due at or before now, in time order."""
        out: list[Output] = []
        while True:
            due = self.next_deadline()
            if due is None or due > now:
                return out
            if due == self._calm_at:
                self._calm_at = None
                if self._incident is not None and not self._holding():
                    self._end(self._last_off, "ended", out)
                continue
            name, t = min(
                ((n, x) for n, x in self._triggers.items() if x.deadline is not None),
                key=lambda nx: nx[1].deadline or 0.0,
            )
            t.deadline = None
            if t.state is _St.PENDING:
                self._confirm(name, t, due, out)
            elif t.state is _St.COUNTED:
                t.state = _St.LATCHED
                self._leave(name, due, "timeout", out)
            elif t.state is _St.ENDING:
                t.state = _St.OFF
                self._leave(name, t.off_at, "ended", out)

    def trigger(
        self, now: float, name: str, on: bool, *, resync: bool = False, force: bool = False
    ) -> list[Output]:
        """A trigger's state as the camera reports it. Repeats are harmless (no change, no output).

        resync=True marks a sample that may end a trigger, never start one (a baseline).
        force=True (a manual trigger) counts while disarmed or in hold-off, not in privacy, no debounce.
        """
        out = self.advance(now)
        t = self._triggers.get(name)
        if t is None:
            t = self._triggers[name] = _Trigger()
        if on:
            if t.state is _St.ENDING:  # back on within min_off: its incident goes on
                t.state = _St.COUNTED
                t.deadline = t.since + self.alarm_timeout
                self._started(now)
                return out
            if t.state is not _St.OFF:
                return out
            t.since = now
            if not resync:
                self._started(now)
            if force and not self.privacy and not resync:
                self._confirm(name, t, now, out)
            elif resync or not self._armed or now < self._hold_until:
                t.state = _St.LATCHED
            elif self._incident is not None:
                self._join(name, t, now, out)
            elif self.min_on > 0:
                t.state = _St.PENDING
                t.deadline = now + self.min_on
            else:
                self._confirm(name, t, now, out)
            return out
        prev = t.state
        if prev is _St.COUNTED and self.min_off > 0:
            t.state = _St.ENDING
            t.off_at = now
            t.deadline = now + self.min_off
            return out
        if prev is _St.ENDING:
            return out
        t.state = _St.OFF
        t.deadline = None
        if prev is _St.COUNTED:
            self._leave(name, now, "ended", out)
        return out

    def set_schedule(self, now: float, armed: bool) -> list[Output]:
        out = self.advance(now)
        self.schedule_armed = armed
        self._regate(now, "disarmed", out)
        return out

    def set_privacy(self, now: float, on: bool) -> list[Output]:
        out = self.advance(now)
        self.privacy = on
        self._regate(now, "privacy", out)
        return out

    def set_override(self, now: float, override: Override) -> list[Output]:
        out = self.advance(now)
        self.override = override
        self._regate(now, "disarmed", out)
        return out

    def close(self, now: float, reason: EndReason = "stopped") -> list[Output]:
        """End an open incident (daemon stopping); triggers are forgotten."""
        out = self.advance(now)
        if self._incident is not None:
            self._end(now, reason, out)
        self._triggers.clear()
        return out

    # -- internals ----------------------------------------------------------------------------

    def _effective(self) -> bool:
        if self.privacy:
            return False
        if self.override is Override.AUTO:
            return self.schedule_armed
        return self.override is Override.ON

    def _regate(self, now: float, reason: EndReason, out: list[Output]) -> None:
        armed = self._effective()
        if armed == self._armed:
            return
        self._armed = armed
        out.append(ArmingChanged(armed, now))
        if armed:
            return  # arming never fires a trigger that is already on: latched ones stay latched
        for t in self._triggers.values():
            if t.state in (_St.PENDING, _St.COUNTED):
                t.state = _St.LATCHED
                t.deadline = None
            elif t.state is _St.ENDING:
                t.state = _St.OFF
                t.deadline = None
        if self._incident is not None:
            self._end(now, "privacy" if self.privacy else reason, out)

    def _confirm(self, name: str, t: _Trigger, now: float, out: list[Output]) -> None:
        if self._incident is not None:
            self._join(name, t, now, out)
            return
        self._count += 1
        flapping = self.force_flapping or self._over_rate(t.since)
        self._opened.append(t.since)
        self._incident = _Incident(self._count, t.since, [name], flapping)
        t.state = _St.COUNTED
        t.deadline = t.since + self.alarm_timeout
        if t.deadline <= now:  # a timeout shorter than min_on: it counted for no time
            t.deadline = now
        out.append(Opened(self._count, name, t.since, flapping))
        for other, o in self._triggers.items():  # debouncing ones join the incident now
            if o.state is _St.PENDING:
                self._join(other, o, now, out)

    def _join(self, name: str, t: _Trigger, now: float, out: list[Output]) -> None:
        inc = self._incident
        assert inc is not None
        t.state = _St.COUNTED
        t.deadline = t.since + self.alarm_timeout
        if name not in inc.members:
            inc.members.append(name)
            out.append(Joined(inc.number, name, now))

    def _leave(self, name: str, now: float, reason: EndReason, out: list[Output]) -> None:
        if self._incident is None or self._holding():
            return
        if self._incident.flapping:
            # a storm ends once it is calm: no trigger on and none started for flap_calm
            self._last_off = now
            calm_at = self._last_start + self.flap_calm
            if calm_at > now:
                self._calm_at = calm_at
                return
        self._end(now, reason, out)

    def _holding(self) -> bool:
        return any(t.state in _HOLDING for t in self._triggers.values())

    def _started(self, now: float) -> None:
        """A trigger's start edge (counted or not): the flapping incident's calm starts again."""
        self._last_start = now
        self._calm_at = None

    def _over_rate(self, at: float) -> bool:
        opened = self._opened
        return (
            self._max_incidents > 0
            and len(opened) >= self._max_incidents
            and at - opened[0] < self.incident_window
        )

    def _end(self, now: float, reason: EndReason, out: list[Output]) -> None:
        inc = self._incident
        assert inc is not None
        self._incident = None
        self._calm_at = None
        self._hold_until = now + self.hold_off
        out.append(Closed(inc.number, now, reason, tuple(inc.members), inc.flapping))
