"""What a dialect asks to open, and the loop that keeps each stream open.

A dialect driver returns `StreamSpec`s: which URL, what kind of body, and how a part or a poll answer
turns into trigger samples. `run_stream` keeps one stream connected for the camera's lifetime:
connect, read with deadlines, report up/down, back off with full jitter on failure.

Per-frame cost is kept small on purpose (bench/bench_cost.py measures it): one network read per
chunk (up to 64 KiB, straight from the socket once httpx has the headers: `CameraHttp.body`; in the
engine the ReadMux reads all cameras' sockets in one task, so a frame wakes no stream task), one
multipart feed, each part's body handed on; the liveness deadline moves at most every
read_timeout/8; no logging per frame.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

import trio

from recorderd.cameras.http import CameraError
from recorderd.core.backoff import Backoff
from recorderd.core.ratelog import RateLimitedLog
from recorderd.protocol.errors import ProtocolError
from recorderd.protocol.events import EdgeDetector, TriggerSample

if TYPE_CHECKING:
    import httpx

    from recorderd.cameras.http import CameraHttp

log = logging.getLogger("recorderd.cameras")
STOPPED = "stopped"  # the reason given to stream_down when the camera's tasks are cancelled

StreamKind = Literal["video", "audio", "events", "poll"]


class PartLike(Protocol):
    """What the stream loop needs of a multipart part (recorderd.protocol.multipart.Part)."""

    @property
    def body(self) -> bytes: ...


PartParser = Callable[[PartLike], list[TriggerSample]]
TextParser = Callable[[str], list[TriggerSample]]


@dataclass
class StreamSpec:
    """One stream (or poll) a camera keeps open.

    kind "video": multipart JPEG; each part is a frame (and `parse` may read trigger bits from its
    headers, as seed 000's Date line). "audio": singlepart or multipart audio. "events": multipart
    text parts, `parse` gives samples. "poll": a GET every `interval` seconds, `parse_text` gives
    samples. `resync` is a GET run after every (re)connect to ask the current state.
    """

    name: str
    kind: StreamKind
    path: str
    params: dict[str, str] = field(default_factory=dict)
    port: int | None = None
    parse: PartParser | None = None
    parse_text: TextParser | None = None
    interval: float = 1.0
    resync: tuple[str, dict[str, str], TextParser] | None = None


class StreamSink(Protocol):
    """The camera runtime, as the stream loops see it."""

    name: str
    http: CameraHttp
    read_timeout: float
    max_part_size: int

    def stream_up(self, spec: StreamSpec) -> None: ...
    def stream_down(self, spec: StreamSpec, reason: str) -> None: ...
    def video(self, data: bytes, at: float) -> None: ...
    def audio(self, data: bytes, content_type: str, at: float) -> None: ...
    def samples(self, samples: list[TriggerSample], detector: EdgeDetector) -> None: ...
    def count_bytes(self, n: int) -> None: ...
    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None: ...


async def run_stream(
    spec: StreamSpec, sink: StreamSink, *, backoff: Backoff | None = None, first_delay: float = 0.0
) -> None:
    """Keep the stream connected until cancelled."""
    backoff = backoff or Backoff(0.5, 30.0, stable_after=max(10.0, sink.read_timeout))
    failures = RateLimitedLog(log, max_keys=1)  # this stream's failures: a line a minute at most
    detector = EdgeDetector()
    first = True
    if first_delay > 0:
        await trio.sleep(first_delay)
    while True:
        started = trio.current_time()
        up = False

        def mark_up() -> None:
            nonlocal up, first
            up = True
            if not first:
                detector.reset()  # states kept but unconfirmed: a reconnect never fires by itself
            first = False
            sink.stream_up(spec)
            if failures.clear(spec.name):
                log.info("%s: %s stream connected again", sink.name, spec.name)

        reason = "stream ended"
        try:
            if spec.kind == "poll":
                await _poll(spec, sink, detector, mark_up)
            else:
                await _stream(spec, sink, detector, mark_up)
        except CameraError as e:
            reason = str(e)
        except ProtocolError as e:
            reason = f"{spec.name}: {e}"
        except trio.Cancelled:
            reason = STOPPED  # the camera is stopped (shutdown, reload): not a fault
            raise
        finally:
            if up:
                with trio.CancelScope(shield=True):
                    sink.stream_down(spec, reason)
        lived = trio.current_time() - started if up else 0.0
        backoff.ended(lived)
        delay = backoff.next_delay()
        failures.log(
            spec.name, logging.WARNING, "%s: %s; retrying in %.1fs", sink.name, reason, delay, kind=reason
        )
        await trio.sleep(delay)


async def _poll(
    spec: StreamSpec, sink: StreamSink, detector: EdgeDetector, mark_up: Callable[[], None]
) -> None:
    assert spec.parse_text is not None
    connected = False
    next_at = trio.current_time()
    while True:
        body, _ = await sink.http.get_text(spec.path, spec.params)
        sink.count_bytes(len(body))
        if not connected:
            mark_up()
            connected = True
        try:
            sink.samples(spec.parse_text(body), detector)
        except ProtocolError as e:
            _bad_part(sink, spec, e)  # this answer is skipped; the next poll may be fine
        next_at = max(next_at + spec.interval, trio.current_time())  # no burst to catch up
        await trio.sleep_until(next_at)


# bound: one key per camera stream (a few per camera); the least recently used goes first
_BAD_PARTS = RateLimitedLog(log, every=60.0, max_keys=4096)


def _bad_part(sink: StreamSink, spec: StreamSpec, e: ProtocolError) -> None:
    """Log an unreadable part at most once a minute per camera stream."""
    _BAD_PARTS.log(
        (sink.name, spec.name),
        logging.WARNING,
        "%s: %s stream: unreadable part skipped: %s",
        sink.name,
        spec.name,
        e,
        kind="bad part",
    )


async def _stream(
    spec: StreamSpec, sink: StreamSink, detector: EdgeDetector, mark_up: Callable[[], None]
) -> None:
    from recorderd.protocol.multipart import MultipartReader, Part, Truncated, parse_boundary

    http = sink.http
    read_timeout = sink.read_timeout
    async with http.stream(spec.path, spec.params, port=spec.port, read_timeout=read_timeout) as resp:
        what = f"{spec.name} stream"
        ctype = resp.headers.get("content-type", "")
        mark_up()
        if spec.resync is not None:
            r_path, r_params, r_parse = spec.resync

            async def resync() -> None:
                try:
                    text, _ = await http.get_text(r_path, r_params)
                except CameraError as e:
                    log.info("%s: %s state query failed: %s", sink.name, spec.name, e)
                    return
                sink.samples(r_parse(text), detector)

            sink.spawn(resync)
        if spec.kind == "audio":
            await _audio(sink, resp, ctype, what)
            return
        reader = MultipartReader(parse_boundary(ctype), max_part_size=sink.max_part_size)
        kind = spec.kind
        parse = spec.parse
        count_bytes = sink.count_bytes
        feed = reader.feed
        progress = _Progress(read_timeout)

        last_at = trio.current_time()

        def handle(chunk: bytes, at: float) -> None:  # synchronous: the engine's ReadMux may call it
            nonlocal last_at
            count_bytes(len(chunk))
            got = False
            parts = [item for item in feed(chunk) if isinstance(item, Part)]  # others: resynchronised
            # several frames in one read (read on the mux's cadence): spread evenly since the last
            # read, the last one at this read's arrival time
            step = (at - last_at) / len(parts) if len(parts) > 1 and at > last_at else 0.0
            for i, item in enumerate(parts):
                got = True
                if kind == "video":
                    sink.video(item.body, at - step * (len(parts) - 1 - i))
                if parse is not None:
                    try:
                        samples = parse(item)
                    except ProtocolError as e:
                        _bad_part(sink, spec, e)  # one garbled part is skipped, the stream kept
                        continue
                    sink.samples(samples, detector)
            last_at = at
            if got:
                progress.made()

        with progress.scope:
            # frames that are only recorded can wait for the mux's next pass; events cannot
            await _pump(http, resp, what, handle, urgent=kind != "video" or parse is not None)
        path = resp.request.url.path
        if progress.scope.cancelled_caught:
            raise CameraError("timeout", f"GET {path}: no complete part within {read_timeout:g}s (stalled)")
        for item in reader.close():
            if isinstance(item, Truncated):
                raise CameraError(
                    "reset", f"GET {path}: camera closed the stream mid-part ({item.size} bytes lost)"
                )


async def _audio(sink: StreamSink, resp: httpx.Response, ctype: str, what: str) -> None:
    """Seed 001/002 audio, singlepart (240-byte blocks) or multipart (a codec per part)."""
    from recorderd.protocol.audio import AudioData, open_audio_reader

    reader = open_audio_reader(ctype, max_part_size=sink.max_part_size)
    progress = _Progress(sink.read_timeout)

    def handle(chunk: bytes, at: float) -> None:  # synchronous: the engine's ReadMux may call it
        sink.count_bytes(len(chunk))
        for item in reader.feed(chunk):
            if isinstance(item, AudioData):
                sink.audio(item.data, item.codec.mime, at)  # timed by its samples in the file
                progress.made()

    with progress.scope:
        await _pump(sink.http, resp, what, handle, urgent=False)
    if progress.scope.cancelled_caught:
        raise CameraError(
            "timeout", f"GET {resp.request.url.path}: no audio within {sink.read_timeout:g}s (stalled)"
        )


async def _pump(
    http: CameraHttp, resp: httpx.Response, what: str, handle: Callable[[bytes, float], None], *, urgent: bool
) -> None:
    """Every chunk of the body to `handle`, until it ends: from the engine's ReadMux (one task for
    all cameras' sockets; on its cadence unless `urgent`) when it can take the socket, else here."""
    body = http.body(resp, what)
    mux = http.mux
    while True:
        if mux is not None and body.followable:
            if await body.follow(mux, handle, urgent=urgent):
                return  # the body ended
            mux = None  # the mux stopped: read here
        chunk = await body.read()
        if not chunk:
            return
        handle(chunk, trio.current_time())


class _Progress:
    """The stream's liveness deadline: cancelled when no complete part came for `timeout` seconds.

    A stream that drips bytes without completing a part is stalled too, and a silent one is caught
    the same way (the direct socket reads have no timeout of their own). Moving a trio deadline has
    a cost (a heap entry), so it is moved at most every `timeout / 8`: the stream is then given up
    between `timeout` and `timeout * 9/8` after its last part.
    """

    __slots__ = ("_next", "scope", "slack", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.slack = timeout / 8
        now = trio.current_time()
        self.scope = trio.CancelScope(deadline=now + timeout + self.slack)
        self._next = now + self.slack

    def made(self) -> None:
        now = trio.current_time()
        if now >= self._next:
            self.scope.deadline = now + self.timeout + self.slack
            self._next = now + self.slack
