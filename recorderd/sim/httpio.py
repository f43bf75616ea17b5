"""The minimal HTTP/1.0 server side the simulator needs: read one request, write raw bytes.

Hand-rolled on purpose: fault injection needs byte-level control of what goes out (missing or wrong
lengths, half frames, resets). The request parser is pure; the trio part only reads and writes.
Every response ends the connection (HTTP/1.0, as the documents' cameras do).
"""

from __future__ import annotations

import contextlib
import socket
import struct
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

import trio

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024
REASONS = {
    200: "OK",
    204: "No Content",
    302: "Moved Temporarily",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    500: "Internal Error",
    503: "Service Unavailable",
}


class BadRequest(Exception):
    """The bytes are not an HTTP request we can answer."""


@dataclass
class Request:
    method: str
    target: str  # as sent: path and query, still encoded
    path: str  # decoded path
    version: str
    headers: dict[str, str]  # lower-case names
    query: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def params(self) -> dict[str, str]:
        """Query and form body parameters (the last value wins), as the CGIs read them."""
        out = dict(self.query)
        if self.body and "x-www-form-urlencoded" in self.headers.get("content-type", "x-www-form-urlencoded"):
            out.update(parse_qsl(self.body.decode("latin-1"), keep_blank_values=True))
        return out

    def values(self, name: str) -> list[str]:
        """Every value of a repeated query parameter (`group=a&group=b`)."""
        return [v for k, v in self.query if k == name]


def parse_head(buf: bytes) -> tuple[Request, int] | None:
    """A request head at the start of `buf` and its length, or None when more bytes are needed."""
    end = buf.find(b"\r\n\r\n")
    sep = 4
    lf = buf.find(b"\n\n")
    if lf != -1 and (end == -1 or lf < end):
        end, sep = lf, 2
    if end == -1:
        if len(buf) > MAX_HEAD:
            raise BadRequest("request head too long")
        return None
    lines = buf[:end].decode("latin-1").replace("\r\n", "\n").split("\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequest(f"bad request line {lines[0][:80]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise BadRequest(f"bad header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    split = urlsplit(target)
    query = parse_qsl(split.query, keep_blank_values=True)
    return Request(method.upper(), target, unquote(split.path) or "/", version, headers, query), end + sep


async def read_request(stream: trio.SocketStream, timeout: float = 30.0) -> Request | None:
    """One request from the stream; None when the client went away or sent nothing in time."""
    buf = b""
    with trio.move_on_after(timeout):
        while True:
            got = parse_head(buf)
            if got is not None:
                req, used = got
                rest = buf[used:]
                length = int(req.headers.get("content-length", "0") or 0)
                if length > MAX_BODY:
                    raise BadRequest("request body too long")
                while len(rest) < length:
                    chunk = await stream.receive_some(65536)
                    if not chunk:
                        return None
                    rest += chunk
                req.body = rest[:length]
                return req
            chunk = await stream.receive_some(65536)
            if not chunk:
                return None
            buf += chunk
    return None


def head(status: int, headers: list[tuple[str, str]], version: str = "HTTP/1.0") -> bytes:
    lines = [f"{version} {status} {REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def reset_on_close(stream: trio.SocketStream) -> None:
    """Make the next close send RST instead of FIN (SO_LINGER 0)."""
    with contextlib.suppress(OSError):
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
