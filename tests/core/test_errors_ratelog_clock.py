"""The core's safe reasons, the rate-limited log and the clock."""

from __future__ import annotations

import logging
import socket
import ssl

import pytest
import trio
import trio.testing

from recorderd.core.errors import RecorderdError, safe_reason
from recorderd.core.ratelog import RateLimitedLog
from tests.support.clocks import TrioWallClock


class Refused(RecorderdError):
    pass


def test_safe_reason_never_shows_a_url() -> None:
    assert safe_reason(Refused("camera hall: GET /video: connection refused")) == (
        "camera hall: GET /video: connection refused"
    )
    leaky = ValueError("bad answer from http://cam/snapshot.cgi?user=admin&pwd=s3cret")
    assert safe_reason(leaky) == "ValueError"
    assert safe_reason(ValueError("no motion windows\nTraceback ...")) == "ValueError: no motion windows"
    assert safe_reason(ConnectionRefusedError(111, "Connection refused")) == "connection refused"
    assert safe_reason(socket.gaierror(-2, "Name or service not known")).startswith("cannot resolve")
    assert safe_reason(ssl.SSLError(1, "bad")).startswith("TLS error")
    assert safe_reason(OSError(28, "No space left on device")) == "No space left on device"
    assert safe_reason(KeyError()) == "KeyError"


def test_rate_limited_log_counts_and_bounds_its_keys(caplog: pytest.LogCaptureFixture) -> None:
    t = [0.0]
    rl = RateLimitedLog(logging.getLogger("t"), every=60.0, max_keys=3, clock=lambda: t[0])
    caplog.set_level(logging.INFO, "t")
    assert rl.log("a", logging.WARNING, "bad part: %s", "x")
    for _ in range(5):
        t[0] += 1
        assert not rl.log("a", logging.WARNING, "bad part: %s", "x")
    assert rl.log("a", logging.WARNING, "other text")  # a new text logs at once
    t[0] += 61
    assert rl.log("a", logging.WARNING, "other text")
    texts = [r.getMessage() for r in caplog.records]
    assert texts == ["bad part: x", "other text", "other text"]
    for k in range(100):  # a camera that invents keys cannot grow the logger
        rl.log(("cam", k), logging.INFO, "k")
    assert len(rl._seen) == 3
    assert rl.clear(("cam", 99)) and not rl.active(("cam", 99))


def test_rate_limited_log_says_how_many_were_held(caplog: pytest.LogCaptureFixture) -> None:
    t = [0.0]
    rl = RateLimitedLog(logging.getLogger("t2"), every=10.0, clock=lambda: t[0])
    caplog.set_level(logging.INFO, "t2")
    rl.log(1, logging.WARNING, "stalled")
    rl.log(1, logging.WARNING, "stalled")
    rl.log(1, logging.WARNING, "stalled")
    t[0] = 11
    rl.log(1, logging.WARNING, "stalled")
    assert [r.getMessage() for r in caplog.records] == ["stalled", "stalled (2 more since)"]


async def test_trio_wall_clock_follows_virtual_time(autojump_clock: trio.testing.MockClock) -> None:
    clock = TrioWallClock(1_700_000_000.0)
    w0, m0 = clock.wall(), clock.now()
    await trio.sleep(3600)
    assert clock.wall() - w0 == pytest.approx(3600)
    assert clock.wall_at(m0) == pytest.approx(w0)
    assert clock.utc().timestamp() == pytest.approx(w0 + 3600)
