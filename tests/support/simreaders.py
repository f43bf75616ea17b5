"""Small readers for tests that talk to simulated cameras (like trio.testing: a helper, not product code).

They split multipart bodies by hand from what the documents say and deliberately do not use
recorderd.protocol: the simulator's own tests check it against the documents, not against our parser.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

import httpx
import trio

from recorderd.sim import SimCamera


def auth_for(cam: SimCamera) -> httpx.Auth:
    if cam.auth.mode == "digest":
        return httpx.DigestAuth(cam.username, cam.password)
    if cam.auth.mode in ("basic", "query"):
        return httpx.BasicAuth(cam.username, cam.password)
    return httpx.Auth()  # sends the request as it is


def url_for(cam: SimCamera, path: str) -> str:
    """A URL with the Foscam CGI's query credentials where the camera wants them."""
    url = cam.url(path) if path.startswith("/") else path
    if cam.auth.mode == "query":
        url += ("&" if "?" in url else "?") + f"user={cam.username}&pwd={cam.password}"
    return url


async def get(client: httpx.AsyncClient, cam: SimCamera, path: str, **kw: object) -> httpx.Response:
    return await client.get(url_for(cam, path), auth=auth_for(cam), **kw)  # type: ignore[arg-type]


class StreamReader:
    """Reads an httpx streaming response body incrementally."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.it = response.aiter_raw()
        self.buf = b""

    async def more(self) -> None:
        chunk = await self.it.__anext__()
        self.buf += chunk

    async def until(self, needle: bytes, start: int = 0) -> int:
        """Read until `needle` is in the buffer at or after `start`; its index."""
        while (i := self.buf.find(needle, start)) == -1:
            await self.more()
        return i

    async def at_least(self, n: int) -> None:
        while len(self.buf) < n:
            await self.more()


@dataclass
class Part:
    headers: dict[str, str]
    body: bytes


async def next_part(r: StreamReader, delimiter: bytes) -> Part:
    """The next part after `delimiter`: headers up to a blank line, then Content-Length bytes when
    given, else everything up to the next delimiter (text parts)."""
    i = await r.until(delimiter + b"\r\n")
    start = i + len(delimiter) + 2
    end = await r.until(b"\r\n\r\n", start)
    headers: dict[str, str] = {}
    for line in r.buf[start:end].split(b"\r\n"):
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    body_start = end + 4
    if "content-length" in headers:
        n = int(headers["content-length"])
        await r.at_least(body_start + n)
        body = r.buf[body_start : body_start + n]
        r.buf = r.buf[body_start + n :]
    else:
        j = await r.until(delimiter, body_start)
        body = r.buf[body_start:j]
        r.buf = r.buf[j:]
    return Part(headers, body)


def boundary_of(content_type: str) -> str:
    m = re.search(r'boundary\s*=\s*"?([^";]+)"?', content_type)
    assert m, content_type
    return m.group(1)


async def raw_request(port: int, request: bytes, *, limit: int = 1 << 20, timeout: float = 5.0) -> bytes:
    """Send raw bytes, read until the server closes (or `limit` bytes, or the timeout)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    out = b""
    async with stream:
        await stream.send_all(request)
        with trio.move_on_after(timeout):
            while len(out) < limit:
                try:
                    chunk = await stream.receive_some(65536)
                except trio.BrokenResourceError:
                    break
                if not chunk:
                    break
                out += chunk
    return out


def basic_header(cam: SimCamera) -> bytes:
    return b"Authorization: Basic " + base64.b64encode(f"{cam.username}:{cam.password}".encode()) + b"\r\n"
