"""The garbage collector's settings for a long-running daemon.

CPython starts a young-generation collection after every 700 net allocations of tracked objects.
A recording daemon allocates a few such objects per frame (a Frame, the muxer's pending tuple)
and keeps them for about a second (until their cluster is written), so at hundreds of frames a
second the collector ran hundreds of times a second over objects that are freed by reference
counting anyway (docs/performance.md has what that cost). Cycles
are rare here (an exception kept with its traceback), so collecting less often costs little
memory; what exists at start-up (modules, the config) is moved out of the collector's sight.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000  # net allocations between two young collections (CPython's default: 700)


def settle_for_daemon() -> None:
    """Call once at start-up, before the trio run: what exists now is never scanned again."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
