"""The loopback test servers keep their port across stop() and start(): nobody else can take it."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

import pytest

from tests.support.targets import FtpServer, SmtpServer


def assert_taken(port: int) -> None:
    """The port is bound: a plain bind fails, and the kernel never hands it out for a bind to 0
    (which is how every other test on the machine picks its ports)."""
    with socket.socket() as other, pytest.raises(OSError) as err:
        other.bind(("127.0.0.1", port))
    assert err.value.errno == errno.EADDRINUSE


def test_ftp_port_is_held_while_stopped(ftp_server: FtpServer) -> None:
    ftp_server.stop()
    assert_taken(ftp_server.port)
    ftp_server.start()
    assert_taken(ftp_server.port)


def test_smtp_port_is_held_before_the_first_start_and_while_stopped(
    make_smtp: Callable[..., SmtpServer],
) -> None:
    server = make_smtp(start=False)  # tests put the port in a config before the server runs
    assert_taken(server.port)
    server.start()
    server.stop()
    assert_taken(server.port)
    server.start()
