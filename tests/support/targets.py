"""Shared helpers and real loopback servers for the action tests (conftest holds the fixtures)."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from recorderd.actions.outbox import Report
from recorderd.config.load import parse_config
from recorderd.config.model import Config
from recorderd.core.backoff import BackoffPolicy
from recorderd.core.events import IncidentEvent
from tests.support.wait import Changes

FAST = BackoffPolicy(base=0.1, factor=2.0, cap=0.3, jitter=0.0)
ZONE = timezone(timedelta(hours=1))
JPEG_A = b"\xff\xd8\xff\xe0" + b"A" * 100 + b"\xff\xd9"
JPEG_B = b"\xff\xd8\xff\xe0" + b"B" * 200 + b"\xff\xd9"


def config(toml: str) -> Config:
    return parse_config(toml)


def event(
    type: str = "start",
    *,
    id: str = "front-1",
    camera: str = "front",
    trigger: str = "motion",
    at: datetime | None = None,
    armed: bool = True,
    recording: str | None = None,
    snapshots: tuple[bytes, ...] = (),
) -> IncidentEvent:
    return IncidentEvent(
        id=id,
        camera=camera,
        trigger=trigger,
        type="start" if type == "start" else "end",
        time=at or datetime(2024, 3, 1, 12, 30, 45, 123000, tzinfo=ZONE),
        armed=armed,
        recording=recording,
        snapshots=snapshots,
    )


class Reports:
    """An outbox observer the tests can wait on."""

    def __init__(self) -> None:
        self.items: list[Report] = []
        self.changes = Changes()

    def __call__(self, r: Report) -> None:
        self.items.append(r)
        self.changes.notify()

    def count(self, state: str, target: str | None = None) -> int:
        return sum(
            1 for r in self.items if r.state == state and (target is None or r.action.target == target)
        )

    def states(self, state: str) -> list[int]:
        """The action ids reported in `state`, in order."""
        return [r.action.id for r in self.items if r.state == state]

    async def wait(self, state: str, n: int = 1, target: str | None = None, timeout: float = 10.0) -> None:
        await self.changes.until(lambda: self.count(state, target) >= n, timeout, f"{n} {state!r} report(s)")

    async def wait_for(self, pred: Callable[[], bool], timeout: float = 10.0) -> None:
        await self.changes.until(pred, timeout)


class ReservedPort:
    """A loopback port held for a test server's whole life, across stop() and start().

    The holder is bound with SO_REUSEADDR and never listens, so the server (asyncio and pyftpdlib
    set SO_REUSEADDR) can bind the port on every start, while nobody else is handed it meanwhile:
    no bind-close-reuse race with the other tests on the machine.
    """

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])

    def close(self) -> None:
        self._sock.close()


# -- TLS ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


# -- SMTP --------------------------------------------------------------------------------------


class MailBox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.reject: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.reject:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK queued"


class SmtpServer:
    """aiosmtpd on a fixed loopback port that can be stopped and started again."""

    def __init__(self, mode: str = "none", cert: Cert | None = None, users: dict[str, str] | None = None):
        self._reserved = ReservedPort()
        self.port = self._reserved.port
        self.box = MailBox()
        self.mode = mode
        self.cert = cert
        self.users = users
        self.controller: Controller | None = None

    def _auth(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self.users is not None
        if ok:
            ok = self.users.get(data.login.decode()) == data.password.decode()  # type: ignore[union-attr]
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        kw: dict[str, Any] = {}
        if self.users is not None:
            kw.update(authenticator=self._auth, auth_require_tls=False)
        if self.mode == "tls":
            assert self.cert
            kw["ssl_context"] = self.cert.server_context()
        elif self.mode == "starttls":
            assert self.cert
            kw.update(tls_context=self.cert.server_context(), require_starttls=True)
        self.controller = Controller(self.box, hostname="127.0.0.1", port=self.port, **kw)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def close(self) -> None:
        self.stop()
        self._reserved.close()


# -- FTP ---------------------------------------------------------------------------------------


class FtpServer:
    """pyftpdlib in a thread, on a fixed loopback port; stop() and start() again."""

    def __init__(self, root: Path, user: str = "cam", password: str = "secret") -> None:
        self.root = root
        self.user = user
        self.password = password
        self._reserved = ReservedPort()
        self.port = self._reserved.port
        self.throttle = 0  # bytes/s on uploads, 0 = none
        self.perm = "elradfmwMT"  # pyftpdlib permissions of the user ("f" = rename)
        self.no_rename_over = False  # RNTO onto an existing file answers 553, as some servers do
        self.received: list[str] = []  # files completed by STOR, in order
        self.commands: list[str] = []  # every command received, e.g. "CWD /front"
        self.connections = 0
        self.disconnects = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()

    def start(self) -> None:
        auth = DummyAuthorizer()
        auth.add_user(self.user, self.password, str(self.root), perm=self.perm)
        received = self.received
        server_self = self

        class Dtp(ThrottledDTPHandler):  # type: ignore[misc]
            read_limit = self.throttle

        class Handler(FTPHandler):  # type: ignore[misc]
            authorizer = auth
            dtp_handler = Dtp if self.throttle else FTPHandler.dtp_handler
            passive_ports = None

            def on_file_received(self, file: str) -> None:
                received.append(file)

            def on_connect(self) -> None:
                server_self.connections += 1

            def on_disconnect(self) -> None:
                server_self.disconnects += 1

            def ftp_RNTO(self, path: str) -> Any:
                source: str | None = getattr(self, "_rnfr", None)  # the pending RNFR (pyftpdlib's own)
                if server_self.no_rename_over and source and os.path.exists(path):
                    self._rnfr = None
                    self.respond("553 Requested action not taken: file exists.")
                    return None
                return super().ftp_RNTO(path)

            def pre_process_command(self, line: str, cmd: str, arg: str) -> None:
                server_self.commands.append(f"{cmd} {arg}".strip())
                super().pre_process_command(line, cmd, arg)

        self._stop.clear()
        self._ready.clear()
        server = FTPServer(("127.0.0.1", self.port), Handler, ioloop=IOLoop())

        def loop() -> None:
            self._ready.set()
            try:
                while not self._stop.is_set():
                    server.serve_forever(timeout=0.02, blocking=False, handle_exit=False)
            finally:
                server.close_all()

        self._thread = threading.Thread(target=loop, name="ftp-server", daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._reserved.close()

    def files(self) -> dict[str, bytes]:
        return {
            str(p.relative_to(self.root)): p.read_bytes() for p in sorted(self.root.rglob("*")) if p.is_file()
        }


# -- HTTP --------------------------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    port: int = 0
    requests: list[Seen] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # statuses to answer, in order; then 200
    body: bytes = b"OK\r\n"
    basic: tuple[str, str] | None = None
    digest: tuple[str, str] | None = None
    query_auth: tuple[str, str] | None = None  # Foscam CGI user=&pwd=, else 401 without a challenge
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location (302)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def events(self) -> list[tuple[str, str]]:
        """(id, type) of every incident event posted as JSON, in arrival order."""
        out = []
        for seen in self.requests:
            body = seen.json() if seen.body else {}
            if isinstance(body, dict) and "id" in body:
                out.append((body["id"], body["type"]))
        return out


@contextmanager
def serving(rec: HttpReceiver) -> Iterator[HttpReceiver]:
    """Serve `rec` on a free loopback port (a thread) for the block: it answers as `rec` says
    (auth, redirects, statuses) and records every request it accepts."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            auth = self.headers.get("Authorization", "")
            if rec.basic is not None:
                want = "Basic " + base64.b64encode(f"{rec.basic[0]}:{rec.basic[1]}".encode()).decode()
                if auth != want:
                    self._reply(401, b"", {"WWW-Authenticate": 'Basic realm="recorderd-test"'})
                    return
            if rec.digest is not None and not (
                auth.startswith("Digest ") and _digest_ok(auth, self.command, *rec.digest)
            ):
                challenge = 'Digest realm="recorderd-test", nonce="abc123", qop="auth", algorithm=MD5'
                self._reply(401, b"", {"WWW-Authenticate": challenge})
                return
            split = urlsplit(self.path)
            query = dict(parse_qsl(split.query, keep_blank_values=True))
            if rec.query_auth is not None and (query.get("user"), query.get("pwd")) != rec.query_auth:
                self._reply(401, b"")
                return
            if split.path in rec.redirects:
                self._reply(302, b"", {"Location": rec.redirects[split.path]})
                return
            rec.requests.append(
                Seen(
                    self.command,
                    split.path,
                    parse_qsl(split.query, keep_blank_values=True),
                    dict(self.headers),
                    body,
                )
            )
            status = rec.statuses.pop(0) if rec.statuses else 200
            self._reply(status, rec.body)

        def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _handle
        do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _digest_ok(header: str, method: str, user: str, password: str) -> bool:
    parts = dict(
        (k.strip(), v.strip().strip('"'))
        for k, _, v in (p.partition("=") for p in header[len("Digest ") :].split(","))
    )
    ha1 = hashlib.md5(f"{user}:recorderd-test:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{parts.get('uri', '')}".encode()).hexdigest()
    want = hashlib.md5(
        f"{ha1}:{parts.get('nonce')}:{parts.get('nc')}:{parts.get('cnonce')}:{parts.get('qop')}:{ha2}".encode()
    ).hexdigest()
    return parts.get("username") == user and parts.get("response") == want
