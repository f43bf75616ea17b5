"""A tiny scripted HTTP/1.0 server on loopback for the HTTP layer's tests (auth, faults, stalls).

The simulator is the test bed for dialects; this one exists to make single HTTP behaviours exact:
a handler per request decides status, headers and body (or a streaming coroutine), and the server
checks Basic, Digest (MD5, qop=auth, really verified) or query credentials.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import trio


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


Writer = Callable[[trio.SocketStream], Awaitable[None]]


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: Writer | None = None  # writes the body itself (after the headers)
    reset: bool = False  # abort the connection without an answer


Handler = Callable[[Request], Reply | Awaitable[Reply]]

REASONS = {
    200: "OK",
    204: "No Content",
    302: "Found",
    401: "Unauthorized",
    404: "Not Found",
    503: "Service Unavailable",
}


class FakeCam:
    def __init__(
        self, handler: Handler, *, auth: str = "none", user: str = "admin", password: str = "pw"
    ) -> None:
        self.handler = handler
        self.auth = auth  # none | basic | digest | query
        self.user = user
        self.password = password
        self.realm = "fakecam"
        self.nonce = secrets.token_hex(8)
        self.port = 0
        self.requests: list[Request] = []
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await serve_loopback(self, self._conn, task_status)

    def _authorized(self, req: Request) -> bool:
        if self.auth == "none":
            return True
        if self.auth == "query":
            return req.query.get("user") == self.user and req.query.get("pwd") == self.password
        h = req.headers.get("authorization", "")
        if self.auth == "basic":
            want = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            return h == f"Basic {want}"
        if not h.startswith("Digest "):
            return False
        fields = dict(_digest_fields(h[7:]))
        ha1 = _md5(f"{self.user}:{self.realm}:{self.password}")
        ha2 = _md5(f"{req.method}:{fields.get('uri', '')}")
        want = _md5(f"{ha1}:{self.nonce}:{fields.get('nc')}:{fields.get('cnonce')}:auth:{ha2}")
        return fields.get("username") == self.user and fields.get("response") == want

    async def _conn(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return
                data += chunk
            head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            parts = urlsplit(target)
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
            req = Request(method, parts.path, query, headers)
            self.requests.append(req)
            if not self._authorized(req):
                challenge = {
                    "basic": f'Basic realm="{self.realm}"',
                    "digest": f'Digest realm="{self.realm}", nonce="{self.nonce}", qop="auth", algorithm=MD5',
                }.get(self.auth)
                hdrs = {"WWW-Authenticate": challenge} if challenge else {}
                await _send(stream, Reply(401, hdrs, b"unauthorized"))
                return
            reply = self.handler(req)
            if not isinstance(reply, Reply):
                reply = await reply
            if reply.reset:
                # SO_LINGER 0: close() sends RST
                stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            await _send(stream, reply)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await stream.aclose()


class HasPort(Protocol):
    port: int


async def serve_loopback(
    server: HasPort,
    handler: Callable[[trio.SocketStream], Awaitable[None]],
    task_status: trio.TaskStatus[None],
) -> None:
    """Serve `handler` on a free loopback port, set as `server.port` before started()."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    server.port = listeners[0].socket.getsockname()[1]
    task_status.started()
    await trio.serve_listeners(handler, listeners)


async def _send(stream: trio.SocketStream, reply: Reply) -> None:
    lines = [f"HTTP/1.0 {reply.status} {REASONS.get(reply.status, 'X')}"]
    hdrs = dict(reply.headers)
    if reply.stream is None:
        hdrs.setdefault("Content-Length", str(len(reply.body)))
    lines += [f"{k}: {v}" for k, v in hdrs.items()]
    await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    if reply.stream is not None:
        await reply.stream(stream)
    else:
        await stream.send_all(reply.body)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _digest_fields(text: str) -> list[tuple[str, str]]:
    out = []
    for item in text.split(","):
        k, _, v = item.strip().partition("=")
        out.append((k.strip(), v.strip().strip('"')))
    return out


JPEG = b"\xff\xd8" + b"\x00" * 200 + b"\xff\xd9"


def mjpeg_part(body: bytes = JPEG, boundary: str = "myboundary", extra: str = "") -> bytes:
    head = f"--{boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body + b"\r\n"
