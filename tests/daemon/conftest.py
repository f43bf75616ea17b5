"""Fixtures for the daemon's tests: a real mosquitto behind a TCP gate (from tests/mqtt), HTTP receivers."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.mqtt.conftest import Gate, Mosquitto


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """An anonymous mosquitto on a free loopback port, no persistence; killed at teardown."""
    b = Mosquitto(tmp_path / "broker")
    b.start()
    yield b
    b.stop(kill=True)


@pytest.fixture
async def gate(broker: Mosquitto, nursery: trio.Nursery) -> AsyncIterator[Gate]:
    """The daemon's way to the broker; closed, it hangs up at once (follows the broker's port)."""
    g = Gate(lambda: broker.port)
    await nursery.start(g.serve)
    yield g


@dataclass
class Receiver:
    """A local HTTP server that records each request's path and JSON body."""

    port: int = 0
    got: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def events(self) -> list[tuple[str, str]]:
        return [(e["id"], e["type"]) for _, body in self.got for e in ([body] if "id" in body else [])]


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    """receivers[i]: four independent HTTP receivers."""
    made: list[tuple[Receiver, ThreadingHTTPServer]] = []
    for _ in range(4):
        rec = Receiver()

        class Handler(BaseHTTPRequestHandler):
            sink = rec

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.sink.got.append((self.path, json.loads(body or b"{}")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        rec.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        made.append((rec, server))
    yield [r for r, _ in made]
    for _, server in made:
        server.shutdown()
        server.server_close()
