"""The scenario timeline and the /_sim/ control API (camera ports and the control port)."""

from __future__ import annotations

import httpx
import trio

from recorderd.sim import ScenarioStep, SimCameraConfig, SimConfig, Simulator, open_simulator
from recorderd.sim.config import SimulatorSettings


async def test_scenario_timeline() -> None:
    steps = [
        ScenarioStep(at=0.3, trigger="motion", duration=0.4),
        ScenarioStep(at=0.5, faults={"status": 503}),
        ScenarioStep(at=0.9, clear_faults=True),
    ]
    cfg = SimConfig(cameras={"c": SimCameraConfig(dialect="vapix", scenario=steps, repeat=1.5)})
    async with open_simulator(cfg) as sim, httpx.AsyncClient() as client:
        cam = sim["c"]
        with trio.fail_after(3):
            await cam.wait_until(lambda: cam.faults.status == 503)
            r = await client.get(cam.url("/jpg/image.jpg"))
            assert r.status_code == 503
            await cam.wait_until(lambda: len(cam.changes) == 2 and cam.faults.status is None)
        on, off = cam.changes
        assert (on.kind, on.on, off.on, on.source) == ("motion", True, False, "scenario")
        assert abs(on.mono - sim.started_mono - 0.3) < 0.1 and abs(off.mono - on.mono - 0.4) < 0.1
        with trio.fail_after(3):  # repeat: the timeline runs again 1.5 s after it started
            await cam.wait_until(lambda: len(cam.changes) == 3)
        assert abs(cam.changes[2].mono - sim.started_mono - 1.8) < 0.1


async def test_control_api_on_camera_port(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["move"]
    r = await client.post(cam.url("/_sim/trigger?name=tamper&on=1"))
    effect = r.json()
    assert r.status_code == 200 and effect["trigger"] == "tamper" and effect["on"] is True
    assert effect["source"] == "http" and cam.trigger("tamper")
    state = (await client.get(cam.url("/_sim/state"))).json()
    assert state["triggers"]["tamper"] is True and state["dialect"] == "move" and state["url"] == cam.base_url
    r = await client.post(cam.url("/_sim/trigger?name=nope&on=1"))
    assert r.status_code == 400 and "no trigger" in r.json()["error"]
    r = await client.post(cam.url("/_sim/faults?stall_after=3&boundary=quoted&delay=50ms"))
    assert r.json()["stall_after"] == 3 and cam.faults.boundary == "quoted" and cam.faults.delay == 0.05
    r = await client.post(cam.url("/_sim/faults"), json={"stall_after": None, "refuse": False})
    assert r.json()["stall_after"] is None
    r = await client.post(cam.url("/_sim/faults?bogus=1"))
    assert r.status_code == 400 and "bogus" in r.json()["error"]
    r = await client.post(cam.url("/_sim/faults/clear"))
    assert r.json()["boundary"] == "default"
    await client.get(cam.url("/cgi-bin/com/ptz.cgi?move=left"), auth=("admin", "secret"))
    calls = (await client.get(cam.url("/_sim/controls"))).json()
    assert calls[-1]["kind"] == "ptz" and calls[-1]["params"] == {"move": "left"}
    reqs = (await client.get(cam.url("/_sim/requests"))).json()
    assert [x["target"] for x in reqs] == ["/cgi-bin/com/ptz.cgi?move=left"]  # control calls are not logged
    assert (await client.get(cam.url("/_sim/frames"))).json() == []


async def test_control_port_outlives_refuse() -> None:
    cfg = SimConfig(
        simulator=SimulatorSettings(control_port=0),
        cameras={"a": SimCameraConfig(dialect="mjpeg"), "b": SimCameraConfig(dialect="foscam")},
    )
    async with open_simulator(cfg) as sim, httpx.AsyncClient() as client:
        assert sim.control_url
        listed = (await client.get(sim.control_url + "cameras")).json()
        assert [c["name"] for c in listed] == ["a", "b"] and listed[0]["url"] == sim["a"].base_url
        cam = sim["a"]
        r = await client.post(sim.control_url + "a/faults?refuse=true")
        assert r.json()["refuse"] is True
        with trio.fail_after(5):
            await cam.wait_until(lambda: not cam.listening)
        r = await client.post(sim.control_url + "a/faults/clear")
        with trio.fail_after(5):
            await cam.wait_until(lambda: cam.listening)
        async with client.stream("GET", cam.video_url) as resp:
            it = resp.aiter_raw()
            with trio.fail_after(5):
                first = await it.__anext__()
            assert first.startswith(b"--myboundary")
            # a frame counts as sent once its last burst is written: the connection stays open
            with trio.fail_after(5):
                await cam.wait_until(lambda: cam.frames_sent >= 1)
        seq = cam.sent_seqs()[0]
        r = await client.get(sim.control_url + f"a/frame?seq={seq}")
        assert r.headers["content-type"] == "image/jpeg" and r.content == cam.frame_bytes(seq)
        assert (await client.get(sim.control_url + "zzz/state")).status_code == 404


async def test_recorderd_camera_tables_are_valid_daemon_config(sim: Simulator) -> None:
    from recorderd.config.model import Config

    raw = {"daemon": {"http_listen": ""}, "cameras": {c.name: c.recorderd_camera() for c in sim}}
    cfg = Config.model_validate(raw, context={"targets": set(), "mqtt": False})
    assert cfg.cameras["move"].video_url == sim["move"].video_url
    assert cfg.cameras["mjpeg"].video_url == sim["mjpeg"].video_url and cfg.cameras["vapix"].auth == "digest"
