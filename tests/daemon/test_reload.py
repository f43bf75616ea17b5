"""Config reload: the diff per camera and target (pure), and in a running daemon a changed target
swapped in place, a new target reopening the outbox, a changed camera restarted alone, no event lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recorderd.config.model import Config
from recorderd.core import events as ev
from recorderd.daemon.reload import diff
from recorderd.sim import Simulator, open_simulator
from tests.support.simharness import daemon_config as make
from tests.support.simharness import running, sim_config
from tests.support.targets import HttpReceiver
from tests.support.wait import wait_until

BASE: dict[str, Any] = {
    "daemon": {"state_dir": "/tmp/x", "timezone": "UTC", "http_listen": ""},
    "cameras": {
        "a": {"dialect": "vapix", "url": "http://127.0.0.1:1/"},
        "b": {"dialect": "vapix", "url": "http://127.0.0.1:2/", "timezone": "Europe/Berlin"},
        "c": {"dialect": "mjpeg", "video_url": "http://127.0.0.1:3/v", "enabled": False},
    },
    "targets": {"h": {"kind": "http", "url": "http://127.0.0.1:4/"}},
}


def changed(**parts: Any) -> Config:
    raw = {k: dict(v) for k, v in BASE.items()}
    for path, value in parts.items():
        section, _, name = path.partition("__")
        if not name:
            raw[section] = value
        elif value is None:
            raw[section].pop(name)
        else:
            raw[section][name] = value
    return make(raw)


def test_diff_per_camera_and_target() -> None:
    old = make(BASE)
    assert diff(old, make(BASE)).empty
    assert diff(old, make(BASE)).summary() == "nothing changed"
    d = diff(old, changed(cameras__a={"dialect": "vapix", "url": "http://127.0.0.1:1/", "min_on": "1s"}))
    assert d.cameras_changed == ["a"] and not d.cameras_added and not d.targets_changed and not d.mqtt_changed
    # a changed action list is the dispatcher's business: no camera restarts for it
    d = diff(old, changed(cameras__a={"dialect": "vapix", "url": "http://127.0.0.1:1/", "actions": ["h"]}))
    assert d.cameras_changed == [] and d.empty
    # enabling a camera adds it; disabling removes it
    d = diff(old, changed(cameras__c={"dialect": "mjpeg", "video_url": "http://127.0.0.1:3/v"}))
    assert d.cameras_added == ["c"] and d.cameras_changed == []
    d = diff(old, changed(cameras__b=None))
    assert d.cameras_removed == ["b"]
    # the daemon's timezone restarts the cameras that follow it, not b (its own zone)
    d = diff(old, changed(daemon__timezone="Asia/Tokyo"))
    assert d.cameras_changed == ["a"]
    d = diff(old, changed(targets__h={"kind": "http", "url": "http://127.0.0.1:5/"}))
    assert d.targets_changed == ["h"] and d.cameras_changed == []
    d = diff(old, changed(targets__g={"kind": "http", "url": "http://127.0.0.1:5/"}))
    assert d.targets_added == ["g"]
    d = diff(old, changed(daemon__state_dir="/tmp/y", daemon__http_listen="127.0.0.1:0"))
    assert d.needs_restart == ["daemon.state_dir"] and d.http_changed
    assert d.summary() == "HTTP endpoint restarted; not applied until a restart: daemon.state_dir"
    with_mqtt = changed(mqtt={"host": "127.0.0.1"})
    assert diff(old, with_mqtt).mqtt_changed
    # the triggers MQTT announces belong to it: a changed trigger list reconnects MQTT too
    more = {"dialect": "vapix", "url": "http://127.0.0.1:1/", "triggers": ["motion", "input:1"]}
    raw = {k: dict(v) for k, v in BASE.items()}
    raw["mqtt"] = {"host": "127.0.0.1"}
    raw["cameras"]["a"] = more
    d = diff(with_mqtt, make(raw))
    assert d.mqtt_changed and d.cameras_changed == ["a"]


def daemon_config(
    sim: Simulator, state: Path, hooks: dict[str, HttpReceiver], b_extra: dict[str, Any]
) -> Config:
    raw: dict[str, Any] = {
        "daemon": {"state_dir": str(state), "http_listen": ""},
        "targets": {n: {"kind": "http", "url": r.url, "method": "POST"} for n, r in hooks.items()},
        "cameras": {},
    }
    for name in ("a", "b"):
        table = sim[name].recorderd_camera()
        table.update({"triggers": ["motion"], "record": {"mode": "off"}, "actions": sorted(hooks)})
        raw["cameras"][name] = table
    raw["cameras"]["b"].update(b_extra)
    return make(raw)


async def test_reload_targets_and_cameras(tmp_path: Path, receivers: list[HttpReceiver]) -> None:
    r1, r2, r3, r4 = receivers
    sims = {"a": {"dialect": "vapix"}, "b": {"dialect": "openapi"}}
    async with open_simulator(sim_config(sims)) as sim:
        state = tmp_path / "state"

        async def incident(cam: str) -> tuple[str, str]:
            await sim.set_trigger(cam, "motion", True)
            start = await watch.next(ev.IncidentEvent, cam, type="start")
            await sim.set_trigger(cam, "motion", False)
            await watch.next(ev.IncidentEvent, cam, type="end")
            return start.id, start.id

        async def arrived(rec: HttpReceiver, want: list[tuple[str, str]]) -> None:
            await wait_until(lambda: all(w in rec.events() for w in want), what=f"{want} at {rec.url}")

        async with running(daemon_config(sim, state, {"h1": r1, "h2": r2}, {})) as (daemon, watch):
            await watch.next(ev.Connected, "a", connected=True)
            await watch.next(ev.Connected, "b", connected=True)
            assert daemon.stages is not None
            stage = daemon.stages.alarms
            assert stage.outbox is not None
            outbox, slot1, slot2 = stage.outbox, stage._slots["h1"], stage._slots["h2"]
            sender1, sender2 = slot1.inner, slot2.inner
            first, _ = await incident("a")
            await arrived(r1, [(first, "start"), (first, "end")])
            await arrived(r2, [(first, "start"), (first, "end")])
            # outbox depth per target, for /metrics
            assert daemon.view is not None
            assert {"h1", "h2", "camera:a", "camera:b"} <= set(daemon.view.metrics().outbox_depth)

            # h2 points elsewhere: only its sender is replaced, the outbox and h1 go on as they were
            d = await daemon.reload(daemon_config(sim, state, {"h1": r1, "h2": r3}, {}))
            assert d.targets_changed == ["h2"] and d.cameras_changed == []
            assert stage.outbox is outbox and slot1.inner is sender1 and slot2.inner is not sender2
            second, _ = await incident("a")
            await arrived(r3, [(second, "start"), (second, "end")])
            await arrived(r1, [(second, "start"), (second, "end")])
            assert all(i != second for i, _ in r2.events())

            # a new target (and camera b changed): the outbox reopens, b restarts alone
            connects_a = daemon.engine.cameras["a"].stats.connects if daemon.engine else -1
            d = await daemon.reload(
                daemon_config(sim, state, {"h1": r1, "h2": r3, "h3": r4}, {"min_on": "50ms"})
            )
            assert d.targets_added == ["h3"] and d.cameras_changed == ["b"]
            await wait_until(lambda: stage.outbox not in (None, outbox), what="the outbox reopened")
            await watch.next(ev.Connected, "b", connected=True)
            assert daemon.engine is not None and daemon.engine.cameras["a"].stats.connects == connects_a
            third, _ = await incident("b")
            for rec in (r1, r3, r4):
                await arrived(rec, [(third, "start"), (third, "end")])
            # every event reached h1 (through both reloads), each once here
            want = [(i, t) for i in (first, second, third) for t in ("start", "end")]
            assert [e for e in r1.events() if e in want] == want
