"""The endpoint safe by default, over real HTTP: no token means loopback Host and a same-origin proof
for changes; bodies capped and timed; connections capped; answers never sniffed."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from functools import partial

import httpx
import pytest
import trio

from recorderd.service.guard import Guard, is_loopback_host
from recorderd.service.http import serve_http
from tests.service.test_http_endpoint import Core

CSRF = {"X-Recorderd-CSRF": "1"}


@pytest.fixture
async def open_endpoint(nursery: trio.Nursery) -> AsyncIterator[tuple[Core, str]]:
    core = Core()
    binds = await nursery.start(partial(serve_http, core, "127.0.0.1:0", None, max_connections=8))
    yield core, binds[0]
    nursery.cancel_scope.cancel()


def test_guard_decisions() -> None:
    g = Guard(None)
    local = {"host": "127.0.0.1:8765"}
    assert g.check("GET", "/api/status", "http", local) is None
    assert g.check("POST", "/api/cameras/a/armed", "http", local) is not None  # no proof
    assert g.check("POST", "/x", "http", {**local, "x-recorderd-csrf": "1"}) is None
    same = {**local, "x-recorderd-csrf": "1", "origin": "http://127.0.0.1:8765"}
    assert g.check("POST", "/x", "http", same) is None
    assert g.check("POST", "/x", "http", {**same, "origin": "http://evil.example"}) is not None
    assert g.check("POST", "/x", "http", {**same, "sec-fetch-site": "cross-site"}) is not None
    rebound = {"host": "evil.example:8765", "x-recorderd-csrf": "1"}
    assert g.check("GET", "/api/status", "http", rebound) is not None  # DNS rebinding
    assert g.check("GET", "/healthz", "http", rebound) is None
    t = Guard("tok")
    assert t.check("POST", "/x", "http", {"authorization": "Bearer tok", "host": "a.example"}) is None
    denied = t.check("GET", "/metrics", "http", local)
    assert denied is not None and denied.status == 401
    assert all(is_loopback_host(h) for h in ("localhost", "[::1]:80", "::1", "127.9.9.9:1"))
    assert not any(is_loopback_host(h) for h in ("10.0.0.1", "evil.example", "0.0.0.0:80", ""))


async def test_without_token_changes_need_the_proof(open_endpoint: tuple[Core, str]) -> None:
    core, base = open_endpoint
    async with httpx.AsyncClient(base_url=base, timeout=5) as c:
        # what a cross-site page can send without a preflight: a simple text/plain POST
        r = await c.post("/api/cameras/front/armed", content="OFF", headers={"Content-Type": "text/plain"})
        assert r.status_code == 403 and "X-Recorderd-CSRF" in r.json()["error"]
        r = await c.post(
            "/api/cameras/front/armed", content="OFF", headers={**CSRF, "Origin": "http://evil.example"}
        )
        assert r.status_code == 403
        assert dict(core.armed) == {"front": "auto", "yard": "auto"} and core.triggered == []
        r = await c.post("/api/cameras/front/armed", content="OFF", headers=CSRF)
        assert r.status_code == 200 and dict(core.armed) == {"front": "off", "yard": "auto"}
        assert (await c.get("/api/status", headers={"Host": "attacker.example"})).status_code == 403
        r = await c.get("/api/cameras/front/snapshot.jpg")
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["content-type"] == "image/jpeg"
        assert (await c.get("/nope")).headers["x-content-type-options"] == "nosniff"


async def test_trigger_duration(open_endpoint: tuple[Core, str]) -> None:
    core, base = open_endpoint
    async with httpx.AsyncClient(base_url=base, timeout=5) as c:
        assert (await c.post("/api/cameras/front/trigger", headers=CSRF)).status_code == 202
        assert (await c.post("/api/cameras/front/trigger?duration=90s", headers=CSRF)).status_code == 202
        r = await c.post("/api/cameras/front/trigger", headers=CSRF, json={"duration": 2.5})
        assert r.status_code == 202
        assert core.durations == [None, 90.0, 2.5]
        for bad in ({"duration": "soon"}, {"duration": "2h"}, {"duration": 0}, {"other": 1}):
            r = await c.post("/api/cameras/front/trigger", headers=CSRF, json=bad)
            assert r.status_code == 400, bad
        assert len(core.durations) == 3


async def test_bodies_capped_and_timed(open_endpoint: tuple[Core, str]) -> None:
    _, base = open_endpoint
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        r = await c.post("/api/cameras/front/armed", headers=CSRF, content=b"x" * 100_000)
        assert r.status_code == 413

        async def endless() -> AsyncIterator[bytes]:  # no Content-Length: chunked, never ends
            while True:
                yield b"o" * 1024
                await trio.sleep(0)

        r = await c.post("/api/cameras/front/armed", headers=CSRF, content=endless())
        assert r.status_code == 413


async def test_a_slow_body_times_out(open_endpoint: tuple[Core, str], autojump_clock: object) -> None:
    _, base = open_endpoint
    host, port = base.removeprefix("http://").rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    await stream.send_all(
        b"POST /api/cameras/front/armed HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Recorderd-CSRF: 1\r\n"
        b"Content-Length: 3\r\n\r\nO"
    )
    with trio.fail_after(60):
        answer = await stream.receive_some(4096)
    assert answer.startswith(b"HTTP/1.1 408")
    await stream.aclose()


async def test_connections_capped(open_endpoint: tuple[Core, str]) -> None:
    """Eight places: connections that never sent a whole request head give theirs to a real
    request; eight connections in the middle of a request make a ninth wait in the kernel's
    backlog until one goes."""
    _, base = open_endpoint
    host, port = base.removeprefix("http://").rsplit(":", 1)
    dripping = [socket.create_connection((host, int(port))) for _ in range(8)]
    for s in dripping:
        s.sendall(b"GET /healthz HTTP/1.1\r\nX-Pad: ")
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        with trio.fail_after(10):
            assert (await c.get("/healthz")).status_code == 200
    for s in dripping:
        s.close()
    busy = []
    for _ in range(8):
        s = socket.create_connection((host, int(port)))
        s.sendall(
            b"POST /api/cameras/front/armed HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Recorderd-CSRF: 1\r\n"
            b"Content-Length: 3\r\n\r\n"
        )
        busy.append(s)
    await trio.sleep(0.5)
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        with trio.move_on_after(1.0) as waited:
            await c.get("/healthz")
        assert waited.cancelled_caught
        busy.pop().sendall(b"OFF")  # that request completes, its connection is idle after it
        with trio.fail_after(20):
            assert (await c.get("/healthz")).status_code == 200
    for s in busy:
        s.close()
