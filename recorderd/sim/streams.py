"""Writing responses: plain replies, and the long-lived video, event and audio streams, with faults.

Video streams park on their camera's frame lot and send the part the ticker's tick built (one write
of prebuilt bytes); a stream still busy writing when the next tick comes misses that frame, as a
camera drops frames for a slow client. Event streams send the state at connect and at once on a
change; motion-level streams repeat it every `event_interval`, IO and eventdata monitors only when
`monitor_repeat` is set. Audio streams pace 240-byte blocks at the codec's byte rate.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import trio

from recorderd.sim import audio
from recorderd.sim.camera import Effect, EventState, SimCamera, StreamKind, StreamStats
from recorderd.sim.framing import Framing
from recorderd.sim.httpio import Request, head, reset_on_close

AUDIO_BATCH = 4  # blocks per write: 120 ms of sound


class Conn:
    """One accepted connection: writes with the camera's drip fault, records the answer's status."""

    def __init__(self, stream: trio.SocketStream, cam: SimCamera) -> None:
        self.stream = stream
        self.cam = cam
        self.status: int | None = None
        self.fd = stream.socket.fileno()

    async def send(self, data: bytes) -> None:
        n = self.cam.faults.drip_bytes
        if not n:
            await self.send_fast(data)
            return
        for i in range(0, len(data), n):
            await self.stream.send_all(data[i : i + n])
            await trio.sleep(self.cam.faults.drip_delay)

    async def start(self, req: Request, status: int, headers: list[tuple[str, str]]) -> None:
        self.status = status
        self.cam._record_request(req.method, req.target, status)
        await self.send(head(status, headers))

    async def send_fast(self, data: bytes) -> None:
        """One write(2) of prebuilt bytes when the socket buffer has room (the common case for a
        client that keeps up), trio's send_all for whatever is left. Callers checkpoint elsewhere
        (video streams park on the frame lot every frame)."""
        try:
            sent = os.write(self.fd, data)
        except BlockingIOError:
            sent = 0
        except OSError as e:  # EPIPE, ECONNRESET: the client went away
            raise trio.BrokenResourceError(str(e)) from None
        if sent < len(data):
            await self.stream.send_all(memoryview(data)[sent:])

    async def cut(self, count: int, part: bytes) -> bool:
        """Apply stall/close/reset-after-N-parts: half of `part`, then the fault. True: stop the stream."""
        f = self.cam.faults
        if f.stall_after is None and f.close_after is None and f.reset_after is None:
            return False
        which: list[tuple[int | None, Literal["stall", "close", "reset"]]] = [
            (f.stall_after, "stall"),
            (f.close_after, "close"),
            (f.reset_after, "reset"),
        ]
        hit = next((what for after, what in which if after is not None and count >= after), None)
        if hit is None:
            return False
        await self.send(part[: len(part) // 2])
        if hit == "reset":
            reset_on_close(self.stream)
        elif hit == "stall":
            await self.wait_client_gone()
        return True

    async def wait_client_gone(self) -> None:
        """Say nothing more; return when the client closes (its deadline expired) or the sim stops."""
        try:
            while await self.stream.receive_some(4096):
                pass
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass


@dataclass
class Ctx:
    """What a CGI handler gets: the camera, the request, the connection."""

    cam: SimCamera
    req: Request
    conn: Conn

    @property
    def params(self) -> dict[str, str]:
        return self.req.params

    async def reply(
        self,
        body: bytes,
        ctype: str = "text/plain",
        status: int = 200,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        hs = [("Content-Type", ctype), *headers]
        if not self.cam.faults.close_delimited:
            hs.append(("Content-Length", str(len(body))))
        await self.conn.start(self.req, status, hs)
        if body:
            await self.conn.send(body)

    async def text(self, body: str, ctype: str = "text/plain", status: int = 200) -> None:
        await self.reply(body.encode("utf-8", "surrogateescape"), ctype, status)

    async def no_content(self) -> None:
        await self.conn.start(self.req, 204, [])

    async def error(self, status: int, why: str = "") -> None:
        await self.text(f"{status} {why}\r\n" if why else "", "text/plain", status)


async def _stream_head(ctx: Ctx, content_type: str, preamble: bytes, kind: StreamKind) -> StreamStats:
    await ctx.conn.start(ctx.req, 200, [("Content-Type", content_type)])
    if preamble:
        await ctx.conn.send(preamble)
    return ctx.cam._open_stream(kind, ctx.req.target)


async def video(ctx: Ctx, framing: Framing) -> None:
    """MJPEG server push: one prebuilt part per tick."""
    cam = ctx.cam
    stats = await _stream_head(ctx, framing.content_type, framing.preamble, "video")
    cam.video_subscribers += 1
    try:
        while True:
            await cam._frame_lot.park()
            info = cam.current
            if info is None:
                continue
            part = cam.video_part(framing)
            if await ctx.conn.cut(stats.parts, part):
                return
            bursts = cam.config.burst_count(len(part))
            if bursts == 1:
                await ctx.conn.send(part)
            else:
                await send_bursts(ctx.conn, part, bursts, cam.config.burst_gap)
            stats.parts += 1
            stats.bytes += len(part)
            stats.runs.append(info.seq)
    finally:
        cam.video_subscribers -= 1
        cam._close_stream(stats)


async def send_bursts(conn: Conn, data: bytes, bursts: int, gap: float) -> None:
    """`data` in `bursts` slices `gap` seconds apart, as a frame reaches a client over a real link
    in several TCP bursts rather than in one piece."""
    view = memoryview(data)
    step = -(-len(data) // bursts)
    for i in range(0, len(data), step):
        if i:
            await trio.sleep(gap)
        await conn.send(bytes(view[i : i + step]))


Render = Callable[[EventState, Effect | None], bytes | None]


async def monitor(ctx: Ctx, framing: Framing, render: Render, interval: float) -> None:
    """An event stream. `render(state, effect)` builds a part (or None: nothing for this stream) for
    the stream's own copy of the state after `effect`, or for a periodic repeat when effect is None.
    Every change is replayed in order, so no pulse is lost between two wake-ups."""
    cam = ctx.cam
    stats = await _stream_head(ctx, framing.content_type, framing.preamble, "event")
    mirror = cam.state.copy()
    cursor = len(cam.changes)
    parts = [render(mirror, None)]
    try:
        while True:
            for part in parts:
                if part is None:
                    continue
                if await ctx.conn.cut(stats.parts, part):
                    return
                await ctx.conn.send(part)
                stats.parts += 1
                stats.bytes += len(part)
            if len(cam.changes) == cursor:
                with trio.move_on_after(interval if interval > 0 else float("inf")):
                    while len(cam.changes) == cursor:
                        await cam._change_lot.park()
            new = cam.changes[cursor:]
            cursor += len(new)
            parts = []
            for effect in new:
                mirror.apply(effect.kind, effect.index, effect.on)
                parts.append(render(mirror, effect))
            if not new:
                parts.append(render(mirror, None))
    finally:
        cam._close_stream(stats)


async def sound(ctx: Ctx, framing: Framing | None) -> None:
    """Open API/VAPIX audio: singlepart (blocks back to back) or multipart (one block per part)."""
    cam = ctx.cam
    codec = cam.config.audio
    mime = audio.MIME[codec]
    blocks = audio.blocks(audio.tone(cam.config.tone_hz, codec))
    pace = AUDIO_BATCH * audio.BLOCK / audio.BYTES_PER_SECOND[codec]
    ctype = framing.content_type if framing else mime
    stats = await _stream_head(ctx, ctype, framing.preamble if framing else b"", "audio")
    try:
        deadline = trio.current_time()
        k = 0
        while True:
            batch = [blocks[(k + i) % len(blocks)] for i in range(AUDIO_BATCH)]
            if framing is not None:
                batch = [framing.part(b, (f"Content-Type: {mime}",)) for b in batch]
            out = b"".join(batch)
            if await ctx.conn.cut(stats.parts, out):
                return
            await ctx.conn.send(out)
            stats.parts += AUDIO_BATCH
            stats.bytes += len(out)
            k += AUDIO_BATCH
            deadline += pace
            await trio.sleep_until(deadline)
    finally:
        cam._close_stream(stats)
