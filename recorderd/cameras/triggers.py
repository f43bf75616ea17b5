"""From the camera's trigger names to the configured ones, with edge detection.

Pure. A camera reports triggers by its own names (`motion:0`, `motion:1`, `input:1`, ...); the config
asks for `motion` (any window), `motion:1` (window 1 only), `input:1`, ... A configured trigger is on
while any source feeding it is on. Only changes come out, so streams that repeat their state every
part cost a dict lookup per sample.

Resync: the stream reader marks the first sample of each source after it (re)connects; a change that
such a sample causes is passed on with resync=True (the incident machine then lets it end a trigger,
never start one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recorderd.dialects.registry import TriggerFamily

# bound: source names a camera's map keeps (routes cached, states); names past it are routed
# without a cache, and a new routed source past it is ignored (its family's aggregate, such as
# `motion`, still comes as a sample of its own)
MAX_SOURCES = 256


@dataclass(frozen=True, slots=True)
class Change:
    trigger: str  # the configured name
    on: bool
    resync: bool


class TriggerMap:
    def __init__(self, configured: list[str]) -> None:
        self.configured = list(dict.fromkeys(configured))
        self._routes: dict[str, tuple[str, ...]] = {}
        self._sources: dict[str, set[str]] = {c: set() for c in self.configured}
        self._state: dict[str, bool] = {}  # source name -> last reported state

    def routes(self, source: str) -> tuple[str, ...]:
        """The configured triggers a source name feeds (cached: called per sample)."""
        r = self._routes.get(source)
        if r is None:
            r = tuple(c for c in self.configured if matches(c, source))
            if len(self._routes) < MAX_SOURCES:
                self._routes[source] = r
        return r

    def sample(self, source: str, on: bool, resync: bool = False) -> list[Change]:
        prev = self._state.get(source)
        if prev == on:
            return []
        if prev is None and (len(self._state) >= MAX_SOURCES or not self.routes(source)):
            return []  # feeds nothing configured, or one name too many: no state kept
        self._state[source] = on
        out: list[Change] = []
        for c in self.routes(source):
            active = self._sources[c]
            was = bool(active)
            if on:
                active.add(source)
            else:
                active.discard(source)
            if bool(active) != was:
                out.append(Change(c, bool(active), resync))
        return out

    def size(self) -> int:
        """Names kept (routes cached and source states), at most 2 * MAX_SOURCES."""
        return len(self._routes) + len(self._state)

    def is_on(self, configured: str) -> bool:
        return bool(self._sources.get(configured))

    def source_state(self, source: str) -> bool | None:
        return self._state.get(source)


def matches(configured: str, source: str) -> bool:
    """'motion' takes any 'motion:<window>', 'input' any 'input:<n>'; otherwise names must be equal."""
    if configured == source:
        return True
    return ":" not in configured and source.startswith(configured + ":")


def wanted(configured: list[str], family: TriggerFamily) -> bool:
    """Whether any configured trigger is of this family ('motion', 'input', 'face', ...)."""
    return any(c == family or c.startswith(family + ":") for c in configured)
