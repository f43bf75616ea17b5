"""A hostile camera's HTTP: redirects that try to lead credentials away, headers at a byte a second."""

from __future__ import annotations

import base64

import httpx
import pytest
import trio

from recorderd.cameras.http import CameraError, CameraHttp
from tests.support.camfake import FakeCam, Reply, Request

SECRET = "s3cr3t-pw"


def handed_over(sink: FakeCam) -> int:
    """Requests that reached the sink with any credential of the camera's."""
    basic = base64.b64encode(f"admin:{SECRET}".encode()).decode()
    n = 0
    for r in sink.requests:
        auth = r.headers.get("authorization", "")
        if "pwd" in r.query or SECRET in str(r.query) or basic in auth or auth.startswith("Digest"):
            n += 1
    return n


@pytest.mark.parametrize("mode", ["basic", "digest", "query", "auto"])
async def test_credentials_never_follow_a_redirect_to_another_origin(
    client: httpx.AsyncClient, nursery: trio.Nursery, mode: str
) -> None:
    # the sink asks for credentials the way each scheme would (a Digest nonce of its own)
    sink = FakeCam(lambda r: Reply(200, {}, b"sink"), auth="digest" if mode == "digest" else "basic")
    await nursery.start(sink.serve)

    def camera(req: Request) -> Reply:
        if req.path == "/same":
            return Reply(302, {"Location": "/final"})
        if req.path == "/final":
            return Reply(200, {}, b"final")
        return Reply(302, {"Location": f"{sink.url}steal?x=1"})

    auth = "query" if mode == "auto" else mode
    cam = FakeCam(camera, auth=auth, password=SECRET)
    await nursery.start(cam.serve)
    http = CameraHttp(client, "c", cam.url, username="admin", password=SECRET, auth=mode)  # type: ignore[arg-type]
    assert (await http.get_text("same"))[0] == "final"  # same origin: every hop authenticated
    assert cam.requests[-1].path == "/final"
    for _ in range(3):
        with pytest.raises(CameraError) as e:
            await http.get_text("away")
        assert e.value.kind == "redirect" and "another address" in str(e.value)
        assert SECRET not in str(e.value)
    assert handed_over(sink) == 0 and sink.requests == []


async def test_a_camera_without_credentials_follows_any_redirect(
    client: httpx.AsyncClient, nursery: trio.Nursery
) -> None:
    other = FakeCam(lambda r: Reply(200, {}, b"elsewhere"))
    await nursery.start(other.serve)
    cam = FakeCam(lambda r: Reply(302, {"Location": f"{other.url}x"}))
    await nursery.start(cam.serve)
    assert (await CameraHttp(client, "c", cam.url).get_text("y"))[0] == "elsewhere"


async def test_answer_headers_at_a_byte_a_second_time_out(
    client: httpx.AsyncClient, nursery: trio.Nursery, autojump_clock: object
) -> None:
    async def drip(stream: trio.SocketStream) -> None:
        await stream.receive_some(65536)
        try:
            for b in b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nX-Pad: " + b"a" * 10_000:
                await stream.send_all(bytes([b]))
                await trio.sleep(1)
        except trio.BrokenResourceError:
            pass

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    nursery.start_soon(trio.serve_listeners, drip, listeners)
    http = CameraHttp(client, "c", f"http://127.0.0.1:{port}/", read_timeout=10, connect_timeout=5)
    t0 = trio.current_time()
    with pytest.raises(CameraError) as e:
        await http.get_text("x")
    assert e.value.kind == "timeout" and "no answer within 10s" in str(e.value)
    assert trio.current_time() - t0 < 16
