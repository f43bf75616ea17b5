"""Fixtures for the action tests: real servers on loopback (aiosmtpd, pyftpdlib, an HTTP receiver)."""

from __future__ import annotations

import base64
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.support.targets import Cert, FtpServer, HttpReceiver, Seen, SmtpServer, _digest_ok


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    d = tmp_path_factory.mktemp("tls")
    c, k = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(k), "-out", str(c),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return Cert(c, k)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    s = SmtpServer()
    s.start()
    yield s
    s.close()


@pytest.fixture
def make_smtp(cert: Cert) -> Iterator[Callable[..., SmtpServer]]:
    made: list[SmtpServer] = []

    def make(mode: str = "none", users: dict[str, str] | None = None, start: bool = True) -> SmtpServer:
        s = SmtpServer(mode, cert, users)
        if start:
            s.start()
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[FtpServer]:
    root = tmp_path / "ftproot"
    root.mkdir()
    s = FtpServer(root)
    s.start()
    yield s
    s.close()


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    rec = HttpReceiver()

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
    yield rec
    server.shutdown()
    server.server_close()
    thread.join(5)
