"""A zone's UTC offsets and their change instants, found once through zoneinfo's public API.

zoneinfo answers "what is the offset at this instant" but does not list its transitions. The
schedule engine needs them to be exact where the wall clock jumps, so each zone's timeline is probed
every 6 hours, chunk by chunk (about a year each, built when first asked), and every offset change
is bisected to its exact second. Two changes less than 6 hours apart that cancel each other would be
missed; the tz database has none (tests/schedule checks the four test zones against zoneinfo).

Instants here are integers: microseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

US = 1_000_000
_CHUNK = 1 << 25  # seconds per chunk, about 388 days
_STEP = 6 * 3600  # probe spacing in seconds
# datetime's own range, less a day each side so that local times stay representable
MIN_S = int(datetime(1, 1, 2, tzinfo=UTC).timestamp())
MAX_S = int(datetime(9999, 12, 30, tzinfo=UTC).timestamp())
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(at: datetime) -> int:
    """An aware datetime as microseconds since the epoch (exact, no float)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected an aware datetime (with a UTC offset), got {at.isoformat()}")
    return (at - EPOCH) // _ONE_US


def from_us(us: int, zone: tzinfo) -> datetime:
    """Microseconds since the epoch as an aware datetime in `zone` (fold set for repeated hours)."""
    return (EPOCH + timedelta(microseconds=us)).astimezone(zone)


@dataclass(frozen=True, slots=True)
class _Chunk:
    base_offset: int  # seconds east of UTC at the chunk's first second
    times: list[int]  # transition instants (seconds) in (start, start + _CHUNK], sorted
    offsets: list[int]  # offset from each transition on


class ZoneTimeline:
    """Offsets and transition instants of one zone, cached per chunk."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._chunks: dict[int, _Chunk] = {}

    def _probe(self, sec: int) -> int:
        sec = min(max(sec, MIN_S), MAX_S)
        off = datetime.fromtimestamp(sec, self.zone).utcoffset()
        return 0 if off is None else int(off.total_seconds())

    def _chunk(self, index: int) -> _Chunk:
        chunk = self._chunks.get(index)
        if chunk is None:
            chunk = self._build(index)
            self._chunks[index] = chunk
        return chunk

    def _build(self, index: int) -> _Chunk:
        start = index * _CHUNK
        end = start + _CHUNK
        base = self._probe(start)
        times: list[int] = []
        offsets: list[int] = []
        lo, lo_off = start, base
        while lo < end:
            hi = min(lo + _STEP, end)
            hi_off = self._probe(hi)
            # more than one change may sit between two probes: bisect until lo and hi agree
            while hi_off != lo_off:
                a, b = lo, hi
                while b - a > 1:
                    mid = (a + b) // 2
                    if self._probe(mid) == lo_off:
                        a = mid
                    else:
                        b = mid
                lo, lo_off = b, self._probe(b)
                times.append(b)
                offsets.append(lo_off)
            lo, lo_off = hi, hi_off
        return _Chunk(base, times, offsets)

    def offset_s(self, us: int) -> int:
        """The UTC offset in seconds at instant `us`."""
        sec = us // US
        chunk = self._chunk(sec // _CHUNK)
        i = bisect.bisect_right(chunk.times, sec) - 1
        return chunk.offsets[i] if i >= 0 else chunk.base_offset

    def next_transition(self, after_us: int, until_us: int) -> int | None:
        """The first offset change at an instant in (after_us, until_us], in microseconds, or None."""
        sec = after_us // US  # transitions are whole seconds: T > after_us <=> T > floor(after_us)
        last = until_us // US
        index = sec // _CHUNK
        while index * _CHUNK <= last:
            chunk = self._chunk(index)
            i = bisect.bisect_right(chunk.times, sec)
            if i < len(chunk.times):
                t = chunk.times[i]
                return t * US if t <= last else None
            index += 1
        return None

    def prev_transition(self, since_us: int, upto_us: int) -> int | None:
        """The last offset change at an instant in [since_us, upto_us], in microseconds, or None."""
        first = -(-since_us // US)  # ceil: T >= since_us
        sec = upto_us // US
        index = sec // _CHUNK
        if sec % _CHUNK == 0:
            index -= 1  # a change at a chunk's first second is listed by the chunk before
        while (index + 1) * _CHUNK >= first:
            chunk = self._chunk(index)
            i = bisect.bisect_right(chunk.times, sec) - 1
            if i >= 0:
                t = chunk.times[i]
                return t * US if t >= first else None
            index -= 1
        return None


@functools.lru_cache(maxsize=64)
def timeline(zone: tzinfo) -> ZoneTimeline:
    """The shared timeline of `zone` (ZoneInfo objects are hashable and cached by key)."""
    return ZoneTimeline(zone)
