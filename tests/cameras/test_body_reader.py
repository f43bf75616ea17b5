"""CameraHttp.body: close-delimited bodies read from the socket after httpx's first chunk, others via httpx.

The direct path must give exactly the bytes the server sent (those httpx buffered with the headers
first, then the socket's), end with b"", and report failures as CameraError; TLS, chunked and
Content-Length bodies must stay on httpx and be decoded by it.
"""

from __future__ import annotations

import socket
import struct

import httpx
import pytest
import trio

from recorderd.cameras.http import CameraError, CameraHttp
from tests.support.camfake import FakeCam, Reply, Request, mjpeg_part

MJPEG = {"Content-Type": "multipart/x-mixed-replace;boundary=myboundary"}


async def read_all(http: CameraHttp, path: str) -> tuple[bytes, bool, int]:
    """The whole body, whether it was read directly, and how many reads it took."""
    out = b""
    reads = 0
    async with http.stream(path) as resp:
        body = http.body(resp, "video stream")
        while data := await body.read():
            out += data
            reads += 1
        assert await body.read() == b""  # stays at the end
    return out, body.direct, reads


async def test_close_delimited_stream_is_read_from_the_socket_byte_exact(
    client: httpx.AsyncClient, nursery: trio.Nursery
) -> None:
    parts = [mjpeg_part(bytes([0xFF, 0xD8, i]) * 3000 + b"\xff\xd9") for i in range(40)]
    sent = b"".join(parts)

    async def frames(stream: trio.SocketStream) -> None:
        await stream.send_all(parts[0][:7])  # with the headers: httpx buffers these
        await trio.sleep(0.05)
        await stream.send_all(parts[0][7:])
        for p in parts[1:]:
            await stream.send_all(p)
            await trio.sleep(0.002)

    cam = FakeCam(lambda r: Reply(200, MJPEG, stream=frames))
    await nursery.start(cam.serve)
    got, direct, reads = await read_all(CameraHttp(client, "c", cam.url), "video.mjpg")
    assert direct
    assert got == sent
    assert reads >= 2


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_framed_bodies_stay_on_httpx(
    client: httpx.AsyncClient, nursery: trio.Nursery, framing: str
) -> None:
    payload = mjpeg_part() * 20

    def handler(req: Request) -> Reply:
        if framing == "content-length":
            return Reply(200, MJPEG, payload)

        async def chunked(stream: trio.SocketStream) -> None:
            for i in range(0, len(payload), 1000):
                piece = payload[i : i + 1000]
                await stream.send_all(b"%x\r\n%s\r\n" % (len(piece), piece))
            await stream.send_all(b"0\r\n\r\n")

        return Reply(200, {**MJPEG, "Transfer-Encoding": "chunked"}, stream=chunked)

    cam = FakeCam(handler)
    await nursery.start(cam.serve)
    got, direct, _ = await read_all(CameraHttp(client, "c", cam.url), "video.mjpg")
    assert not direct
    assert got == payload  # dechunked by httpx


async def test_reset_on_the_direct_path_is_a_camera_error(
    client: httpx.AsyncClient, nursery: trio.Nursery
) -> None:
    async def then_reset(stream: trio.SocketStream) -> None:
        await stream.send_all(mjpeg_part())
        await trio.sleep(0.05)
        await stream.send_all(mjpeg_part())
        await trio.sleep(0.05)
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    cam = FakeCam(lambda r: Reply(200, MJPEG, stream=then_reset))
    await nursery.start(cam.serve)
    http = CameraHttp(client, "c", cam.url)
    with trio.fail_after(5), pytest.raises(CameraError) as e:
        await read_all(http, "video.mjpg")
    assert e.value.kind == "reset"
    assert str(e.value) == "video stream: connection reset by camera"
