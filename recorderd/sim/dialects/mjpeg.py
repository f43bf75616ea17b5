"""A plain MJPEG camera: a stream, a snapshot, a mu-law audio stream."""

from __future__ import annotations

from recorderd.sim import streams
from recorderd.sim.dialects.common import Routes, snapshot
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


def routes(dialect: str) -> Routes:
    return {
        "/video.mjpg": _mjpeg_video,
        "/video.cgi": _mjpeg_video,
        "/image.jpg": snapshot,
        "/audio": _mjpeg_audio,
    }
