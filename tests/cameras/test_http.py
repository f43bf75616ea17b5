"""The HTTP layer against a scripted loopback server: auth modes, auto, faults, deadlines, secrecy."""

from __future__ import annotations

import httpx
import pytest
import trio

from recorderd.cameras.http import CameraError, CameraHttp
from tests.support.camfake import FakeCam, Reply, Request

SECRET = "s3cr3t-pw"


def ok(req: Request) -> Reply:
    return Reply(200, {"Content-Type": "text/plain"}, b"var alarm_status=0;\n")


async def start(nursery: trio.Nursery, cam: FakeCam) -> FakeCam:
    await nursery.start(cam.serve)
    return cam


@pytest.mark.parametrize("mode", ["basic", "digest", "query"])
async def test_configured_auth(client: httpx.AsyncClient, nursery: trio.Nursery, mode: str) -> None:
    cam = await start(nursery, FakeCam(ok, auth=mode, password=SECRET))
    http = CameraHttp(client, "c", cam.url, username="admin", password=SECRET, auth=mode)  # type: ignore[arg-type]
    text, ctype = await http.get_text("get_status.cgi")
    assert text == "var alarm_status=0;\n"
    assert ctype == "text/plain"
    if mode == "query":
        assert cam.requests[-1].query == {"user": "admin", "pwd": SECRET}


@pytest.mark.parametrize(
    ("ctype", "body", "text"),
    [
        ("text/plain", "Café=1\n".encode(), "Café=1\n"),  # UTF-8, no charset declared
        ("text/plain", b"Caf\xe9=1\n", "Café=1\n"),  # latin-1, no charset declared
        ("text/plain; charset=utf-8", b"Entr\xe9e=1\n", "Entrée=1\n"),  # a label the bytes do not fit
        ("text/plain; charset=iso-8859-1", b"Caf\xe9=1\n", "Café=1\n"),
        ("text/plain; charset=no-such-codec", "Café=1\n".encode(), "Café=1\n"),
    ],
)
async def test_text_answers_are_decoded_without_garbling(
    client: httpx.AsyncClient, nursery: trio.Nursery, ctype: str, body: bytes, text: str
) -> None:
    """Axis names are latin-1 under any label, other cameras send UTF-8 with none: the declared
    charset when the bytes fit it, else UTF-8 when valid, else latin-1; never a replacement mark."""
    cam = await start(nursery, FakeCam(lambda req: Reply(200, {"Content-Type": ctype}, body)))
    http = CameraHttp(client, "c", cam.url)  # no credentials: nothing to authenticate
    assert (await http.get_text("param.cgi"))[0] == text


@pytest.mark.parametrize("mode", ["basic", "digest", "query", "none"])
async def test_auto_finds_the_scheme_and_keeps_it(
    client: httpx.AsyncClient, nursery: trio.Nursery, mode: str
) -> None:
    cam = await start(nursery, FakeCam(ok, auth=mode, password=SECRET))
    http = CameraHttp(client, "c", cam.url, username="admin", password=SECRET, auth="auto")
    await http.get_text("get_status.cgi")
    assert http.chosen == mode
    before = len(cam.requests)
    await http.get_text("get_status.cgi")
    # the second request goes straight with the right scheme (digest needs its challenge round trip)
    assert len(cam.requests) - before == (2 if mode == "digest" else 1)


async def test_wrong_password_is_a_clear_auth_error_without_the_secret(
    client: httpx.AsyncClient, nursery: trio.Nursery
) -> None:
    cam = await start(nursery, FakeCam(ok, auth="query", password="right"))
    http = CameraHttp(client, "c", cam.url, username="admin", password=SECRET, auth="auto")
    with pytest.raises(CameraError) as e:
        await http.get_text("get_status.cgi")
    assert e.value.kind == "auth"
    assert "401 Unauthorized" in str(e.value)
    assert SECRET not in str(e.value) and "pwd" not in str(e.value)
    http = CameraHttp(client, "c", cam.url, username="admin", password=SECRET, auth="basic")
    with pytest.raises(CameraError, match="not basic auth"):
        await http.get_text("x.cgi")


async def test_503_status_and_redirect(client: httpx.AsyncClient, nursery: trio.Nursery) -> None:
    def handler(req: Request) -> Reply:
        if req.path == "/busy":
            return Reply(503)
        if req.path == "/old":
            return Reply(302, {"Location": "/new"})
        if req.path == "/new":
            return Reply(200, {}, b"moved")
        return Reply(404)

    cam = await start(nursery, FakeCam(handler, auth="query", password=SECRET))
    http = CameraHttp(client, "c", cam.url, username="admin", password=SECRET, auth="query")
    with pytest.raises(CameraError) as e:
        await http.get_text("busy", {"x": "1"})
    assert (
        e.value.kind == "unavailable" and str(e.value) == "GET /busy: 503 Service Unavailable (camera busy)"
    )
    with pytest.raises(CameraError) as e:
        await http.get_text("nothere")
    assert e.value.kind == "status" and "404" in str(e.value)
    assert (await http.get_text("old"))[0] == "moved"


async def test_refused_and_reset(client: httpx.AsyncClient, nursery: trio.Nursery) -> None:
    sock = trio.socket.socket()
    await sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    http = CameraHttp(client, "c", f"http://127.0.0.1:{port}/", auth="basic")
    with pytest.raises(CameraError) as e:
        await http.get_text("x")
    assert e.value.kind == "refused" and str(e.value) == "GET /x: connection refused"

    cam = await start(nursery, FakeCam(lambda r: Reply(reset=True)))
    http = CameraHttp(client, "c", cam.url)
    with pytest.raises(CameraError) as e:
        await http.get_text("x")
    assert e.value.kind in ("reset", "protocol")


async def test_a_stalled_stream_times_out_on_its_read_deadline(
    client: httpx.AsyncClient, nursery: trio.Nursery
) -> None:
    async def stall(stream: trio.SocketStream) -> None:
        await stream.send_all(b"--b\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8")
        await trio.sleep_forever()

    cam = await start(
        nursery,
        FakeCam(lambda r: Reply(200, {"Content-Type": "multipart/x-mixed-replace;boundary=b"}, stream=stall)),
    )
    http = CameraHttp(client, "c", cam.url, read_timeout=0.3)
    t0 = trio.current_time()
    with trio.fail_after(5):
        async with http.stream("video") as resp:
            got = b""
            with pytest.raises(CameraError) as e:
                async for chunk in http.chunks(resp, "video stream"):
                    got += chunk
    assert e.value.kind == "timeout"
    assert got.startswith(b"--b")
    assert 0.25 < trio.current_time() - t0 < 3


async def test_close_mid_body_is_reported(client: httpx.AsyncClient, nursery: trio.Nursery) -> None:
    async def half(stream: trio.SocketStream) -> None:
        await stream.send_all(b"12345")

    cam = await start(nursery, FakeCam(lambda r: Reply(200, {"Content-Length": "100"}, stream=half)))
    http = CameraHttp(client, "c", cam.url)
    with pytest.raises(CameraError) as e:
        await http.get_text("x")
    assert e.value.kind == "reset"
    assert "closed the connection" in str(e.value)
