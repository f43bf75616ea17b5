"""End to end with the simulator, per dialect: a scripted trigger yields exactly one incident start and
one end at the right times; while disarmed by the schedule, none; frames reach the recorder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trio

from recorderd.core import events as ev
from recorderd.recording.frames import AudioFormat, Frame
from tests.support.simharness import rig

# dialect -> (simulator trigger, configured trigger, extra simulator settings)
CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "foscam": ("motion", "motion", {}),
    "foscam_input": ("input:1", "input:1", {"dialect": "foscam"}),
    "ipcamcgi": ("input:1", "input:1", {}),
    "ipcamcgi_motion": ("motion", "motion", {"dialect": "ipcamcgi"}),
    "openapi": ("motion", "motion", {}),
    "openapi_input": ("input:2", "input:2", {"dialect": "openapi"}),
    "vapix": ("input:1", "input:1", {}),
    "vapix_motion": ("motion:1", "motion:1", {"dialect": "vapix", "motion_windows": [0, 1]}),
    "move": ("motion", "motion", {}),
    "move_input": ("input:1", "input:1", {"dialect": "move"}),
    "move_tamper": ("tamper", "tamper", {"dialect": "move"}),
}


def sim_cam(case: str) -> dict[str, Any]:
    _, _, extra = CASES[case]
    return {"dialect": case, **extra}


@pytest.mark.parametrize("dialect", sorted(CASES))
async def test_one_trigger_one_incident(tmp_path: Path, dialect: str) -> None:
    sim_trigger, trigger, _ = CASES[dialect]
    async with rig(tmp_path, {"cam": sim_cam(dialect)}, {"cam": {"triggers": [trigger]}}, recorder=True) as r:
        await r.watch.next(ev.ArmedChanged, "cam", armed=True)  # the initial state, before connecting
        await r.watch.next(ev.Connected, "cam", connected=True)
        on = await r.sim.set_trigger("cam", sim_trigger, True)
        start = await r.watch.next(ev.IncidentEvent, "cam", type="start")
        assert start.trigger == trigger
        lag_on = (start.time - datetime.fromtimestamp(on.wall, UTC)).total_seconds()
        assert 0 <= lag_on < 1.0, lag_on
        await trio.sleep(0.5)  # the incident lasts a while (repeated "on" states change nothing)
        off = await r.sim.set_trigger("cam", sim_trigger, False)
        end = await r.watch.next(ev.IncidentEvent, "cam", type="end")
        assert end.id == start.id and end.reason == "ended"
        lag_off = (end.time - datetime.fromtimestamp(off.wall, UTC)).total_seconds()
        assert 0 <= lag_off < 1.0, lag_off
        # a quiet second more: nothing else happens
        with trio.move_on_after(1.0):
            await r.watch.next(ev.IncidentEvent, "cam")
        assert [(e.type, e.id) for e in r.watch.incidents()] == [("start", start.id), ("end", start.id)]
        assert r.daemon.index is not None
        rows = await trio.to_thread.run_sync(r.daemon.index.list_incidents)
        assert [(x.id, x.start, x.end) for x in rows] == [(start.id, start.time, end.time)]
        frames = []
        while True:
            try:
                item = r.recorder["cam"].receive_nowait()
            except trio.WouldBlock:
                break
            if isinstance(item, Frame) and item.kind == "video":
                frames.append(item.data)
        assert len(frames) >= 10
        sent = {r.sim["cam"].frame_bytes(q) for q in r.sim["cam"].sent_seqs()}
        assert set(frames) <= sent  # byte-identical JPEGs


@pytest.mark.parametrize("dialect", sorted(CASES))
async def test_disarmed_by_schedule_no_incident(tmp_path: Path, dialect: str) -> None:
    sim_trigger, trigger, _ = CASES[dialect]
    cams = {"cam": {"triggers": [trigger], "schedule": "never"}}
    async with rig(tmp_path, {"cam": sim_cam(dialect)}, cams) as r:
        await r.watch.next(ev.ArmedChanged, "cam", armed=False)
        await r.watch.next(ev.Connected, "cam", connected=True)
        await r.sim.set_trigger("cam", sim_trigger, True)
        await r.watch.next(ev.TriggerChanged, "cam", on=True)  # seen, but disarmed
        await r.sim.set_trigger("cam", sim_trigger, False)
        await r.watch.next(ev.TriggerChanged, "cam", on=False)
        assert r.watch.incidents() == []
        assert r.daemon.index is not None
        assert await trio.to_thread.run_sync(r.daemon.index.list_incidents) == []


async def test_video_and_audio_reach_the_recorder(tmp_path: Path) -> None:
    sims = {
        "plain": {"dialect": "mjpeg", "audio": "mulaw"},
        "axis": {"dialect": "vapix", "audio": "mulaw", "audio_httptype": "multipart"},
        "open": {"dialect": "openapi", "audio": "mulaw", "audio_httptype": "singlepart"},
    }
    cams = {n: {"audio": True, "triggers": []} for n in sims}
    async with rig(tmp_path, sims, cams, recorder=True) as r:
        for name, want in (("plain", "mulaw"), ("axis", "mulaw"), ("open", "mulaw")):
            video = audio = 0
            fmt = None
            with trio.fail_after(10):
                while video < 5 or audio < 5:
                    item = await r.recorder[name].receive()
                    if isinstance(item, AudioFormat):
                        fmt = item
                    elif isinstance(item, Frame) and item.kind == "audio":
                        assert fmt is not None, "the format comes before the first audio"
                        assert len(item.data) % 240 == 0 or name == "axis"
                        audio += 1
                    elif isinstance(item, Frame):
                        video += 1
            assert fmt is not None and fmt.codec == want, (name, fmt)
