"""After a long outage a camera that was up recently is tried at least every 5 s (with jitter), so it
is back within seconds of coming back (it took up to the former 30 s cap: docs/cameras.md).

Virtual time: a MockClock running 15 times faster than the wall."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio
import trio.testing

from recorderd.cameras.liveness import RECENT_CAP
from recorderd.core import events as ev
from tests.support.simharness import rig

OUTAGE = 60.0  # virtual seconds: the old backoff had reached its 30 s cap


async def test_back_within_seconds_after_a_long_outage(
    tmp_path: Path, mock_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "recorderd.cameras")
    mock_clock.rate = 15.0
    sims = {"cam": {"dialect": "mjpeg", "audio": "none"}}
    cams = {"cam": {"triggers": [], "record": {"mode": "continuous"}, "read_timeout": "5s"}}
    async with rig(tmp_path, sims, cams) as r:
        await r.watch.next(ev.Connected, "cam", connected=True, timeout=60)
        assert r.daemon.engine is not None
        cam = r.daemon.engine.cameras["cam"]
        r.sim["cam"].set_faults(refuse=True, close_after=0)  # gone: streams cut, connections refused
        await r.watch.next(ev.Connected, "cam", connected=False, timeout=60)
        tries = cam.stats.failures
        await trio.sleep(OUTAGE)
        tries = cam.stats.failures - tries
        assert tries >= OUTAGE / RECENT_CAP, tries  # at least one attempt every RECENT_CAP seconds
        r.sim["cam"].clear_faults()
        mark = len(caplog.messages)
        t0 = trio.current_time()
        await r.watch.next(ev.Connected, "cam", connected=True, timeout=60)
        back = trio.current_time() - t0
        assert back <= RECENT_CAP + 1.0, back
        assert cam.status()["streams"]["video"]["failures"]["refused"] >= tries - 1
        # one line says it: no "stream up again" after "connected"
        said = [m for m in caplog.messages[mark:] if m.startswith("cam: ")]
        assert len(said) == 1 and said[0].startswith("cam: connected (video) after "), said
