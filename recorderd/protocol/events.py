"""The normalized event model: trigger samples from any dialect, and edges (start/end) derived from them.

Cameras repeat states and levels many times a second; recording and actions need edges. Trigger
names are camera-independent: `motion`, `motion:<window>`, `input:<n>`, `output:<n>` (numbered from 1),
`sound`, `tamper`, `face`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MAX_TRIGGERS", "Edge", "EdgeDetector", "TriggerSample"]

# bound: trigger names one detector (one stream of one camera) keeps; a camera inventing a new
# name per part (`group=N`) gets its later names ignored, counted in `EdgeDetector.ignored`
MAX_TRIGGERS = 256


@dataclass(frozen=True, slots=True)
class TriggerSample:
    """One sample of one trigger's state, as a camera reported it (no time: the shell stamps it)."""

    trigger: str
    active: bool
    level: int | None = None
    threshold: int | None = None


@dataclass(frozen=True, slots=True)
class Edge:
    """A change of a trigger's state: `active=True` is a start, `active=False` an end; level/threshold
    of the sample that made it."""

    trigger: str
    active: bool
    level: int | None = None
    threshold: int | None = None


class EdgeDetector:
    """Turns repeated samples into edges, per trigger, never two starts (or ends) in a row.

    Rules (docs/protocol.md, "Edge detection"):
    - A trigger never seen before: an inactive first sample is silent; an active one is a start (the
      camera was already alarmed when we connected; that is a real event).
    - A known trigger: an edge exactly when the state differs from the last one.
    - `reset()` (after a reconnect) keeps the remembered states but marks them unconfirmed. So a
      reconnect alone never fires: a still-active trigger does not start again, an inactive one stays
      silent, and a trigger that ended during the outage ends on its first sample.
      `end_unconfirmed()` ends the triggers the camera has not re-reported since the reset (call it
      after the post-connect state query); `end_all()` closes everything (camera given up, shutdown).
    """

    __slots__ = ("_state", "_unconfirmed", "ignored")

    def __init__(self) -> None:
        self._state: dict[str, bool] = {}
        self._unconfirmed: set[str] = set()
        self.ignored = 0  # samples of names beyond MAX_TRIGGERS

    def update(self, samples: Iterable[TriggerSample]) -> list[Edge]:
        """Feed samples in arrival order; return the edges they cause, in the same order."""
        edges: list[Edge] = []
        state = self._state
        for s in samples:
            prev = state.get(s.trigger)
            if self._unconfirmed:
                self._unconfirmed.discard(s.trigger)
            if prev is None:
                if len(state) >= MAX_TRIGGERS:
                    self.ignored += 1
                    continue
                state[s.trigger] = s.active
                if s.active:
                    edges.append(Edge(s.trigger, True, s.level, s.threshold))
            elif prev != s.active:
                state[s.trigger] = s.active
                edges.append(Edge(s.trigger, s.active, s.level, s.threshold))
        return edges

    def size(self) -> int:
        """Trigger names kept (at most MAX_TRIGGERS)."""
        return len(self._state)

    def reset(self) -> None:
        """The connection was lost and re-established: states are kept but become unconfirmed."""
        self._unconfirmed = set(self._state)

    def unconfirmed(self) -> frozenset[str]:
        """Triggers not re-reported since the last reset()."""
        return frozenset(self._unconfirmed)

    def end_unconfirmed(self) -> list[Edge]:
        """End every active trigger not re-reported since reset(), and forget all unconfirmed ones."""
        edges = [Edge(t, False) for t in sorted(self._unconfirmed) if self._state.get(t)]
        for t in self._unconfirmed:
            self._state.pop(t, None)
        self._unconfirmed.clear()
        return edges

    def end_all(self) -> list[Edge]:
        """End every active trigger and forget all state (camera given up, daemon shutting down)."""
        edges = [Edge(t, False) for t, on in sorted(self._state.items()) if on]
        self._state.clear()
        self._unconfirmed.clear()
        return edges

    @property
    def active(self) -> frozenset[str]:
        """Triggers currently started."""
        return frozenset(t for t, on in self._state.items() if on)
