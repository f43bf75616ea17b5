"""Sets of half-open intervals over one week of local wall-clock time, in whole seconds.

The week starts Monday 00:00 (second 0) and ends Sunday 24:00 (second 604800). A set is a sorted
tuple of disjoint, non-touching `(start, end)` pairs with `0 <= start < end <= WEEK`; a span that
runs past Sunday 24:00 wraps to Monday. Pure code: no clock, no zone.
"""

from __future__ import annotations

from collections.abc import Iterable

DAY = 86_400
WEEK = 7 * DAY
SLOT = 900  # the 96-slot words' 15 minutes
SLOTS_PER_DAY = DAY // SLOT

Span = tuple[int, int]
Spans = tuple[Span, ...]

FULL: Spans = ((0, WEEK),)
EMPTY: Spans = ()


def normalize(spans: Iterable[Span]) -> Spans:
    """Wrap spans onto the week and merge them; a span of a week or more is the whole week.

    A span's start may be any second (its position in the week is taken modulo WEEK), so a window
    that starts Sunday 22:00 and ends 8 hours later covers Sunday 22:00-24:00 and Monday 00:00-06:00.
    Empty or negative spans are dropped.
    """
    pieces: list[Span] = []
    for start, end in spans:
        length = end - start
        if length <= 0:
            continue
        if length >= WEEK:
            return FULL
        s = start % WEEK
        e = s + length
        if e <= WEEK:
            pieces.append((s, e))
        else:
            pieces.append((s, WEEK))
            pieces.append((0, e - WEEK))
    pieces.sort()
    merged: list[Span] = []
    for s, e in pieces:
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return tuple(merged)


def complement(spans: Spans) -> Spans:
    out: list[Span] = []
    pos = 0
    for s, e in spans:
        if s > pos:
            out.append((pos, s))
        pos = e
    if pos < WEEK:
        out.append((pos, WEEK))
    return tuple(out)


def union(a: Spans, b: Spans) -> Spans:
    return normalize((*a, *b))


def intersection(a: Spans, b: Spans) -> Spans:
    return complement(union(complement(a), complement(b)))


def flips(spans: Spans) -> tuple[int, ...]:
    """The seconds of the week at which membership changes, sorted; () for the empty or full week.

    Week positions are circular: a set holding both Sunday 23:00-24:00 and Monday 00:00-01:00 does
    not change at Monday 00:00.
    """
    if spans in (EMPTY, FULL):
        return ()
    points = {s for s, _ in spans} | {e % WEEK for _, e in spans}
    if spans[0][0] == 0 and spans[-1][1] == WEEK:
        points.discard(0)
    return tuple(sorted(points))


def slot_coverage(spans: Spans) -> list[int]:
    """Seconds covered in each of the week's 672 fifteen-minute slots (Monday 00:00 first)."""
    cover = [0] * (7 * SLOTS_PER_DAY)
    for s, e in spans:
        first, last = s // SLOT, (e - 1) // SLOT
        for i in range(first, last + 1):
            cover[i] += min(e, (i + 1) * SLOT) - max(s, i * SLOT)
    return cover
