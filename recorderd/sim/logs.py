"""Compact records of what was sent, so a simulator can run for hours without growing much.

SeqRuns keeps a stream's frame numbers as runs of consecutive numbers (a client that keeps up gets
one run). FrameLog keeps (seq, mono, wall) per frame in typed arrays, 24 bytes a frame.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator


class SeqRuns:
    """An increasing sequence of ints stored as [start, end] runs."""

    def __init__(self) -> None:
        self._starts = array("q")
        self._ends = array("q")  # inclusive
        self.count = 0

    def append(self, seq: int) -> None:
        if self._ends and self._ends[-1] + 1 == seq:
            self._ends[-1] = seq
        else:
            self._starts.append(seq)
            self._ends.append(seq)
        self.count += 1

    def __iter__(self) -> Iterator[int]:
        for a, b in zip(self._starts, self._ends, strict=True):
            yield from range(a, b + 1)

    def __len__(self) -> int:
        return self.count

    def __contains__(self, seq: object) -> bool:
        if not isinstance(seq, int):
            return False
        i = bisect.bisect_right(self._starts, seq) - 1
        return i >= 0 and seq <= self._ends[i]

    def runs(self) -> list[tuple[int, int]]:
        return list(zip(self._starts, self._ends, strict=True))


class FrameLog:
    """seq -> (mono, wall) for the last `limit` frames built (seqs increase)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seqs = array("q")
        self._mono = array("d")
        self._wall = array("d")

    def add(self, seq: int, mono: float, wall: float) -> None:
        if not self.limit:
            return
        self._seqs.append(seq)
        self._mono.append(mono)
        self._wall.append(wall)
        if len(self._seqs) > self.limit:  # drop the oldest half at once: amortised O(1)
            cut = len(self._seqs) - self.limit // 2
            del self._seqs[:cut], self._mono[:cut], self._wall[:cut]

    def get(self, seq: int) -> tuple[float, float]:
        i = bisect.bisect_left(self._seqs, seq)
        if i == len(self._seqs) or self._seqs[i] != seq:
            raise KeyError(seq)
        return self._mono[i], self._wall[i]

    def __len__(self) -> int:
        return len(self._seqs)
