"""The status/metrics endpoint over real HTTP (hypercorn on trio), with a small in-test daemon core."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Collection
from typing import Any

import httpx
import pytest
import trio

from recorderd.core.events import ArmedMode
from recorderd.service.http import CameraMetrics, MetricsSnapshot, serve_http

JPEG = b"\xff\xd8fake\xff\xd9"


class Core:
    """Stands in for the daemon: the endpoint's contract is the Control protocol."""

    def __init__(self) -> None:
        self.armed: dict[str, ArmedMode] = {"front": "auto", "yard": "auto"}
        self.triggered: list[str] = []
        self.durations: list[float | None] = []
        self.ok = True

    def healthy(self) -> bool:
        return self.ok

    def not_ready(self) -> list[str]:
        return [] if self.ok else ["1 of 2 cameras not connected"]

    def status(self) -> dict[str, Any]:
        return {"cameras": {c: {"armed": a} for c, a in self.armed.items()}}

    def metrics(self) -> MetricsSnapshot:
        return MetricsSnapshot(
            cameras={
                "front": CameraMetrics(connected=True, fps=10.0, frames=42, bytes=924000, reconnects=1),
                "yard": CameraMetrics(),
            },
            outbox_depth={"mail": 3},
            disk_total_bytes=1000,
            disk_free_bytes=400,
        )

    def cameras(self) -> Collection[str]:
        return self.armed.keys()

    async def snapshot(self, camera: str) -> bytes | None:
        return JPEG if camera == "front" else None

    async def trigger(self, camera: str, duration: float | None = None) -> str:
        self.triggered.append(camera)
        self.durations.append(duration)
        return f"manual-{len(self.triggered)}"

    def set_armed(self, camera: str, mode: ArmedMode) -> None:
        self.armed[camera] = mode


@pytest.fixture
async def served(nursery: trio.Nursery) -> AsyncIterator[tuple[Core, str]]:
    core = Core()
    binds = await nursery.start(serve_http, core, "127.0.0.1:0", "tok3n-value")
    yield core, binds[0]
    nursery.cancel_scope.cancel()


async def test_endpoints(served: tuple[Core, str]) -> None:
    core, base = served
    auth = {"Authorization": "Bearer tok3n-value"}
    async with httpx.AsyncClient(base_url=base, timeout=5) as c:
        assert (await c.get("/healthz")).text == "ok\n"  # no token needed for liveness probes
        assert (await c.get("/readyz")).text == "ready\n"  # nor for readiness probes
        core.ok = False
        assert (await c.get("/healthz")).status_code == 503
        r = await c.get("/readyz")
        assert r.status_code == 503 and r.text == "not ready: 1 of 2 cameras not connected\n"
        assert (await c.get("/metrics")).status_code == 401
        assert (await c.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        text = (await c.get("/metrics", headers=auth)).text
        assert 'recorderd_camera_connected{camera="front"} 1.0' in text
        assert 'recorderd_camera_frames_total{camera="front"} 42.0' in text
        assert re.search(r"^# TYPE recorderd_camera_frames(_total)? counter$", text, re.M)
        assert "# TYPE recorderd_camera_connected gauge" in text
        assert 'recorderd_outbox_depth{target="mail"} 3.0' in text
        assert "recorderd_disk_free_bytes 400.0" in text
        assert (await c.get("/api/status", headers=auth)).json()["cameras"]["front"]["armed"] == "auto"
        snap = await c.get("/api/cameras/front/snapshot.jpg", headers=auth)
        assert snap.content == JPEG and snap.headers["content-type"] == "image/jpeg"
        assert (await c.get("/api/cameras/yard/snapshot.jpg", headers=auth)).status_code == 404
        assert (await c.get("/api/cameras/nope/snapshot.jpg", headers=auth)).status_code == 404
        r = await c.post("/api/cameras/front/trigger", headers=auth)
        assert r.status_code == 202 and r.json() == {"incident": "manual-1"} and core.triggered == ["front"]
        assert (await c.post("/api/cameras/yard/armed", headers=auth, content="OFF")).status_code == 200
        assert (
            await c.put("/api/cameras/front/armed", headers=auth, json={"armed": "ON"})
        ).status_code == 200
        assert core.armed == {"front": "on", "yard": "off"}
        assert (await c.post("/api/cameras/yard/armed", headers=auth, content="maybe")).status_code == 400
