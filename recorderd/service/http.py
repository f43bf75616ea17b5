"""The local HTTP endpoint: health, Prometheus metrics, status JSON, snapshots, manual trigger, armed.

Served by hypercorn on trio (starlette routes the requests; both are maintained and run on trio through
anyio). The daemon plugs in through the `Control` protocol, so this module knows nothing of cameras.
"""

from __future__ import annotations

import hmac
import logging
import socket
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)
ArmedMode = Literal["on", "off", "auto"]


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
    async def trigger(self, camera: str) -> str: ...
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
            (CounterMetricFamily, "dropped", "events dropped for slow consumers", lambda c: c.dropped),
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


def build_app(control: Control, token: str | None = None, ui: Extension | None = None) -> Starlette:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(control))

    def authorized(request: Request) -> bool:
        if not token:
            return True
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
        return not given and ui is not None and ui.authorized(request)

    def guard(handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            if not authorized(request):
                return JSONResponse(
                    {"error": "missing or wrong bearer token"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            camera = request.path_params.get("camera")
            if camera is not None and camera not in control.cameras():
                return JSONResponse({"error": f"unknown camera {camera!r}"}, status_code=404)
            result: Response = await handler(request)
            return result

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
        if jpeg is None:
            return JSONResponse(
                {"error": "no picture: no video frame and no snapshot from the camera"}, status_code=404
            )
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def trigger(request: Request) -> Response:
        incident = await control.trigger(request.path_params["camera"])
        return JSONResponse({"incident": incident}, status_code=202)

    async def armed(request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace").strip()
        if body.startswith("{"):
            try:
                body = str((await request.json()).get("armed", ""))
            except ValueError:
                body = ""
        mode = body.lower()
        if mode not in ("on", "off", "auto"):
            return JSONResponse({"error": 'expected "ON", "OFF" or "AUTO"'}, status_code=400)
        control.set_armed(request.path_params["camera"], mode)  # type: ignore[arg-type]
        return JSONResponse({"camera": request.path_params["camera"], "armed": mode})

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", guard(metrics)),
        Route("/api/status", guard(status)),
        Route("/api/cameras/{camera}/snapshot.jpg", guard(snapshot)),
        Route("/api/cameras/{camera}/trigger", guard(trigger), methods=["POST"]),
        Route("/api/cameras/{camera}/armed", guard(armed), methods=["POST", "PUT"]),
    ]
    if ui is not None:
        routes += ui.routes(guard)
    return Starlette(routes=routes)


async def serve_http(
    control: Control,
    listen: str,
    token: str | None = None,
    *,
    ui: Extension | None = None,
    sock: socket.socket | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; `nursery.start()` returns the bound addresses (useful with port 0).
    `sock`: a socket bound to `listen` already (service/listen.py), which the server takes over."""
    config = HypercornConfig()
    config.bind = [f"fd://{sock.detach()}"] if sock is not None else [listen]
    config.accesslog = None
    config.errorlog = logging.getLogger("recorderd.http")
    config.graceful_timeout = 1.0
    await serve(build_app(control, token, ui), config, task_status=task_status)  # type: ignore[arg-type]
