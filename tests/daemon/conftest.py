"""Fixtures for the daemon's tests: a real mosquitto behind a TCP gate, HTTP receivers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import trio

from tests.support.broker import Gate, Mosquitto
from tests.support.targets import HttpReceiver, serving


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


@pytest.fixture
def receivers() -> Iterator[list[HttpReceiver]]:
    """receivers[i]: four independent HTTP receivers."""
    with ExitStack() as stack:
        yield [stack.enter_context(serving(HttpReceiver())) for _ in range(4)]
