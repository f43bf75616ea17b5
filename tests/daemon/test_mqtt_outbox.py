"""MQTT incident events through the durable outbox, against a real mosquitto and the simulator.

- the broker is killed (-9) mid-incident and comes back later: every event arrives afterwards, in
  order, and the retained state is there again;
- a daemon stopped with MQTT events still pending (broker unreachable) delivers them after its
  restart, before the new run's events.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import trio

from recorderd.actions.outbox import OutboxStore
from recorderd.actions.runtime import outbox_path
from recorderd.config.model import Config
from recorderd.core import events as ev
from recorderd.daemon.lifecycle import Daemon
from recorderd.mqtt.client import Tuning
from recorderd.sim import Simulator, open_simulator
from tests.support.broker import Gate, Mosquitto, Received, Subscriber
from tests.support.simharness import Watch, daemon_config, running, sim_config
from tests.support.wait import wait_until

FAST = Tuning(backoff_initial=0.05, backoff_max=0.3, connect_timeout=2.0)


def config(sim: Simulator, state: Path, port: int) -> Config:
    table = sim["yard"].recorderd_camera()
    table.update({"triggers": ["motion"], "record": {"mode": "off"}, "read_timeout": "3s"})
    raw = {
        "daemon": {"state_dir": str(state), "http_listen": ""},
        "mqtt": {"host": "127.0.0.1", "port": port, "topic": "rd", "discovery": False},
        "cameras": {"yard": table},
    }
    return daemon_config(raw)


def events(msgs: list[Received]) -> list[tuple[str, str]]:
    """(id, type) of the event messages, duplicates (at least once) dropped as a receiver would."""
    out: list[tuple[str, str]] = []
    for m in msgs:
        if m.topic == "rd/yard/events":
            e = json.loads(m.payload)
            if (e["id"], e["type"]) not in out:
                out.append((e["id"], e["type"]))
    return out


def publisher(daemon: Daemon) -> object:
    return daemon.stages.mqtt.publisher if daemon.stages is not None else None


async def incident(sim: Simulator, watch: Watch) -> tuple[ev.IncidentEvent, ev.IncidentEvent]:
    await sim.set_trigger("yard", "motion", True)
    start = await watch.next(ev.IncidentEvent, "yard", type="start")
    await sim.set_trigger("yard", "motion", False)
    end = await watch.next(ev.IncidentEvent, "yard", type="end")
    return start, end


def pending_mqtt(cfg: Config) -> list[dict[str, Any]]:
    store = OutboxStore(outbox_path(cfg))
    try:
        rows = store.by_state("pending", 100, target="mqtt")
    finally:
        store.close()
    return [e for r in sorted(rows, key=lambda r: r.id) for e in r.payload["events"]]


async def test_broker_killed_mid_incident(
    tmp_path: Path, broker: Mosquitto, gate: Gate, nursery: trio.Nursery
) -> None:
    sub = Subscriber(broker.port, ["rd/#"])
    try:
        await sub.wait_subscribed()
        async with open_simulator(sim_config({"yard": {"dialect": "vapix"}})) as sim:
            cfg = config(sim, tmp_path / "state", gate.port)
            async with running(cfg, mqtt_tuning=FAST) as (_daemon, watch):
                await sub.wait_for(
                    lambda ms: any(m.topic == "rd/yard/connected" and m.payload == b"ON" for m in ms)
                )
                on = await sim.set_trigger("yard", "motion", True)
                start1 = await watch.next(ev.IncidentEvent, "yard", type="start")
                seen = time.monotonic()
                await sub.wait_for(lambda ms: events(ms) == [(start1.id, "start")])
                arrived = time.monotonic()
                print(
                    f"trigger -> MQTT {arrived - on.mono:.3f}s; bus -> MQTT {arrived - seen:.3f}s "
                    "(outbox commit, claim, PUBACK)"
                )

                # the broker dies mid-incident; the daemon cannot reach a new one until the gate opens
                gate.is_open = False
                broker.stop(kill=True)
                await sim.set_trigger("yard", "motion", False)
                end1 = await watch.next(ev.IncidentEvent, "yard", type="end")
                start2, end2 = await incident(sim, watch)
                sub.close()
                broker.start()  # same port, no persistence: the retained state is gone
                sub = Subscriber(broker.port, ["rd/#"])
                await sub.wait_subscribed()
                assert sub.snapshot() == []
                gate.is_open = True

                want = [(end1.id, "end"), (start2.id, "start"), (end2.id, "end")]
                got = await sub.wait_for(lambda ms: events(ms) == want, timeout=20, what="the held events")
                assert all(not m.retain for m in got if m.topic == "rd/yard/events")
                # retained state is republished after the reconnect
                await sub.wait_for(
                    lambda ms: any(m.topic == "rd/yard/connected" and m.payload == b"ON" for m in ms)
                )
                await sub.wait_for(
                    lambda ms: any(m.topic == "rd/available" and m.payload == b"online" for m in ms)
                )
                # every row is marked done (just after its PUBACK)
                await wait_until(
                    lambda: trio.to_thread.run_sync(lambda: not pending_mqtt(cfg)), 5, "every row done", 0.05
                )
    finally:
        sub.close()


async def test_daemon_restart_delivers_pending_events(
    tmp_path: Path, broker: Mosquitto, gate: Gate, nursery: trio.Nursery
) -> None:
    gate.is_open = False  # the first run never reaches the broker
    async with open_simulator(sim_config({"yard": {"dialect": "vapix"}})) as sim:
        cfg = config(sim, tmp_path / "state", gate.port)
        async with running(cfg, mqtt_tuning=FAST) as (_daemon, watch):
            start1, end1 = await incident(sim, watch)
            await wait_until(  # both rows committed before the stop
                lambda: trio.to_thread.run_sync(lambda: len(pending_mqtt(cfg)) >= 2), 10, "two rows", 0.05
            )
        # stopped: the events wait in the outbox
        held = await trio.to_thread.run_sync(pending_mqtt, cfg)
        assert [(e["id"], e["type"]) for e in held] == [(start1.id, "start"), (end1.id, "end")]

        sub = Subscriber(broker.port, ["rd/#"])
        try:
            await sub.wait_subscribed()
            gate.is_open = True
            async with running(cfg, mqtt_tuning=FAST) as (_daemon, watch):
                await sub.wait_for(lambda ms: events(ms) == [(start1.id, "start"), (end1.id, "end")])
                start2, end2 = await incident(sim, watch)
                want = [(start1.id, "start"), (end1.id, "end"), (start2.id, "start"), (end2.id, "end")]
                await sub.wait_for(lambda ms: events(ms) == want)
        finally:
            sub.close()
    assert await trio.to_thread.run_sync(pending_mqtt, cfg) == []


async def test_mqtt_reload_moves_the_attempt_in_flight(
    tmp_path: Path, broker: Mosquitto, gate: Gate, nursery: trio.Nursery
) -> None:
    gate.is_open = False  # the events wait: the first one is an attempt blocked in publish_event
    sub = Subscriber(broker.port, ["rd/#"])
    try:
        await sub.wait_subscribed()
        async with open_simulator(sim_config({"yard": {"dialect": "vapix"}})) as sim:
            cfg = config(sim, tmp_path / "state", gate.port)
            async with running(cfg, mqtt_tuning=FAST) as (daemon, watch):
                start1, end1 = await incident(sim, watch)
                old = publisher(daemon)
                assert old is not None
                assert cfg.mqtt is not None
                new = cfg.model_copy(update={"mqtt": cfg.mqtt.model_copy(update={"keepalive": 20.0})})
                d = await daemon.reload(new)
                assert d.mqtt_changed and d.cameras_changed == []
                # the old publisher closes (bounded), a new one takes over
                await wait_until(lambda: publisher(daemon) not in (None, old), what="a new publisher")
                gate.is_open = True
                want = [(start1.id, "start"), (end1.id, "end")]
                await sub.wait_for(lambda ms: events(ms) == want, what="both events, in order")
                start2, end2 = await incident(sim, watch)
                want += [(start2.id, "start"), (end2.id, "end")]
                await sub.wait_for(lambda ms: events(ms) == want)
    finally:
        sub.close()
