"""A picture from the camera's own snapshot CGI, for when no video stream is open.

An alarm-only camera (`record.mode = "off"`) or one whose video is down still has a picture for the
e-mail, the FTP upload, MQTT's snapshot topic and /api/cameras/<camera>/snapshot.jpg: the
dialect's snapshot CGI (the registry's `paths.snapshot`: IPCamCGI §4.1.1 image.jpg, Open API
§2.3.1 image.jpg, VAPIX jpg/image.jpg, Foscam snapshot.cgi, MOVE cgi-bin/jpg/image.cgi).

Bounded: one request at a time per camera (callers that come meanwhile share its answer, and an
answer, or a failure, serves for `FRESH` seconds), `timeout` seconds at most, the camera's
`max_part_size` bytes at most, and only a JPEG (SOI marker) is taken.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from recorderd.cameras.http import CameraError
from recorderd.core.ratelog import RateLimitedLog

if TYPE_CHECKING:
    from recorderd.cameras.http import CameraHttp

log = logging.getLogger("recorderd.cameras")

FRESH = 1.0  # seconds an answer serves the callers that come after it
TIMEOUT = 3.0  # seconds a snapshot request may take
# bound: one key per camera (a few hundred at most); the least recently used goes first
_FAILED = RateLimitedLog(log, every=60.0, max_keys=4096)


class SnapshotFetcher:
    def __init__(
        self, camera: str, http: CameraHttp, path: str, limit: int, timeout: float = TIMEOUT
    ) -> None:
        self.camera = camera
        self.http = http
        self.path = path
        self.limit = limit
        self.timeout = timeout
        self.fresh = FRESH
        self.fetched = 0  # snapshots taken from the camera (status)
        self._lock = trio.Lock()
        self._last: tuple[float, bytes | None] | None = None  # (when, the answer or None: failed)

    async def fetch(self) -> bytes | None:
        """A JPEG from the camera now, or None (no CGI, refused, too slow, too large, not a JPEG)."""
        if not self.path:
            return None
        async with self._lock:
            now = trio.current_time()
            if self._last is not None and now - self._last[0] < self.fresh:
                return self._last[1]  # a failure too: callers that waited meanwhile do not retry
            jpeg = await self._get()
            self._last = (trio.current_time(), jpeg)
            if jpeg is not None:
                self.fetched += 1
            return jpeg

    async def _get(self) -> bytes | None:
        why = f"no answer within {self.timeout:g}s"
        with trio.move_on_after(self.timeout):
            try:
                data, ctype = await self.http.get_bytes(self.path, limit=self.limit)
            except CameraError as e:
                why = str(e)
            else:
                if data[:2] == b"\xff\xd8":
                    _FAILED.clear(self.camera)
                    return data
                why = f"not a JPEG ({ctype or 'no content type'}, {len(data)} bytes)"
        _FAILED.log(
            self.camera, logging.WARNING, "%s: no snapshot from the camera: %s", self.camera, why, kind=why
        )
        return None
