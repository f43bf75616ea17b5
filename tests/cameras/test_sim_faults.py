"""Faults survived with reconnects and without phantom incidents; real-world framing quirks read
without a single reconnect, frames byte-identical to what the simulator sent."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import trio

from recorderd.core import events as ev
from recorderd.sim import SimCamera
from tests.support.simharness import rig

QUIRKS: dict[str, dict[str, Any]] = {
    "cl_missing": {"content_length": "missing"},
    "cl_short": {"content_length": "short"},
    "cl_long": {"content_length": "long"},
    "cl_nospace": {"content_length_nospace": True, "content_type_size": True},
    "b_dashed": {"boundary": "dashed", "preamble": "junk"},
    "b_quoted": {"boundary": "quoted", "preamble": "blank_lines"},
    "b_spaces": {"boundary": "spaces", "headers_first": True},
    "b_repeat": {"repeat_boundary": True, "extra_crlf": True},
    "b_leading": {"leading_delimiter": True, "extra_crlf": True},
    "bare_lf": {"bare_lf": True},
    "drip": {"drip_bytes": 4096, "drip_delay": "1ms"},
}

FAULTS: dict[str, dict[str, Any]] = {
    "stall": {"stall_after": 8},
    "close_mid_frame": {"close_after": 8},
    "reset": {"reset_after": 8},
    "s401_then_ok": {"status": 401, "status_count": 3},
    "s503": {"status": 503, "status_count": 3},
}


def all_sent(cam: SimCamera, frames: set[bytes]) -> bool:
    return frames <= {cam.frame_bytes(q) for q in cam.sent_seqs()}


async def test_framing_quirks_read_cleanly(tmp_path: Path) -> None:
    sims = {n: {"dialect": "foscam", "fps": 20, "faults": q} for n, q in QUIRKS.items()}
    cams = {n: {"triggers": ["motion"]} for n in QUIRKS}
    async with rig(tmp_path, sims, cams, recorder=True) as r:
        for name in QUIRKS:
            got = set(await r.video(name, 15))
            # the simulator notes a frame as sent once its last write returned, which may be after
            # the daemon (in the same trio run) has already read and parsed it
            with trio.move_on_after(5):
                await r.sim[name].wait_until(partial(all_sent, r.sim[name], got))
            assert all_sent(r.sim[name], got), name
        assert r.daemon.engine is not None
        for name in QUIRKS:
            st = r.daemon.engine.cameras[name].stats
            assert st.reconnects == 0, (name, st.last_error)


async def test_faults_reconnect_without_phantom_incidents(tmp_path: Path) -> None:
    sims = {n: {"dialect": "foscam", "fps": 20, "faults": f} for n, f in FAULTS.items()}
    cams = {n: {"triggers": ["motion"], "read_timeout": "1s"} for n in FAULTS}
    async with rig(tmp_path, sims, cams, recorder=True) as r:
        assert r.daemon.engine is not None
        engine = r.daemon.engine
        # every camera came up, and the stream faults made each reconnect at least once
        for name in FAULTS:
            await r.watch.next(ev.Connected, name, connected=True, timeout=20)
        with trio.fail_after(20):
            for name in ("stall", "close_mid_frame", "reset"):
                while engine.cameras[name].stats.reconnects < 1:
                    await r.video(name, 1)
        assert r.watch.incidents() == []  # no phantom incident from any fault
        # a scripted trigger across the faults gives exactly one incident per camera
        for name in FAULTS:
            await r.sim.set_trigger(name, "motion", True)
        for name in FAULTS:
            await r.watch.next(ev.IncidentEvent, name, type="start", timeout=15)
        await trio.sleep(0.3)
        for name in FAULTS:
            await r.sim.set_trigger(name, "motion", False)
        for name in FAULTS:
            await r.watch.next(ev.IncidentEvent, name, type="end", timeout=15)
        for name in FAULTS:
            assert [e.type for e in r.watch.incidents(name)] == ["start", "end"], name
        # and the video kept coming after the reconnects, byte-identical
        for name in FAULTS:
            got = await r.video(name, 5)
            sent = {r.sim[name].frame_bytes(q) for q in r.sim[name].sent_seqs()}
            assert set(got) <= sent, name
