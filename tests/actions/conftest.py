"""Fixtures for the action tests: real servers on loopback (aiosmtpd, pyftpdlib, an HTTP receiver)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.targets import Cert, FtpServer, HttpReceiver, SmtpServer, serving


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
    with serving(HttpReceiver()) as rec:
        yield rec
