"""The UI's long-lived responses: a camera's live MJPEG (frames passed through, never decoded) and
the server-sent events that keep the pages current.

Live: each viewer is a `Viewer` of the camera's LiveFeed (one frame held at most; a slow viewer
skips frames). Events: each page is a bus subscription with its own bounded queue; the bus drops
for a page that does not keep up (counted and logged by the bus), never for anyone else.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import trio
from starlette.responses import StreamingResponse

from recorderd.cameras.live import LiveFeed
from recorderd.core import events as ev
from recorderd.web.assets import secured

BOUNDARY = "recorderdframe"
SSE_QUEUE = 256  # bound: events waiting per page
MAX_SSE = 16  # bound: event pages open at once
KEEPALIVE = 15.0  # a comment line this often keeps proxies from closing an idle stream
_names = itertools.count(1)


def mjpeg_response(feed: LiveFeed, first: bytes | None) -> StreamingResponse:
    """multipart/x-mixed-replace, one part per frame: what <img> shows as live video."""
    viewer = feed.open()

    async def parts() -> AsyncIterator[bytes]:
        try:
            if first is not None:
                yield _part(first)
            while True:
                yield _part(await viewer.next())
        finally:
            viewer.close()

    return _stream(parts(), f"multipart/x-mixed-replace; boundary={BOUNDARY}")


def _part(jpeg: bytes) -> bytes:
    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
    return head.encode() + jpeg + b"\r\n"


def _stream(body: AsyncIterator[bytes], media_type: str) -> StreamingResponse:
    r = StreamingResponse(body, media_type=media_type)
    r.headers.update({"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    return secured(r)  # type: ignore[return-value]


def event_json(e: ev.BusEvent) -> tuple[str, dict[str, Any]] | None:
    """The SSE event name and data of a bus event the pages show (None for the others)."""
    if isinstance(e, ev.IncidentEvent):
        d = e.to_dict()
        d.update(time=e.time.timestamp() * 1000, triggers=list(e.triggers), reason=e.reason)
        return "incident", d
    if isinstance(e, ev.ArmedChanged):
        return "armed", {
            "camera": e.camera,
            "armed": e.armed,
            "override": e.override.value,
            "privacy": e.privacy,
        }
    if isinstance(e, ev.Connected):
        return "connected", {"camera": e.camera, "connected": e.connected}
    return None


class EventStreams:
    def __init__(self) -> None:
        self.open = 0

    def response(self, recv: trio.MemoryReceiveChannel[ev.BusEvent]) -> StreamingResponse:
        self.open += 1

        async def body() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 2000\n: connected\n\n"
                while True:
                    with trio.move_on_after(KEEPALIVE):
                        try:
                            e = await recv.receive()
                        except (trio.EndOfChannel, trio.ClosedResourceError):
                            return  # the daemon stops
                        out = event_json(e)
                        if out is not None:
                            data = json.dumps(out[1], separators=(",", ":"))
                            yield f"event: {out[0]}\ndata: {data}\n\n".encode()
                        continue
                    yield b": keepalive\n\n"
            finally:
                self.open -= 1
                recv.close()

        return _stream(body(), "text/event-stream")

    @staticmethod
    def name() -> str:
        return f"web-events-{next(_names)}"
