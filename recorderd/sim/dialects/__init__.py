"""Each dialect's CGIs: a table from path to handler."""

from __future__ import annotations

import functools

from recorderd.sim import streams
from recorderd.sim.dialects import axis, foscam, ipcamcgi, move
from recorderd.sim.dialects.common import Handler, Routes, snapshot
from recorderd.sim.framing import make_framing
from recorderd.sim.streams import Ctx


async def _mjpeg_video(ctx: Ctx) -> None:
    await streams.video(ctx, make_framing("myboundary", "plain", ctx.cam.faults))


async def _mjpeg_audio(ctx: Ctx) -> None:
    cam = ctx.cam
    if not cam.config.has_audio:
        await ctx.error(404, "no audio")
        return
    multipart = ctx.params.get("httptype", cam.config.audio_httptype) == "multipart"
    framing = make_framing("myboundary", "plain", cam.faults) if multipart else None
    await streams.sound(ctx, framing)


def _mjpeg_routes() -> Routes:
    """A plain MJPEG camera: a stream, a snapshot, a mu-law audio stream."""
    return {
        "/video.mjpg": _mjpeg_video,
        "/video.cgi": _mjpeg_video,
        "/image.jpg": snapshot,
        "/audio": _mjpeg_audio,
    }


@functools.cache
def routes(dialect: str) -> Routes:
    if dialect in ("openapi", "vapix"):
        return axis.routes(dialect)
    if dialect == "ipcamcgi":
        return ipcamcgi.routes()
    if dialect == "foscam":
        return foscam.routes()
    if dialect == "move":
        return move.routes()
    return _mjpeg_routes()


def find(dialect: str, path: str) -> Handler | None:
    return routes(dialect).get(path)


STREAM_PORT_HANDLER: Handler = move.video
