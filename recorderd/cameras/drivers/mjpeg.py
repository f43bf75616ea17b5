"""Any plain MJPEG URL (`video_url`), with an optional audio URL (`audio_url`). No events of its own."""

from __future__ import annotations

from recorderd.cameras.drivers.base import Driver
from recorderd.cameras.streams import StreamSpec
from recorderd.dialects.registry import Dialect


class MjpegDriver(Driver):
    dialect = Dialect.MJPEG

    def streams(self) -> list[StreamSpec]:
        assert self.cfg.video_url is not None
        specs = [StreamSpec("video", "video", self.cfg.video_url)]
        if self.cfg.audio_url and self.wants_audio:
            specs.append(StreamSpec("audio", "audio", self.cfg.audio_url))
        return specs


DRIVER = MjpegDriver
