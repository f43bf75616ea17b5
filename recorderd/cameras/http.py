"""One camera's HTTP side: URLs, authentication, streaming with deadlines, and failures told plainly.

All cameras share one httpx.AsyncClient (one connection pool, one TLS context: a client per camera
would cost megabytes each); authentication is chosen per request here. Modes:
- "basic", "digest" (httpx.DigestAuth, with or without qop), "query" (Foscam CGI: `user=&pwd=` in the
  query string);
- "auto": the first request goes without credentials; a 401's WWW-Authenticate picks Digest or Basic
  (a 401 without a challenge means Foscam CGI query auth); the choice is kept for the camera's later
  requests and dropped again if it stops working.

Secrets never reach a log line or an exception message: URLs are shown as their path only (`what`),
and httpx's own exceptions, which carry the full URL, are replaced by `CameraError` with a message
of ours.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import socket
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Literal

import httpx
import trio

from recorderd.cameras.readmux import BULK_RCVBUF
from recorderd.core.errors import RecorderdError, safe_reason
from recorderd.protocol.text import decode_text

if TYPE_CHECKING:
    from recorderd.cameras.readmux import OnData, ReadMux
    from recorderd.config.model import AuthMode

log = logging.getLogger(__name__)

ChosenAuth = Literal["none", "basic", "digest", "query"]  # what "auto" found ("none": no credentials asked)
# why a request failed, also the metrics' reason label (CameraError's docstring says each)
CameraErrorKind = Literal[
    "auth",
    "unavailable",
    "status",
    "refused",
    "reset",
    "closed",
    "timeout",
    "stalled",
    "dead",
    "no_content",
    "content_type",
    "protocol",
    "network",
    "redirect",
]

CHUNK = 65536


class CameraError(RecorderdError):
    """A request to a camera failed; the message is safe to log (no credentials, no query string).

    `kind` (also the metrics' reason label): auth, unavailable (503), status (another HTTP status),
    refused (connection refused), reset, closed (the camera ended a stream), timeout (no answer),
    stalled (no frame or part within the read timeout), dead (TCP keepalive: no reply from the
    camera's network), no_content (204), content_type (not the stream asked for), protocol,
    network, redirect (to another origin, not followed)."""

    def __init__(self, kind: CameraErrorKind, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.kind: CameraErrorKind = kind
        self.status = status


def new_client(*, connect_timeout: float = 5.0) -> httpx.AsyncClient:
    """The shared client: no pool limits (hundreds of long streams), redirects followed."""
    # httpx logs every request's full URL at INFO: with Foscam CGI query auth that holds the password
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))
    return httpx.AsyncClient(
        follow_redirects=True,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=64, keepalive_expiry=30.0),
        timeout=httpx.Timeout(connect_timeout, read=10.0, write=10.0, pool=None),
        headers={"User-Agent": "recorderd"},
        trust_env=False,
    )


class CameraHttp:
    """Requests to one camera, authenticated as configured."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        camera: str,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        auth: AuthMode = "auto",
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        mux: ReadMux | None = None,
    ) -> None:
        self.client = client
        self.mux = mux  # the engine's reader of plain-TCP bodies (None: each stream reads itself)
        self.camera = camera
        self.base = httpx.URL(base_url if base_url.endswith("/") else base_url + "/")
        self.username = username or ""
        self._password = password or ""
        self.mode: AuthMode = auth
        self._chosen: ChosenAuth | None = None if auth == "auto" else auth
        self.timeout = httpx.Timeout(connect_timeout, read=read_timeout, write=read_timeout, pool=None)

    @property
    def chosen(self) -> ChosenAuth | None:
        """The authentication in use (after `auto` found it), or None before the first answer."""
        return self._chosen

    def url(self, path: str, *, port: int | None = None) -> httpx.URL:
        """A path relative to the camera's base URL ("mjpg/video.mjpg"), or an absolute URL."""
        if "://" in path:
            return httpx.URL(path)
        u = self.base.join(path.lstrip("/"))
        return u.copy_with(port=port) if port is not None else u

    def _auth(self, chosen: ChosenAuth) -> httpx.Auth | None:
        if chosen == "basic":
            return httpx.BasicAuth(self.username, self._password)
        if chosen == "digest":
            return httpx.DigestAuth(self.username, self._password)
        if chosen == "query":
            return QueryAuth(self.username, self._password)
        return None

    @asynccontextmanager
    async def stream(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        port: int | None = None,
        read_timeout: float | None = None,
        quiet: bool = False,
    ) -> AsyncIterator[httpx.Response]:
        """GET a URL and yield the response (status 2xx) with its body unread; raises CameraError.

        The answer's headers must come within the connect and read timeouts. The read timeout
        then applies to every socket read of the body made through httpx, unless `quiet`: a
        stream that may be silent for hours (an event monitor) has no read timeout at all (its
        liveness is TCP keepalive, recorderd.cameras.liveness).
        """
        url = self.url(path, port=port)
        what = f"GET /{url.path.lstrip('/')}"
        read = self.timeout.read if read_timeout is None else read_timeout
        assert read is not None
        timeout = httpx.Timeout(self.timeout.connect, read=None if quiet else read, write=read, pool=None)
        connect = self.timeout.connect or 0.0
        with trio.move_on_after(connect + read) as heads:
            async with self._answer(url, params, timeout, what) as resp:
                heads.deadline = math.inf  # the headers are in: the body has its own liveness
                yield resp
                return
        raise CameraError("timeout", f"{what}: no answer within {read:g}s")

    @asynccontextmanager
    async def _answer(
        self, url: httpx.URL, params: Mapping[str, str] | None, timeout: httpx.Timeout, what: str
    ) -> AsyncIterator[httpx.Response]:
        """The answer to GET `url` (status 2xx), authenticated, redirects followed."""
        tries: list[ChosenAuth] = [self._chosen] if self._chosen is not None else ["none"]
        i = 0
        hops = 0
        while True:
            chosen = tries[i]
            try:
                # redirects by hand, so that every hop of the camera's own origin is authenticated
                # (httpx runs an auth flow once around all hops, which loses the Foscam CGI's query
                # credentials), and no hop of another origin is
                async with self.client.stream(
                    "GET",
                    url,
                    params=params or None,
                    auth=self._auth(chosen),
                    timeout=timeout,
                    follow_redirects=False,
                ) as resp:
                    if resp.is_redirect and hops < 5:
                        hops += 1
                        url = self._redirect(resp, what)
                        params = None
                        continue
                    if resp.status_code == 401 and self.mode == "auto" and i + 1 < 3:
                        nxt = _next_auth(resp, chosen, tried=tries)
                        if nxt is not None:
                            tries.append(nxt)
                            i += 1
                            continue
                    self._check_status(resp, what)
                    if self._chosen != chosen:
                        if self.mode == "auto" and chosen != "none":
                            log.info("%s: %s answered to %s authentication", self.camera, what, chosen)
                        self._chosen = chosen
                    yield resp
                    return
            except httpx.ReadTimeout:
                raise CameraError("timeout", f"{what}: no answer within {timeout.read:g}s") from None
            except httpx.HTTPError as e:
                raise translate(e, what) from None

    def _redirect(self, resp: httpx.Response, what: str) -> httpx.URL:
        """The next hop of a redirect. A camera with credentials is followed only within its own
        origin (scheme, host, port): its Basic header, query credentials or a Digest answer to
        another server's nonce would hand them to whoever the Location names."""
        target = resp.url.join(resp.headers.get("location", ""))
        if (self.username or self._password) and _origin(target) != _origin(resp.url):
            raise CameraError(
                "redirect",
                f"{what}: redirected to another address ({target.scheme}://{target.host}:"
                f"{target.port or _DEFAULT_PORTS.get(target.scheme, '')}); not followed, so that the "
                "camera's credentials stay with it (configure that address as url or video_url)",
                status=resp.status_code,
            )
        return target

    def _check_status(self, resp: httpx.Response, what: str) -> None:
        if resp.status_code == 401:
            if self.mode == "auto":
                self._chosen = None  # look again next time (the camera may have changed)
            raise CameraError(
                "auth",
                f"{what}: 401 Unauthorized (wrong username or password"
                f"{'' if self.mode == 'auto' else f', or not {self.mode} auth'})",
                status=401,
            )
        if resp.status_code == 503:
            raise CameraError("unavailable", f"{what}: 503 Service Unavailable (camera busy)", status=503)
        if not 200 <= resp.status_code < 300:
            raise CameraError(
                "status", f"{what}: HTTP {resp.status_code} {resp.reason_phrase}", status=resp.status_code
            )

    async def chunks(self, resp: httpx.Response, what: str = "stream") -> AsyncIterator[bytes]:
        """The raw body in the network's chunks (up to 64 KiB), with httpx errors translated."""
        it = resp.aiter_raw().__aiter__()
        while True:
            try:
                chunk = await it.__anext__()
            except StopAsyncIteration:
                return
            except httpx.HTTPError as e:
                raise translate(e, what) from None
            yield chunk

    def body(self, resp: httpx.Response, what: str = "stream") -> BodyReader:
        """A reader of the streamed body, for the stream loops: `await body.read()` per network chunk."""
        return BodyReader(resp, what)

    async def get_text(
        self, path: str, params: Mapping[str, str] | None = None, *, limit: int = 1 << 20
    ) -> tuple[str, str]:
        """GET a small text answer: (body decoded, content type). Bodies over `limit` are an error.

        In the declared charset when the body is valid in it; else (none declared, an unknown one,
        or bytes that do not fit it: Axis names are latin-1 under any label) UTF-8 when valid, else
        latin-1, so nothing is ever replaced or garbled into other letters."""
        buf, ctype, charset = await self._get(path, params, limit)
        if charset:
            try:
                return buf.decode(charset), ctype
            except (LookupError, UnicodeDecodeError):
                pass
        return decode_text(bytes(buf)), ctype

    async def get_bytes(
        self, path: str, params: Mapping[str, str] | None = None, *, limit: int = 1 << 20
    ) -> tuple[bytes, str]:
        """GET a bounded binary answer (a snapshot): (body, content type); over `limit` is an error."""
        buf, ctype, _ = await self._get(path, params, limit)
        return bytes(buf), ctype

    async def _get(
        self, path: str, params: Mapping[str, str] | None, limit: int
    ) -> tuple[bytearray, str, str | None]:
        async with self.stream(path, params) as resp:
            what = f"GET /{resp.request.url.path.lstrip('/')}"
            buf = bytearray()
            async for chunk in self.chunks(resp, what):
                buf += chunk
                if len(buf) > limit:
                    raise CameraError("protocol", f"{what}: answer longer than {limit} bytes")
            return buf, resp.headers.get("content-type", ""), resp.charset_encoding


class BodyReader:
    """A streamed response body, network chunk by network chunk: `await read()`, b"" at the end.

    Camera streams are close-delimited (HTTP/1.0 style: no Content-Length, no chunked coding) and run
    for hours, one network read per frame. httpx hands each read through some ten layers (httpcore's
    read with its own cancel scope and exception maps, h11's buffer and events, four async generators,
    request contexts), which cost more than everything else a frame costs together (the figures:
    docs/performance.md).
    So once httpx has given the bytes it buffered with the headers (the first chunk of `aiter_raw`),
    a close-delimited body over plain TCP is read from the connection's socket itself, which httpx
    hands out as the response's `network_stream` extension: the bytes that follow are the body as
    they are, with nothing left to decode. TLS, chunked and Content-Length bodies stay on httpx.
    httpx still makes the request, authenticates, follows redirects and owns the connection (it
    closes it when the response closes).

    Timeouts: the first read has httpx's read timeout; later direct reads have none of their own:
    the stream loops' progress deadline (no complete part within read_timeout) covers a silent
    stream as well as a dripping one.
    """

    __slots__ = ("_fd", "_it", "_sock", "_started", "what")

    def __init__(self, resp: httpx.Response, what: str) -> None:
        self.what = what
        self._it = resp.aiter_raw().__aiter__()
        self._started = False
        self._sock = _direct_socket(resp)  # kept: the descriptor stays ours while it lives
        self._fd = self._sock.fileno() if self._sock is not None else -1

    @property
    def direct(self) -> bool:
        """Whether the body is read from the socket itself (after the first chunk)."""
        return self._sock is not None

    @property
    def followable(self) -> bool:
        """Whether `follow` can take over now (a direct body whose buffered head has been read)."""
        return self._fd >= 0 and self._started

    async def follow(
        self,
        mux: ReadMux,
        on_data: OnData,
        *,
        urgent: bool = True,
        watched: Callable[[], bool] | None = None,
        paced: bool = False,
    ) -> bool:
        """Hand the socket to `mux` (one task reading all cameras' bodies), which feeds each chunk
        to `on_data` until the body ends: True then (httpx's side is finished too). False: the
        mux stopped meanwhile; nothing was lost, go on with `read`. A body that is only recorded
        (`urgent` False) is read on the mux's cadence: its socket gets a receive buffer that holds
        what arrives in between."""
        if not urgent and self._sock is not None:
            with contextlib.suppress(OSError):  # the kernel's default then; reads just come sooner
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BULK_RCVBUF)
        try:
            ended = await mux.follow(self._fd, on_data, urgent=urgent, watched=watched, paced=paced)
        except OSError as e:
            raise _socket_error(e, self.what) from None
        if not ended:
            return False
        self._fd = -1
        while data := await self.read():  # httpx's iterator: the end of the body for it too
            on_data(data, trio.current_time())
        return True

    async def read(self) -> bytes:
        fd = self._fd
        if fd >= 0 and self._started:
            # wait, then one read(2): cheaper than trio's socket.recv (which tries first, fails with
            # EAGAIN after each frame, then waits); 0 bytes is the end of the stream
            while True:
                try:
                    await _wait_readable(fd)
                except trio.ClosedResourceError:  # closed under us (the response was closed)
                    raise CameraError("reset", f"{self.what}: connection closed") from None
                try:
                    data = os.read(fd, CHUNK)
                    break
                except BlockingIOError:
                    continue
                except OSError as e:
                    raise _socket_error(e, self.what) from None
            if data:
                return data
            self._fd = -1  # end of stream: let httpx see it too, so its iterator finishes cleanly
        self._started = True
        try:
            return await self._it.__anext__()
        except StopAsyncIteration:
            return b""
        except httpx.HTTPError as e:
            raise translate(e, self.what) from None


_wait_readable = trio.lowlevel.wait_readable


def _direct_socket(resp: httpx.Response) -> trio.socket.SocketType | None:
    """The response's plain TCP socket when its body is close-delimited, else None."""
    h = resp.headers
    if "content-length" in h or "transfer-encoding" in h or resp.request.method == "HEAD":
        return None
    stream = resp.extensions.get("network_stream")
    if stream is None or stream.get_extra_info("ssl_object") is not None:
        return None
    try:
        sock = stream.get_extra_info("socket")
    except (AssertionError, AttributeError):  # not a plain trio socket stream
        return None
    return sock if isinstance(sock, trio.socket.SocketType) else None


def _socket_error(e: OSError, what: str) -> CameraError:
    if e.errno == errno.ECONNRESET:
        return CameraError("reset", f"{what}: connection reset by camera")
    if e.errno == errno.ETIMEDOUT:
        return _dead(what)
    return CameraError("reset", f"{what}: connection lost ({e.strerror or type(e).__name__})")


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """scheme, host and port (the default port spelled out) of a URL."""
    return url.scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme)


class QueryAuth(httpx.Auth):
    """Foscam CGI: `user=` and `pwd=` in the query string of every request (redirects included)."""

    def __init__(self, username: str, password: str) -> None:
        self._params = {"user": username, "pwd": password}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params(self._params)
        yield request


def _next_auth(resp: httpx.Response, current: ChosenAuth, *, tried: list[ChosenAuth]) -> ChosenAuth | None:
    """From a 401, the authentication to try next (auto mode)."""
    challenge = " ".join(resp.headers.get_list("www-authenticate")).lower()
    for scheme in ("digest", "basic"):
        if scheme in challenge and scheme not in tried:
            return "digest" if scheme == "digest" else "basic"
    if not challenge and "query" not in tried:
        return "query"  # Foscam CGI cameras answer 401 without a challenge to a missing user=&pwd=
    return None


def _os_errors(e: BaseException) -> list[OSError]:
    """The OSErrors behind an exception: its causes and contexts, inside exception groups too."""
    found: list[OSError] = []
    seen: set[int] = set()
    todo: list[BaseException] = [e]
    while todo:
        x = todo.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, OSError) and x.errno is not None:
            found.append(x)
        if isinstance(x, BaseExceptionGroup):
            todo.extend(x.exceptions)
        todo.extend(c for c in (x.__cause__, x.__context__) if c is not None)
    return found


def _dead(what: str) -> CameraError:
    return CameraError("dead", f"{what}: no reply from the camera's network (TCP keepalive timed out)")


def translate(e: Exception, what: str) -> CameraError:
    """httpx's exception (whose text may hold the URL with credentials) as a safe CameraError."""
    errnos = {x.errno for x in _os_errors(e)}
    if errno.ETIMEDOUT in errnos and isinstance(e, httpx.ReadError):
        return _dead(what)
    text = " ".join([str(e), *(x.strerror or "" for x in _os_errors(e))]).lower()
    if errno.ECONNREFUSED in errnos:
        text += " refused"
    if errno.ECONNRESET in errnos:
        text += " reset"
    if isinstance(e, httpx.ConnectTimeout):
        return CameraError("timeout", f"{what}: connect timed out")
    if isinstance(e, httpx.ReadTimeout | httpx.WriteTimeout | httpx.PoolTimeout):
        return CameraError("timeout", f"{what}: no data within the read timeout (stalled)")
    if isinstance(e, httpx.ConnectError):
        if "refused" in text:
            return CameraError("refused", f"{what}: connection refused")
        if "name or service" in text or "resolution" in text or "nodename" in text:
            return CameraError("network", f"{what}: host name not found")
        return CameraError("network", f"{what}: cannot connect ({safe_reason(e, limit=80)})")
    if isinstance(e, httpx.RemoteProtocolError):
        if "peer closed" in text or "incomplete" in text:
            return CameraError("reset", f"{what}: camera closed the connection mid-stream")
        return CameraError("protocol", f"{what}: broken HTTP from camera ({safe_reason(e, limit=80)})")
    if isinstance(e, httpx.ReadError | httpx.WriteError):
        if "reset" in text:
            return CameraError("reset", f"{what}: connection reset by camera")
        return CameraError("reset", f"{what}: connection lost ({safe_reason(e, limit=80)})")
    if isinstance(e, httpx.TooManyRedirects):
        return CameraError("protocol", f"{what}: too many redirects")
    return CameraError("network", f"{what}: {type(e).__name__}")
