"""The HTTP endpoint's listening socket, bound at start-up before anything else runs.

Bound by the daemon right after it took the state_dir lock, so a busy or wrong `http_listen` stops
the start in one line that names the address, before recovery runs or a camera connects; the
server takes the bound socket over (hypercorn's `fd://` bind).
"""

from __future__ import annotations

import socket

from recorderd.core.errors import RecorderdError, safe_reason

BACKLOG = 128


class ListenError(RecorderdError):
    """`daemon.http_listen` cannot be bound (message names the address and the cause)."""


def split_listen(listen: str) -> tuple[str, int]:
    """'127.0.0.1:8765' -> ('127.0.0.1', 8765); '[::1]:8765' -> ('::1', 8765) (validated by the config)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def bind_listener(listen: str) -> socket.socket:
    """A listening TCP socket on `listen` (the families as hypercorn picks them); raises ListenError."""
    host, port = split_listen(listen)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as e:
        sock.close()
        raise ListenError(
            f"HTTP endpoint: cannot listen on {listen} (daemon.http_listen): {safe_reason(e)}"
        ) from None
    return sock
