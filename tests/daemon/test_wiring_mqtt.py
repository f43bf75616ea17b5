"""The daemon wired to a real mosquitto: retained states, incident events, and armed commands back."""

from __future__ import annotations

import json
from pathlib import Path

from recorderd.core import events as ev
from recorderd.sim import open_simulator
from tests.support.broker import Mosquitto, Subscriber
from tests.support.simharness import daemon_config, running, sim_config


async def test_states_events_and_armed_commands_over_mqtt(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    sub = Subscriber(broker.port, ["rd/#"])
    try:
        await sub.wait_subscribed()
        async with open_simulator(sim_config({"yard": {"dialect": "vapix"}})) as sim:
            table = sim["yard"].recorderd_camera()
            table.update({"triggers": ["motion"], "record": {"mode": "off"}})
            raw = {
                "daemon": {"state_dir": str(tmp_path / "state"), "http_listen": ""},
                "mqtt": {"host": "127.0.0.1", "port": broker.port, "topic": "rd", "discovery": False},
                "cameras": {"yard": table},
            }
            cfg = daemon_config(raw)
            async with running(cfg) as (daemon, watch):
                await sub.wait_for(
                    lambda ms: any(m.topic == "rd/yard/connected" and m.payload == b"ON" for m in ms)
                )
                await sub.wait_for(
                    lambda ms: any(m.topic == "rd/yard/armed" and m.payload == b"ON" for m in ms)
                )
                await sim.set_trigger("yard", "motion", True)
                start = await watch.next(ev.IncidentEvent, "yard", type="start")
                await sub.wait_for(
                    lambda ms: any(m.topic == "rd/yard/motion" and m.payload == b"ON" for m in ms)
                )
                await sim.set_trigger("yard", "motion", False)
                await watch.next(ev.IncidentEvent, "yard", type="end")
                got = await sub.wait_for(lambda ms: len([m for m in ms if m.topic == "rd/yard/events"]) == 2)
                events = [json.loads(m.payload) for m in got if m.topic == "rd/yard/events"]
                assert [(e["type"], e["id"], e["trigger"]) for e in events] == [
                    ("start", start.id, "motion"),
                    ("end", start.id, "motion"),
                ]
                assert all(not m.retain for m in got if m.topic == "rd/yard/events")
                # an armed command comes back to the engine
                seen = len(sub.snapshot())
                sub.client.publish("rd/yard/armed/set", b"OFF", qos=1)
                await watch.next(ev.ArmedChanged, "yard", armed=False)
                # any message may follow (the trigger's snapshot, fetched meanwhile, is one)
                await sub.wait_for(
                    lambda ms: any(m.topic == "rd/yard/armed" and m.payload == b"OFF" for m in ms[seen:])
                )
                assert daemon.engine is not None and not daemon.engine.cameras["yard"].machine.armed
    finally:
        sub.close()
        broker.stop(kill=True)
