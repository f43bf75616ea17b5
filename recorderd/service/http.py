"""The local HTTP endpoint: health, Prometheus metrics, status JSON, snapshots, manual trigger, armed.

Served by hypercorn on trio (starlette routes the requests; both are maintained and run on trio through
anyio). The daemon plugs in through the `Control` protocol, so this module knows nothing of cameras.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import trio
from hypercorn.config import Config as HypercornConfig
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic_core import PydanticCustomError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recorderd.config.model import MAX_MANUAL_S
from recorderd.config.units import parse_duration
from recorderd.core.events import ArmedMode
from recorderd.service.guard import Guard
from recorderd.service.httpserve import DEFAULT_MAX_CONNECTIONS, serve_capped

log = logging.getLogger(__name__)
_ARMED_MODES: dict[str, ArmedMode] = {"on": "on", "off": "off", "auto": "auto"}


@dataclass
class StreamMetrics:
    up: bool = False
    refused: bool = False
    failures: dict[str, int] = field(default_factory=dict)  # failed attempts by reason
    unreadable: int = 0  # parts or answers skipped as unreadable
    last_success: float = 0.0  # unix time the stream last worked (now while up; 0: never)


@dataclass
class CameraMetrics:
    connected: bool = False
    fps: float = 0.0
    frames: int = 0
    bytes: int = 0
    reconnects: int = 0
    incidents: int = 0
    dropped: int = 0
    parts_dropped: int = 0
    flapping: bool = False
    storms: int = 0
    clock_skew: float | None = None  # seconds the camera's clock is ahead (None: not read)
    streams: dict[str, StreamMetrics] = field(default_factory=dict)


@dataclass
class MetricsSnapshot:
    cameras: dict[str, CameraMetrics] = field(default_factory=dict)
    outbox_depth: dict[str, int] = field(default_factory=dict)
    disk_total_bytes: int = 0
    disk_free_bytes: int = 0
    recordings_bytes: int = 0


class Control(Protocol):
    """What the daemon offers the endpoint."""

    def healthy(self) -> bool: ...
    def not_ready(self) -> list[str]: ...
    def status(self) -> dict[str, Any]: ...
    def metrics(self) -> MetricsSnapshot: ...
    def cameras(self) -> Collection[str]: ...
    async def snapshot(self, camera: str) -> bytes | None: ...
    async def trigger(self, camera: str, duration: float | None = None) -> str: ...
    def set_armed(self, camera: str, mode: ArmedMode) -> None: ...


Handler = Callable[[Request], Awaitable[Response]]


class Extension(Protocol):
    """More routes on the same endpoint (the web UI, recorderd/web): `routes(guard)` wraps the ones
    that need authorization in the endpoint's guard; `authorized` admits a request by the
    extension's own means (a session cookie with its CSRF token) where no bearer token is given."""

    def routes(self, guard: Callable[[Handler], Handler]) -> Sequence[BaseRoute]: ...
    def authorized(self, request: Request) -> bool: ...


class _Collector(Collector):
    """Reads a fresh snapshot at every scrape: no second set of counters to keep in step."""

    def __init__(self, control: Control) -> None:
        self.control = control

    def collect(self) -> Iterator[Metric]:
        snap = self.control.metrics()
        Family = type[GaugeMetricFamily] | type[CounterMetricFamily]
        per_camera: list[tuple[Family, str, str, Callable[[CameraMetrics], float]]] = [
            (
                GaugeMetricFamily,
                "connected",
                "1 while the camera's streams are connected",
                lambda c: float(c.connected),
            ),
            (GaugeMetricFamily, "fps", "video frames per second over the last seconds", lambda c: c.fps),
            # counters are exposed as <name>_total, as Prometheus expects of them
            (CounterMetricFamily, "frames", "video frames received", lambda c: c.frames),
            (CounterMetricFamily, "bytes", "bytes received from the camera", lambda c: c.bytes),
            (CounterMetricFamily, "reconnects", "stream reconnects", lambda c: c.reconnects),
            (CounterMetricFamily, "incidents", "incidents started", lambda c: c.incidents),
            (CounterMetricFamily, "dropped", "frames dropped for a full recorder", lambda c: c.dropped),
            (
                CounterMetricFamily,
                "parts_dropped",
                "stream parts skipped: oversize, garbage, not a JPEG on a video stream",
                lambda c: c.parts_dropped,
            ),
            (
                GaugeMetricFamily,
                "flapping",
                "1 while an incident covers a storm (the incident rate limit was reached)",
                lambda c: float(c.flapping),
            ),
            (CounterMetricFamily, "storms", "storms (flapping incidents) so far", lambda c: c.storms),
        ]
        for kind, name, doc, get in per_camera:
            fam = kind(f"recorderd_camera_{name}", doc, labels=["camera"])
            for cam, m in sorted(snap.cameras.items()):
                fam.add_metric([cam], get(m))
            yield fam
        skew = GaugeMetricFamily(
            "recorderd_camera_clock_skew_seconds",
            "the camera's clock minus this host's, at its last reading",
            labels=["camera"],
        )
        for cam, m in sorted(snap.cameras.items()):
            if m.clock_skew is not None:
                skew.add_metric([cam], m.clock_skew)
        yield skew
        yield from _stream_families(snap)
        depth = GaugeMetricFamily("recorderd_outbox_depth", "actions waiting per target", labels=["target"])
        for target, n in sorted(snap.outbox_depth.items()):
            depth.add_metric([target], n)
        yield depth
        yield GaugeMetricFamily(
            "recorderd_disk_total_bytes", "size of the recordings filesystem", value=snap.disk_total_bytes
        )
        yield GaugeMetricFamily(
            "recorderd_disk_free_bytes", "free bytes on the recordings filesystem", value=snap.disk_free_bytes
        )
        yield GaugeMetricFamily(
            "recorderd_recordings_bytes", "bytes of recordings kept", value=snap.recordings_bytes
        )


def _stream_families(snap: MetricsSnapshot) -> Iterator[Metric]:
    """Per camera stream: up, refused, failed attempts by reason, unreadable input, last success."""
    labels = ["camera", "stream"]
    up = GaugeMetricFamily("recorderd_camera_stream_up", "1 while the stream delivers", labels=labels)
    refused = GaugeMetricFamily(
        "recorderd_camera_stream_refused", "1 while the camera refuses the stream as asked", labels=labels
    )
    failures = CounterMetricFamily(
        "recorderd_camera_stream_failures", "failed attempts by reason", labels=[*labels, "reason"]
    )
    unreadable = CounterMetricFamily(
        "recorderd_camera_stream_unreadable", "parts or answers skipped as unreadable", labels=labels
    )
    last = GaugeMetricFamily(
        "recorderd_camera_stream_last_success_seconds",
        "unix time the stream last worked (0: never)",
        labels=labels,
    )
    for cam, m in sorted(snap.cameras.items()):
        for name, st in sorted(m.streams.items()):
            up.add_metric([cam, name], float(st.up))
            refused.add_metric([cam, name], float(st.refused))
            for reason, n in sorted(st.failures.items()):
                failures.add_metric([cam, name, reason], n)
            unreadable.add_metric([cam, name], st.unreadable)
            last.add_metric([cam, name], st.last_success)
    yield from (up, refused, failures, unreadable, last)


# bound: a request body (armed, trigger) is a few bytes; more is refused with 413
MAX_BODY = 4096
BODY_TIMEOUT = 10.0  # a body that has not arrived in this time: 408 (a client at 1 byte/s)
KEEP_ALIVE = 5.0  # an idle connection, or one whose request head has not come, is closed after this
# every answer: never sniffed into another type (a snapshot is image/jpeg and nothing else),
# never cached, never framed by another site
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}


class BodyRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request's body, at most `limit` bytes within BODY_TIMEOUT; else BodyRefused."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyRefused(413, f"request body larger than {limit} bytes")
    buf = bytearray()
    with trio.move_on_after(BODY_TIMEOUT) as scope:
        async for chunk in request.stream():
            buf += chunk
            if len(buf) > limit:
                raise BodyRefused(413, f"request body larger than {limit} bytes")
    if scope.cancelled_caught:
        raise BodyRefused(408, f"request body not received within {BODY_TIMEOUT:g}s")
    return bytes(buf)


def _trigger_duration(body: bytes, query: Mapping[str, str]) -> float | None:
    """The optional duration of a manual trigger: `?duration=30s` or `{"duration": "30s"}` (or a
    number of seconds); ValueError with a message for a bad one."""
    raw: object = query.get("duration")
    text = body.decode("utf-8", "replace").strip()
    if raw is None and text:
        try:
            doc = json.loads(text)
        except ValueError:
            raise ValueError('expected a JSON body like {"duration": "30s"}') from None
        if not isinstance(doc, dict) or set(doc) - {"duration"}:
            raise ValueError('expected a JSON body like {"duration": "30s"}')
        raw = doc.get("duration")
    if raw is None:
        return None
    try:
        seconds = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        if seconds is None:
            seconds = parse_duration(raw)
    except (ValueError, PydanticCustomError):
        raise ValueError(f'duration: expected a duration like "30s", got {str(raw)[:40]!r}') from None
    if not 0 < seconds <= MAX_MANUAL_S:
        raise ValueError(f"duration: must be more than 0s and at most {MAX_MANUAL_S:g}s")
    return seconds


def _error(status: int, reason: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status, headers=headers or None)


def build_app(control: Control, token: str | None = None, ui: Extension | None = None) -> ASGIApp:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(control))
    guard = Guard(token)

    def guarded(handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            headers = {k.lower(): v for k, v in request.headers.items()}
            denied = guard.check(request.method, request.url.path, request.url.scheme, headers)
            if (
                denied is not None
                and denied.status == 401
                and not headers.get("authorization")
                and ui is not None
                and ui.authorized(request)  # the web UI's session cookie (and CSRF token for changes)
            ):
                denied = None
            if denied is not None:
                extra = {"WWW-Authenticate": "Bearer"} if denied.status == 401 else {}
                return _error(denied.status, denied.reason, **extra)
            camera = request.path_params.get("camera")
            if camera is not None and camera not in control.cameras():
                return _error(404, f"unknown camera {camera[:64]!r}")
            try:
                return await handler(request)
            except BodyRefused as e:
                return _error(e.status, str(e))

        return wrapped

    async def healthz(request: Request) -> Response:
        ok = control.healthy()
        return PlainTextResponse("ok\n" if ok else "unhealthy\n", status_code=200 if ok else 503)

    async def readyz(request: Request) -> Response:
        # no token, as /healthz: probes carry none; the reasons give counts, never names
        waiting = control.not_ready()
        if waiting:
            return PlainTextResponse(f"not ready: {'; '.join(waiting)}\n", status_code=503)
        return PlainTextResponse("ready\n")

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def status(request: Request) -> Response:
        return JSONResponse(control.status())

    async def snapshot(request: Request) -> Response:
        jpeg = await control.snapshot(request.path_params["camera"])
        if jpeg is None or not jpeg.startswith(b"\xff\xd8"):
            return _error(404, "no picture: no video frame and no snapshot from the camera")
        return Response(jpeg, media_type="image/jpeg")

    async def trigger(request: Request) -> Response:
        body = await read_body(request)
        try:
            duration = _trigger_duration(body, request.query_params)
        except ValueError as e:
            return _error(400, str(e))
        incident = await control.trigger(request.path_params["camera"], duration)
        return JSONResponse({"incident": incident}, status_code=202)

    async def armed(request: Request) -> Response:
        text = (await read_body(request)).decode("utf-8", "replace").strip()
        if text.startswith("{"):
            try:
                doc = json.loads(text)
                text = str(doc.get("armed", "")) if isinstance(doc, dict) else ""
            except ValueError:
                text = ""
        mode = _ARMED_MODES.get(text.lower())
        if mode is None:
            return _error(400, 'expected "ON", "OFF" or "AUTO"')
        control.set_armed(request.path_params["camera"], mode)
        return JSONResponse({"camera": request.path_params["camera"], "armed": mode})

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", guarded(metrics)),
        Route("/api/status", guarded(status)),
        Route("/api/cameras/{camera}/snapshot.jpg", guarded(snapshot)),
        Route("/api/cameras/{camera}/trigger", guarded(trigger), methods=["POST"]),
        Route("/api/cameras/{camera}/armed", guarded(armed), methods=["POST", "PUT"]),
    ]
    if ui is not None:
        routes += ui.routes(guarded)
    return _with_headers(Starlette(routes=routes), SECURITY_HEADERS)


def _with_headers(app: ASGIApp, extra: Mapping[str, str]) -> ASGIApp:
    """Every HTTP answer of `app` with the `extra` headers it does not set itself (the router's 404s
    and 405s included; the web UI's pages keep their own policy)."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {bytes(k).lower() for k, _ in headers}
                message = {**message, "headers": headers + [(k, v) for k, v in raw if k not in have]}
            await send(message)

        await app(scope, receive, send_with)

    return wrapped


async def serve_http(
    control: Control,
    listen: str,
    token: str | None = None,
    *,
    ui: Extension | None = None,
    sock: socket.socket | None = None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; `nursery.start()` returns the bound addresses (useful with port 0).
    `sock`: a socket bound to `listen` already (service/listen.py), which the server takes over.
    At most `max_connections` are open at once (recorderd/service/httpserve.py)."""
    config = HypercornConfig()
    config.bind = [f"fd://{sock.detach()}"] if sock is not None else [listen]
    config.accesslog = None
    config.errorlog = logging.getLogger("recorderd.http")
    config.graceful_timeout = 1.0
    # a request's head must be complete within keep_alive_timeout (the connection counts as
    # idle until it is); a body within BODY_TIMEOUT (read_body). No read_timeout: hypercorn
    # applies it to every read of the connection, also while a response streams, and a live view
    # or an event page, whose client sends nothing, was cut after 10 s
    config.keep_alive_timeout = KEEP_ALIVE
    config.read_timeout = None
    config.h11_max_incomplete_size = 16 * 1024  # bound: one request's head
    config.include_server_header = False
    app = build_app(control, token, ui)
    await serve_capped(app, config, max_connections, task_status=task_status)
