"""Live view: one camera's JPEG frames fanned out to any number of viewers, never decoded.

The camera calls `LiveFeed.publish(jpeg)` for every frame, a plain call on the trio thread; with
nobody watching it is one attribute test. Each viewer holds at most one frame (the newest): a
viewer that has not taken the last frame yet has it replaced and counts a skip, so a slow viewer
skips frames and never holds up the camera, the recorder or another viewer.
"""

from __future__ import annotations

import trio

MAX_VIEWERS = 32  # bound: viewers per camera (each holds one frame, ~22 KB at 640x480)


class TooManyViewers(Exception):
    """A camera already has MAX_VIEWERS viewers."""


class Viewer:
    """One viewer's slot: the newest frame not yet taken (bound: one frame)."""

    __slots__ = ("_feed", "_frame", "_ready", "sent", "skipped")

    def __init__(self, feed: LiveFeed) -> None:
        self._feed = feed
        self._frame: bytes | None = None
        self._ready = trio.Event()
        self.sent = 0
        self.skipped = 0

    def offer(self, jpeg: bytes) -> None:
        if self._frame is not None:
            self.skipped += 1
        self._frame = jpeg
        self._ready.set()

    async def next(self) -> bytes:
        """The newest frame since the last call (waits for one)."""
        while self._frame is None:
            await self._ready.wait()
            self._ready = trio.Event()
        frame, self._frame = self._frame, None
        self.sent += 1
        return frame

    def close(self) -> None:
        self._feed.viewers.discard(self)


class LiveFeed:
    def __init__(self, max_viewers: int = MAX_VIEWERS) -> None:
        # the camera tests this set before calling `publish`: nobody watching costs one test
        self.viewers: set[Viewer] = set()
        self.max_viewers = max_viewers

    def publish(self, jpeg: bytes) -> None:
        for v in self.viewers:
            v.offer(jpeg)

    def open(self) -> Viewer:
        """A new viewer (close it when done); TooManyViewers past `max_viewers`."""
        if len(self.viewers) >= self.max_viewers:
            raise TooManyViewers(f"at most {self.max_viewers} live viewers per camera")
        v = Viewer(self)
        self.viewers.add(v)
        return v
