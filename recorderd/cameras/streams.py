"""What a dialect asks to open, and the loop that keeps each stream open.

A dialect driver returns `StreamSpec`s: which URL, what kind of body, and how a part or a poll answer
turns into trigger samples. `run_stream` keeps one stream connected for the camera's lifetime:
connect, check what came (204, the Content-Type), read with the stream's liveness method
(recorderd.cameras.liveness), report each attempt, success and failure, back off with jitter.

A stream is *up* only once it delivered something valid on this connection: a part (video), an
audio block, an event part or a state-query answer that could be read. A 200 alone is not up.

Every parse of camera input is survivable: a part or answer that cannot be read (or only partly:
`PartlyRead`) is logged at most once a minute per camera, stream and kind of answer, counted, and
skipped (what could be read still counts); no camera input ends a stream task, let alone a camera.

Per-frame cost is kept small on purpose (bench/bench_cost.py measures it): one network read per
chunk (up to 64 KiB, straight from the socket once httpx has the headers: `CameraHttp.body`; in the
engine the ReadMux reads all cameras' sockets in one task, so a frame wakes no stream task), one
multipart feed, each part's body handed on; the liveness deadline moves at most every
read_timeout/8; no logging per frame.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import trio

from recorderd.cameras.http import CameraError
from recorderd.cameras.liveness import (
    AUTH_CAP,
    RECENT,
    RECENT_CAP,
    REFUSED_RETRY,
    RETRY_BASE,
    RETRY_CAP,
    Liveness,
    set_keepalive,
)
from recorderd.core.backoff import Backoff
from recorderd.core.ratelog import RateLimitedLog
from recorderd.protocol.errors import PartlyRead, ProtocolError
from recorderd.protocol.events import EdgeDetector, TriggerSample

if TYPE_CHECKING:
    import httpx

    from recorderd.cameras.http import CameraHttp

log = logging.getLogger("recorderd.cameras")
STOPPED = "stopped"  # the reason given to stream_down when the camera's tasks are cancelled

StreamKind = Literal["video", "audio", "events", "poll"]
LivenessMethod = Literal["deadline", "keepalive", "poll"]

# answers that name the request as wrong: asking again soon gives the same answer
_REFUSING_STATUS = frozenset({400, 403, 404, 405, 406, 410, 501})
# a state query that failed like this twice in a row: the camera is not answering
_NETWORK_KINDS = frozenset({"refused", "reset", "timeout", "dead", "network"})


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
    headers, as IPCamCGI's `Date:` line, §4.1.2). "audio": singlepart or multipart audio. "events": multipart
    text parts, `parse` gives samples. "poll": a GET every `interval` seconds, `parse_text` gives
    samples. `resync` is a GET that asks the current state: after every (re)connect, and for event
    streams every `Liveness.resync_every` seconds as well. `no_content` says what a 204 No Content
    answer means for this stream (the driver knows its dialect's reason).
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
    no_content: str = "the camera has nothing to send on this stream"

    @property
    def liveness(self) -> LivenessMethod:
        """Video and audio must flow (a read deadline); event monitors may be quiet (keepalive)."""
        if self.kind == "poll":
            return "poll"
        return "keepalive" if self.kind == "events" else "deadline"


@dataclass(frozen=True)
class StreamFailure:
    """An attempt that ended: what happened, whether the camera refused, and when to try again."""

    kind: str  # CameraError kinds (recorderd.cameras.http)
    message: str
    retry_in: float
    refused: bool
    was_up: bool


class StreamSink(Protocol):
    """The camera runtime, as the stream loops see it."""

    name: str
    http: CameraHttp
    read_timeout: float
    max_part_size: int
    liveness: Liveness

    @property
    def stats(self) -> _Counts: ...

    def stream_connecting(self, spec: StreamSpec) -> None: ...
    def stream_up(self, spec: StreamSpec) -> None: ...
    def stream_failed(self, spec: StreamSpec, failure: StreamFailure) -> None: ...
    def stream_down(self, spec: StreamSpec, reason: str) -> None: ...
    def stream_unreadable(self, spec: StreamSpec) -> None: ...
    def retry_event(self) -> trio.Event: ...
    def video(self, data: bytes, at: float) -> None: ...
    def watched(self) -> bool: ...
    def audio(self, data: bytes, content_type: str, at: float) -> None: ...
    def samples(self, samples: list[TriggerSample], detector: EdgeDetector) -> None: ...
    def part_dropped(self) -> None: ...


class _Counts(Protocol):
    """The camera's counters the stream loops add to (bytes received)."""

    bytes: int


def refusal(e: CameraError) -> bool:
    """Whether the camera refused the stream as asked (asking again soon gives the same answer)."""
    return e.kind in ("no_content", "content_type") or (e.kind == "status" and e.status in _REFUSING_STATUS)


class _Run:
    """One stream's loop state across attempts: its edge detector, whether it is up now."""

    __slots__ = ("detector", "error", "first", "scope", "sink", "spec", "up")

    def __init__(self, spec: StreamSpec, sink: StreamSink) -> None:
        self.spec = spec
        self.sink = sink
        self.detector = EdgeDetector()
        self.first = True  # never up yet: the first states are real starts
        self.up = False
        self.error: CameraError | None = None  # set by a helper task that ends the attempt
        self.scope: trio.CancelScope | None = None

    def mark_up(self) -> None:
        if self.up:
            return
        self.up = True
        if not self.first:
            self.detector.reset()  # states kept but unconfirmed: a reconnect never fires by itself
        self.first = False
        self.sink.stream_up(self.spec)

    def fail(self, error: CameraError) -> None:
        """End the attempt from a helper task (a state query that found the camera gone)."""
        self.error = error
        if self.scope is not None:
            self.scope.cancel()

    def read(
        self, what: str, parse: Callable[[Any], list[TriggerSample]], data: Any
    ) -> list[TriggerSample] | None:
        """Samples from a part or an answer, or None when nothing could be read (logged, counted)."""
        try:
            return parse(data)
        except PartlyRead as e:
            self.unreadable(what, e)
            return list(e.result) or None
        except Exception as e:  # any camera input: a parser bug must not end the stream either
            self.unreadable(what, e)
            return None

    def unreadable(self, what: str, e: Exception) -> None:
        self.sink.stream_unreadable(self.spec)
        _bad_input(self.sink, self.spec, what, e)


async def run_stream(
    spec: StreamSpec, sink: StreamSink, *, backoff: Backoff | None = None, first_delay: float = 0.0
) -> None:
    """Keep the stream connected until cancelled."""
    backoff = backoff or Backoff(RETRY_BASE, RETRY_CAP, stable_after=max(10.0, sink.read_timeout))
    slow = Backoff(REFUSED_RETRY, REFUSED_RETRY, jitter=0.2)  # refusals: every 4 to 5 minutes
    run = _Run(spec, sink)
    last_up: float | None = None
    if first_delay > 0:
        await trio.sleep(first_delay)
    while True:
        started = trio.current_time()
        run.up = False
        run.error = None
        sink.stream_connecting(spec)
        try:
            await (_poll(run) if spec.kind == "poll" else _stream(run))
            raise AssertionError("a stream ends with an error")  # pragma: no cover
        except CameraError as e:
            error = e
        except ProtocolError as e:
            error = CameraError("protocol", f"{spec.name} stream: {e}")
        except trio.Cancelled:
            if run.up:  # the camera is stopped (shutdown, reload): not a fault
                with trio.CancelScope(shield=True):
                    sink.stream_down(spec, STOPPED)
            raise
        now = trio.current_time()
        if run.up:
            last_up = now
        backoff.ended(now - started if run.up else 0.0)
        refused = refusal(error)
        if refused:
            delay = slow.next_delay()
        else:
            slow.reset()
            recent = last_up is not None and now - last_up < RECENT
            cap = AUTH_CAP if error.kind == "auth" else RECENT_CAP if recent else RETRY_CAP
            delay = backoff.next_delay(cap)
        sink.stream_failed(spec, StreamFailure(error.kind, str(error), delay, refused, run.up))
        with trio.move_on_after(delay):
            await sink.retry_event().wait()  # a config reload asks again at once


async def _poll(run: _Run) -> None:
    spec, sink = run.spec, run.sink
    assert spec.parse_text is not None
    next_at = trio.current_time()
    while True:
        body, _ = await sink.http.get_text(spec.path, spec.params)
        sink.stats.bytes += len(body)
        samples = run.read("answer", spec.parse_text, body)
        if samples:
            run.mark_up()
            sink.samples(samples, run.detector)
        elif samples is not None:  # read, but no state in it (an HTML page, an error text)
            run.unreadable("answer", ProtocolError("no trigger state in the answer"))
        next_at = max(next_at + spec.interval, trio.current_time())  # no burst to catch up
        await trio.sleep_until(next_at)


# bound: one key per camera, stream and kind of input (a few per camera); least recently used first
_BAD_INPUT = RateLimitedLog(log, every=60.0, max_keys=4096)


def _bad_input(sink: StreamSink, spec: StreamSpec, what: str, e: Exception) -> None:
    """Log an unreadable part or answer at most once a minute per camera, stream and kind."""
    why = str(e) if isinstance(e, ProtocolError) else f"{type(e).__name__} while reading it"
    _BAD_INPUT.log(
        (sink.name, spec.name, what),
        logging.WARNING,
        "%s: %s stream: unreadable %s skipped: %s",
        sink.name,
        spec.name,
        what,
        why,
        kind=what,
    )


_SOI = b"\xff\xd8"
_JPEG_TYPES = frozenset({"", "image/jpeg", "image/jpg", "image/pjpeg"})


def _dropped(sink: StreamSink, spec: StreamSpec, reason: str) -> None:
    """A part skipped (oversize, garbage, not a JPEG on a video stream): counted, and logged at
    most once a minute per camera stream."""
    sink.part_dropped()
    _BAD_INPUT.log(
        (sink.name, spec.name, "drop"),
        logging.WARNING,
        "%s: %s stream: part dropped: %s",
        sink.name,
        spec.name,
        reason[:80],
        kind="part dropped",  # one kind: a camera varying its reasons still gets a line a minute
    )


def _check_type(spec: StreamSpec, ctype: str, what: str) -> None:
    """A body that is not the stream asked for is a refusal (an HTML login page, a snapshot URL)."""
    mime = ctype.split(";", 1)[0].strip().lower()
    if not mime or spec.kind == "audio":  # no type: read on; audio types: open_audio_reader decides
        return
    if not mime.startswith("multipart/"):
        raise CameraError("content_type", f"{what}: not a multipart stream ({mime[:60]})")


async def _stream(run: _Run) -> None:
    spec, sink = run.spec, run.sink
    http = sink.http
    quiet = spec.liveness == "keepalive"
    async with http.stream(
        spec.path, spec.params, port=spec.port, read_timeout=sink.read_timeout, quiet=quiet
    ) as resp:
        what = f"GET {resp.request.url.path}"
        if resp.status_code == 204:
            raise CameraError("no_content", f"{what} answered 204 No Content: {spec.no_content}", status=204)
        ctype = resp.headers.get("content-type", "")
        _check_type(spec, ctype, what)
        set_keepalive(resp, sink.liveness)  # a dead peer ends even a quiet stream
        if spec.resync is None:
            await _body(run, resp, ctype, what)
            return
        run.scope = trio.CancelScope()
        failure: CameraError | ProtocolError | None = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_resync, run, sink.liveness.resync_every if quiet else 0.0)
            try:
                with run.scope:
                    await _body(run, resp, ctype, what)
            except (CameraError, ProtocolError) as e:
                failure = e
            nursery.cancel_scope.cancel()
        if failure is not None:
            raise failure
        if run.error is not None:
            raise run.error


async def _body(run: _Run, resp: httpx.Response, ctype: str, what: str) -> None:
    """Read the body until it fails (CameraError, ProtocolError) or ends (CameraError "closed")."""
    try:
        if run.spec.kind == "audio":
            await _audio(run, resp, ctype, what)
        else:
            await _multipart(run, resp, ctype, what)
    except CameraError as e:
        if e.kind == "timeout":  # httpx's read timeout on the first chunk: the same as the deadline
            raise _stalled(run, what) from None
        raise
    raise CameraError("closed", f"{what}: the camera closed the stream")


def _stalled(run: _Run, what: str) -> CameraError:
    t = f"{run.sink.read_timeout:g} s"
    kind = run.spec.kind
    said = "no frame" if kind == "video" else "no audio" if kind == "audio" else "no complete part"
    return CameraError("stalled", f"{what}: {said} within {t}")


async def _resync(run: _Run, every: float) -> None:
    """Ask the current state after a connect (and every `every` seconds when > 0). A valid answer
    counts as the stream being up (a quiet monitor may say nothing until a change). Two network
    failures in a row end the attempt: the camera is not answering."""
    spec, sink = run.spec, run.sink
    assert spec.resync is not None
    path, params, parse = spec.resync
    failed = 0
    while True:
        try:
            text, _ = await sink.http.get_text(path, params)
        except CameraError as e:
            failed = failed + 1 if e.kind in _NETWORK_KINDS else 0
            if failed >= 2:
                run.fail(CameraError(e.kind, f"{spec.name} stream: state query failed twice: {e}"))
                return
            log.info("%s: %s state query failed: %s", sink.name, spec.name, e)
            if e.kind not in _NETWORK_KINDS:
                return  # the camera does not answer this query: the monitor alone goes on
        else:
            failed = 0
            samples = run.read("state query answer", parse, text)
            if samples:
                run.mark_up()
                sink.samples(samples, run.detector)
        if every <= 0:
            return
        await trio.sleep(every)


async def _multipart(run: _Run, resp: httpx.Response, ctype: str, what: str) -> None:
    from recorderd.protocol.multipart import MultipartReader, Part, PartDropped, Truncated, parse_boundary

    spec, sink = run.spec, run.sink
    reader = MultipartReader(parse_boundary(ctype), max_part_size=sink.max_part_size)
    video = spec.kind == "video"
    parse = spec.parse
    feed = reader.feed
    detector = run.detector
    progress = _Progress(sink.read_timeout) if spec.liveness == "deadline" else None

    last_at = trio.current_time()

    stats = sink.stats
    on_video = sink.video
    # frames that are only recorded can wait for the mux's next pass; events cannot, nor frames
    # someone watches live (the mux asks `watched` at each pass and read)
    urgent = not video or parse is not None
    # an event's part, complete by its Content-Length, is taken at once: a camera that sends the
    # delimiter before each part (MOVE eventdata) sends it only with the next event
    held = reader.held if urgent else None

    def handle(chunk: bytes, at: float) -> None:  # synchronous: the engine's ReadMux may call it
        nonlocal last_at
        if at < last_at:
            at = last_at  # never before the previous read: frames keep their order
        stats.bytes += len(chunk)
        parts: list[Part] = []
        items = feed(chunk)
        if held is not None:
            items += held()
        for item in items:
            if type(item) is Part:
                # a frame is a JPEG: an HTML page or text is never one (nor served as snapshot.jpg)
                if not video or (
                    item.body.startswith(_SOI)
                    and (item.headers.get("content-type") == "image/jpeg" or item.mime in _JPEG_TYPES)
                ):
                    parts.append(item)
                else:
                    _dropped(sink, spec, f"not a JPEG ({item.mime[:40] or 'no Content-Type'})")
            elif isinstance(item, PartDropped):  # too large or garbage: the reader resynchronised
                _dropped(sink, spec, item.reason)
        if not parts:
            last_at = at
            return
        if video and not run.up:
            run.mark_up()
        n = len(parts)
        if video:
            if n == 1:
                on_video(parts[0].body, at)
            else:  # several frames in one read (on the mux's cadence)
                for item, t in zip(parts, _spread(at, last_at, n), strict=True):
                    on_video(item.body, t)
        got = video
        if parse is not None:
            for item in parts:
                # the values that could be read still count; a garbled part is skipped
                samples = run.read("part", parse, item)
                if samples is None:
                    continue
                if not got:
                    got = True
                    if not run.up:
                        run.mark_up()
                if samples:
                    sink.samples(samples, detector)
        last_at = at
        if got and progress is not None:
            progress.made(at)

    watched = sink.watched if video and not urgent else None
    if progress is None:
        await _pump(sink.http, resp, what, handle, urgent=urgent, watched=watched)
    else:
        with progress.scope:
            await _pump(sink.http, resp, what, handle, urgent=urgent, watched=watched)
        if progress.scope.cancelled_caught:
            raise _stalled(run, what)
    for item in reader.close():
        if isinstance(item, Truncated):
            raise CameraError("reset", f"{what}: camera closed the stream mid-part ({item.size} bytes lost)")


async def _audio(run: _Run, resp: httpx.Response, ctype: str, what: str) -> None:
    """Open API/VAPIX audio, singlepart (240-byte blocks) or multipart (a codec per part)."""
    from recorderd.protocol.audio import AudioData, open_audio_reader

    sink = run.sink
    try:
        reader = open_audio_reader(ctype, max_part_size=sink.max_part_size)
    except ProtocolError:
        raise CameraError("content_type", f"{what}: not an audio stream ({ctype[:60]})") from None
    progress = _Progress(sink.read_timeout)

    last_at = trio.current_time()

    def handle(chunk: bytes, at: float) -> None:  # synchronous: the engine's ReadMux may call it
        nonlocal last_at
        at = max(at, last_at)
        sink.stats.bytes += len(chunk)
        blocks = [item for item in reader.feed(chunk) if isinstance(item, AudioData)]
        if not blocks:
            return
        if not run.up:
            run.mark_up()
        # the file times blocks by their samples, from arrival times that stay close to it
        for item, t in zip(blocks, _spread(at, last_at, len(blocks)), strict=True):
            sink.audio(item.data, item.codec.mime, t)
        last_at = at
        progress.made(at)

    with progress.scope:  # paced: audio and video of one camera must not drift apart in a pass
        await _pump(sink.http, resp, what, handle, urgent=False, paced=True)
    if progress.scope.cancelled_caught:
        raise _stalled(run, what)


def _spread(at: float, since: float, n: int) -> list[float]:
    """Arrival times of `n` items that one read at `at` took together (on the mux's cadence): spread
    evenly since the previous read at `since`, the last at `at`, in their order."""
    step = (at - since) / n
    return [at - step * (n - 1 - i) for i in range(n)]


async def _pump(
    http: CameraHttp,
    resp: httpx.Response,
    what: str,
    handle: Callable[[bytes, float], None],
    *,
    urgent: bool,
    watched: Callable[[], bool] | None = None,
    paced: bool = False,
) -> None:
    """Every chunk of the body to `handle`, until it ends: from the engine's ReadMux (one task for
    all cameras' sockets; on its cadence unless `urgent`) when it can take the socket, else here."""
    body = http.body(resp, what)
    mux = http.mux
    while True:
        if mux is not None and body.followable:
            if await body.follow(mux, handle, urgent=urgent, watched=watched, paced=paced):
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

    def made(self, now: float) -> None:
        """Progress at `now` (trio's clock: the handler's time, one clock read less per frame)."""
        if now >= self._next:
            self.scope.deadline = now + self.timeout + self.slack
            self._next = now + self.slack
