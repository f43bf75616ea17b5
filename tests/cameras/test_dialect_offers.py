"""What the documents offer, end to end against the simulator: output-state triggers where a document
gives a source (VAPIX io/output.cgi?monitor, MOVE eventdata IO:Status), and video_url in every dialect."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from recorderd.core import events as ev
from tests.support.simharness import rig


@pytest.mark.parametrize(("dialect", "output"), [("vapix", 1), ("move", 2)])
async def test_output_state_triggers(dialect: str, output: int, tmp_path: Path) -> None:
    trigger = f"output:{output}"
    sim = {"cam": {"dialect": dialect, "outputs": 2}}
    async with rig(tmp_path, sim, {"cam": {"triggers": [trigger], "record": {"mode": "off"}}}) as r:
        await r.watch.next(ev.Connected, "cam", connected=True)
        await r.sim.set_trigger("cam", trigger, True)  # the relay switched by someone else
        start = await r.watch.next(ev.IncidentEvent, "cam", type="start")
        assert start.trigger == trigger
        await r.sim.set_trigger("cam", trigger, False)
        await r.watch.next(ev.IncidentEvent, "cam", type="end", id=start.id)
        if dialect == "vapix":
            paths = {s.path for s in r.sim["cam"].streams}
            assert f"/io/output.cgi?monitor={output}" in paths


@pytest.mark.parametrize("dialect", ["foscam", "vapix", "openapi", "ipcamcgi"])
async def test_video_url_is_honoured_in_every_dialect(dialect: str, tmp_path: Path) -> None:
    """docs/cameras.md: video_url overrides the dialect's path for any dialect (foscam ignored it)."""
    paths = {"foscam": "/videostream.cgi", "vapix": "/mjpg/1/video.mjpg", "openapi": "/video.cgi"}
    path = paths.get(dialect, "/mjpeg.cgi")
    async with rig(tmp_path, {"cam": {"dialect": dialect}}, {"cam": {"record": {"mode": "continuous"}}}) as r:
        url = r.sim["cam"].url(path) + "?resolution=8"
        await r.daemon.reload(
            r.daemon.cfg.model_copy(
                update={"cameras": {"cam": r.daemon.cfg.cameras["cam"].model_copy(update={"video_url": url})}}
            )
        )
        cam = r.sim["cam"]
        with trio.fail_after(10):
            await cam.wait_until(
                lambda: any(s.kind == "video" and "resolution=8" in s.path and s.parts for s in cam.streams)
            )
