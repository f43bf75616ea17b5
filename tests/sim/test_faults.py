"""Each fault and real-world quirk does what it says, seen on the wire (raw sockets where bytes matter)."""

from __future__ import annotations

import re

import httpx
import pytest
import trio

from recorderd.sim import SimCamera, Simulator
from tests.support.simreaders import StreamReader, auth_for, basic_header, get, next_part, raw_request


def video_request(cam: SimCamera, path: str | None = None) -> bytes:
    target = path or cam.video_url.split(str(cam.port), 1)[1]
    return f"GET {target} HTTP/1.1\r\nHost: x\r\n".encode() + basic_header(cam) + b"\r\n"


async def read_some(cam: SimCamera, n: int, path: str | None = None) -> bytes:
    """The first n bytes (at least) of a stream on the camera's port."""
    return await raw_request(cam.port, video_request(cam, path), limit=n)


def split_head(data: bytes) -> tuple[str, bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


async def test_refuse_then_accept_again(sim: Simulator) -> None:
    cam = sim["openapi"]
    port = cam.port
    cam.set_faults(refuse=True)
    with trio.fail_after(5):
        await cam.wait_until(lambda: not cam.listening)
    with pytest.raises(OSError):
        await trio.open_tcp_stream("127.0.0.1", port)
    cam.set_faults(refuse=False)
    with trio.fail_after(5):
        await cam.wait_until(lambda: cam.listening)
    assert cam.port == port
    data = await raw_request(port, b"GET /image.jpg HTTP/1.0\r\n" + basic_header(cam) + b"\r\n")
    assert data.startswith(b"HTTP/1.0 200 OK\r\n")


async def test_reset(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["openapi"]
    cam.set_faults(reset=True)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        await get(client, cam, "/image.jpg")
    cam.clear_faults()
    assert (await get(client, cam, "/image.jpg")).status_code == 200


async def test_401_then_ok_and_503(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["openapi"]
    cam.set_faults(status=401, status_count=1)
    r = await get(client, cam, "/image.jpg")
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Basic realm="IP Camera"'
    assert (await get(client, cam, "/image.jpg")).status_code == 200
    cam.set_faults(status=503)
    for _ in range(2):
        r = await get(client, cam, "/video.mjpg")
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
    cam.clear_faults()
    assert (await get(client, cam, "/image.jpg")).status_code == 200
    assert [x.status for x in cam.requests] == [401, 200, 503, 503, 200]


async def test_stall_mid_frame(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["vapix"]
    cam.set_faults(stall_after=2)
    async with client.stream("GET", cam.video_url, auth=auth_for(cam)) as resp:
        r = StreamReader(resp)
        with trio.fail_after(5):
            for _ in range(2):
                part = await next_part(r, b"--myboundary")
                assert part.body.endswith(b"\xff\xd9")
            await r.until(b"--myboundary\r\nContent-Type: image/jpeg")
            await cam.wait_until(lambda: bool(cam.open_streams("video")) and cam.frames_sent == 2)
        with trio.move_on_after(0.6) as quiet:  # then silence: the frame never completes
            while b"\xff\xd9" not in r.buf:
                await r.more()
        assert quiet.cancelled_caught
        assert cam.streams[-1].parts == 2
    with trio.fail_after(5):  # the client gave up: the simulator lets the stream go
        await cam.wait_until(lambda: not cam.open_streams("video"))


async def test_close_and_reset_mid_frame(sim: Simulator) -> None:
    cam = sim["mjpeg"]
    cam.set_faults(close_after=1)
    with trio.fail_after(5):
        data = await read_some(cam, 1 << 20)  # read until the server closes
    _head, body = split_head(data)
    parts = body.split(b"--myboundary\r\n")[1:]
    assert len(parts) == 2 and parts[0].endswith(b"\xff\xd9\r\n") and b"\xff\xd9" not in parts[1][100:]
    cam.set_faults(close_after=None, reset_after=0)
    stream = await trio.open_tcp_stream("127.0.0.1", cam.port)
    await stream.send_all(video_request(cam))
    got = b""
    with trio.fail_after(5), pytest.raises(trio.BrokenResourceError):  # ECONNRESET
        while chunk := await stream.receive_some(65536):
            got += chunk
        raise AssertionError("closed without reset")
    assert b"Content-Type: image/jpeg" in got
    await stream.aclose()


@pytest.mark.parametrize(
    ("faults", "header_re", "delimiter"),
    [
        ({}, r"boundary=myboundary$", b"--myboundary\r\n"),
        ({"boundary": "dashed"}, r"boundary=--myboundary$", b"--myboundary\r\n"),
        ({"boundary": "quoted"}, r'boundary="myboundary"$', b"--myboundary\r\n"),
        ({"boundary": "spaces"}, r"x-mixed-replace; boundary = myboundary$", b"--myboundary\r\n"),
        (
            {"boundary": "dashed", "boundary_token": "video boundary--"},
            r"boundary=--video boundary--$",
            b"--video boundary--\r\n",
        ),
    ],
)
async def test_boundary_variants(
    sim: Simulator, faults: dict[str, str], header_re: str, delimiter: bytes
) -> None:
    cam = sim["openapi"]
    cam.set_faults(**faults)
    head, body = split_head(await read_some(cam, 60000))
    ctype = re.search(r"Content-Type: ([^\r\n]*)", head)
    assert ctype and re.search(header_re, ctype.group(1)), head
    assert body.startswith(delimiter) and body.count(delimiter) >= 2


async def test_framing_quirks(sim: Simulator) -> None:
    cam = sim["openapi"]

    async def body_with(**faults: object) -> bytes:
        cam.clear_faults()
        cam.set_faults(**faults)
        return split_head(await read_some(cam, 50000))[1]

    body = await body_with(preamble="blank_lines")
    assert body.startswith(b"\r\n\r\n\r\n--myboundary\r\n")
    body = await body_with(preamble="junk")
    assert body.startswith(b"\x00junk") and b"--myboundary\r\n" in body
    body = await body_with(headers_first=True)
    assert body.startswith(b"Content-Type: image/jpeg\r\nContent-Length: ")
    assert re.search(rb"\xff\xd9\r\n--myboundary\r\nContent-Type", body)
    body = await body_with(repeat_boundary=True)
    assert body.startswith(b"--myboundary\r\n--myboundary\r\nContent-Type")
    body = await body_with(extra_crlf=True)
    assert re.search(rb"\xff\xd9\r\n--myboundary\r\n\r\n\r\nContent-Type", body)
    body = await body_with(bare_lf=True)
    assert (
        body.startswith(b"--myboundary\r\nContent-Type: image/jpeg\nContent-Length: ")
        and b"\n\n\xff\xd8" in body
    )
    body = await body_with(content_length_nospace=True, content_type_size=True)
    m = re.match(
        rb"--myboundary\r\nContent-Type: image/jpeg;size=(\d+)\r\nContent-Length:(\d+)\r\n\r\n", body
    )
    assert m and m.group(1) == m.group(2)


@pytest.mark.parametrize(("mode", "delta"), [("exact", 0), ("short", -100), ("long", 100), ("missing", None)])
async def test_content_length(sim: Simulator, mode: str, delta: int | None) -> None:
    cam = sim["openapi"]
    cam.set_faults(content_length=mode)
    body = split_head(await read_some(cam, 60000))[1]
    first = body.split(b"--myboundary\r\n")[1]
    headers, _, rest = first.partition(b"\r\n\r\n")
    jpeg_len = rest.index(b"\xff\xd9") + 2
    m = re.search(rb"Content-Length: (\d+)", headers)
    if delta is None:
        assert m is None and rest[jpeg_len:] == b"\r\n"
    else:
        assert m and int(m.group(1)) == jpeg_len + delta


async def test_drip_delay_and_close_delimited(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["foscam"]
    cam.set_faults(close_delimited=True)
    data = await raw_request(
        cam.port, f"GET /get_status.cgi?user=admin&pwd={cam.password} HTTP/1.0\r\n\r\n".encode()
    )
    head, body = split_head(data)
    assert "Content-Length" not in head and body.startswith(b"var id=")
    r = await get(client, cam, "/get_status.cgi")  # httpx reads a close-delimited body
    assert "alarm_status" in r.text
    cam.set_faults(close_delimited=False, drip_bytes=500, drip_delay=0.005, delay=0.2)
    t0 = trio.current_time()
    r = await get(client, cam, "/snapshot.cgi")
    assert r.status_code == 200 and r.content.endswith(b"\xff\xd9")
    assert trio.current_time() - t0 >= 0.2 + (len(r.content) // 500) * 0.005


async def test_ipcamcgi_date_quirks(sim: Simulator) -> None:
    cam = sim["ipcamcgi"]
    cam.set_faults(date_format="dlink", io_digits=7)
    body = split_head(await read_some(cam, 30000))[1]
    m = re.search(rb"Date: (.*)\r\n", body)
    assert m and re.fullmatch(rb"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d [AP]M IO_0{7}_PT_000_000", m.group(1))


async def test_io_blank_lines_quirk(sim: Simulator) -> None:
    cam = sim["openapi"]
    cam.set_faults(io_blank_lines=True)
    data = await raw_request(
        cam.port, b"GET /input.cgi?monitor=1 HTTP/1.0\r\n" + basic_header(cam) + b"\r\n", limit=200, timeout=3
    )
    assert b"Content-Type: text/plain\r\n\r\n\r\nIO0:L\n\r\n\r\n" in data


async def test_param_quirks(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["vapix"]
    cam.set_faults(param_root=True, param_trailing_spaces=True, param_latin1=True)
    r = await get(client, cam, "/param.cgi?action=list&group=Network.IPAddress")
    assert r.content == b"root.Network.IPAddress=127.0.0.1  \nroot.Brand.Owner=Caf\xe9 S\xe4nger\n"
