"""Fixtures for the MQTT tests: a real mosquitto, a real subscriber, a TCP gate and TLS files
(the classes live in tests.support.broker)."""

from __future__ import annotations

import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import trio

from tests.support.broker import Gate, Mosquitto, Subscriber

MosquittoFactory = Callable[..., Mosquitto]


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[MosquittoFactory]:
    """`mosquitto_factory(users=..., tls=..., extra=[...])` -> a started broker; all are killed at teardown."""
    brokers: list[Mosquitto] = []

    def make(
        *,
        users: dict[str, str] | None = None,
        tls: tuple[Path, Path] | None = None,
        extra: list[str] | None = None,
    ) -> Mosquitto:
        broker = Mosquitto(tmp_path / f"mosquitto{len(brokers)}", users=users, tls=tls, extra=extra)
        brokers.append(broker)
        broker.start()
        return broker

    yield make
    for broker in brokers:
        broker.stop(kill=True)


@pytest.fixture
def mosquitto(mosquitto_factory: MosquittoFactory) -> Mosquitto:
    """An anonymous broker on a free loopback port."""
    return mosquitto_factory()


SubscriberFactory = Callable[..., Subscriber]


@pytest.fixture
def subscriber() -> Iterator[SubscriberFactory]:
    made: list[Subscriber] = []

    def make(port: int, filters: list[str], **kw: object) -> Subscriber:
        sub = Subscriber(port, filters, **kw)  # type: ignore[arg-type]
        made.append(sub)
        return sub

    yield make
    for sub in made:
        sub.close()


GateFactory = Callable[[Mosquitto], Awaitable[Gate]]


@pytest.fixture
async def gate_factory(nursery: trio.Nursery) -> GateFactory:
    """`await gate_factory(broker)` -> a Gate in front of `broker` (follows its port)."""

    async def make(broker: Mosquitto) -> Gate:
        gate = Gate(lambda: broker.port)
        await nursery.start(gate.serve)
        return gate

    return make


@pytest.fixture
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
