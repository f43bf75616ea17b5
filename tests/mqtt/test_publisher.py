"""The publisher against a real mosquitto, asserted by a real subscriber (paho in its own thread)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import trio

from recorderd.config.model import MqttConfig
from recorderd.core.events import IncidentEvent
from recorderd.mqtt.client import Tuning
from recorderd.mqtt.publisher import open_publisher
from recorderd.mqtt.topics import ArmCommand

FAST = Tuning(backoff_initial=0.05, backoff_max=0.3, connect_timeout=3.0, misc_interval=0.2)
TZ = timezone(timedelta(hours=2))
T0 = datetime(2024, 6, 1, 12, 0, 0, tzinfo=TZ)
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"
CAMERAS = {"front": ["motion", "input:1"]}
DISCOVERY = {
    "homeassistant/binary_sensor/rd/front_connected/config",
    "homeassistant/binary_sensor/rd/front_motion/config",
    "homeassistant/binary_sensor/rd/front_input_1/config",
    "homeassistant/switch/rd/front_armed/config",
    "homeassistant/button/rd/front_armed_auto/config",
    "homeassistant/camera/rd/front_snapshot/config",
}


def event(n: int, kind: str = "start", camera: str = "front") -> IncidentEvent:
    return IncidentEvent(
        id=f"inc-{n}",
        camera=camera,
        trigger="motion",
        type="start" if kind == "start" else "end",
        time=T0 + timedelta(seconds=n),
        armed=True,
        recording=f"/clips/{camera}/{n}.mkv" if kind == "end" else None,
    )


def payloads(sub: Any, topic: str) -> list[bytes]:
    return [m.payload for m in sub.on(topic)]


def event_ids(sub: Any, topic: str = "rd/front/events") -> list[str]:
    out = []
    for m in sub.on(topic):
        doc = json.loads(m.payload)
        out.append(f"{doc['id']}:{doc['type']}")
    return out


def dedup(seq: list[str]) -> list[str]:
    return list(dict.fromkeys(seq))


def cfg(port: int, **kw: Any) -> MqttConfig:
    return MqttConfig(host="127.0.0.1", port=port, topic="rd", client_id="rd-test", **kw)


async def test_scripted_incident(mosquitto: Any, subscriber: Any) -> None:
    sub = subscriber(mosquitto.port, ["rd/#", "homeassistant/#"])
    await sub.wait_subscribed()
    async with open_publisher(cfg(mosquitto.port), CAMERAS, tuning=FAST) as pub:
        await sub.wait_for(
            lambda ms: {m.topic for m in ms} >= DISCOVERY and any(m.topic == "rd/front/input_1" for m in ms),
            what="discovery and initial state",
        )
        pub.set_connected("front", True)
        pub.set_armed("front", True)
        pub.set_trigger("front", "motion", True)
        await pub.publish_event(event(1, "start"))
        pub.set_snapshot("front", JPEG)
        pub.set_trigger("front", "motion", False)
        await pub.publish_event(event(1, "end"))
        await sub.wait_for(lambda ms: len(event_ids(sub)) == 2, what="both events")
    await sub.wait_for(lambda ms: payloads(sub, "rd/available")[-1:] == [b"offline"], what="offline")

    # payloads, in order, each with its retain flag
    assert [(m.payload, m.retain) for m in sub.on("rd/available")] == [(b"online", True), (b"offline", True)]
    assert [(m.payload, m.retain) for m in sub.on("rd/front/connected")] == [(b"OFF", True), (b"ON", True)]
    assert [(m.payload, m.retain) for m in sub.on("rd/front/motion")] == [
        (b"OFF", True),
        (b"ON", True),
        (b"OFF", True),
    ]
    assert [(m.payload, m.retain) for m in sub.on("rd/front/input_1")] == [(b"OFF", True)]
    assert [(m.payload, m.retain) for m in sub.on("rd/front/armed")] == [(b"ON", True)]
    assert [(m.payload, m.retain) for m in sub.on("rd/front/snapshot")] == [(JPEG, True)]
    events = sub.on("rd/front/events")
    assert [m.retain for m in events] == [False, False]
    assert json.loads(events[0].payload) == {
        "id": "inc-1",
        "camera": "front",
        "trigger": "motion",
        "type": "start",
        "time": "2024-06-01T12:00:01+02:00",
        "armed": True,
        "recording": None,
    }
    assert json.loads(events[1].payload)["recording"] == "/clips/front/1.mkv"
    # one FIFO: the wire order is the call order, across topics
    seq = [(m.topic, m.payload) for m in sub.snapshot()]
    on = seq.index(("rd/front/motion", b"ON"))
    start, end = (seq.index(("rd/front/events", e.payload)) for e in events)
    off = len(seq) - 1 - seq[::-1].index(("rd/front/motion", b"OFF"))
    assert on < start < off < end

    configs = {m.topic: m for m in sub.snapshot() if m.topic.startswith("homeassistant/")}
    assert set(configs) == DISCOVERY
    assert all(m.retain for m in configs.values())
    docs = {t: json.loads(m.payload) for t, m in configs.items()}
    assert len({d["unique_id"] for d in docs.values()}) == len(docs)
    for d in docs.values():
        assert d["device"]["identifiers"] == ["rd_front"]
        assert d["availability"][0]["topic"] == "rd/available"
    motion = docs["homeassistant/binary_sensor/rd/front_motion/config"]
    assert motion["state_topic"] == "rd/front/motion"
    assert motion["device_class"] == "motion"
    assert motion["availability"][1]["topic"] == "rd/front/connected"
    armed = docs["homeassistant/switch/rd/front_armed/config"]
    assert (armed["state_topic"], armed["command_topic"]) == ("rd/front/armed", "rd/front/armed/set")
    assert docs["homeassistant/camera/rd/front_snapshot/config"]["topic"] == "rd/front/snapshot"
    assert docs["homeassistant/binary_sensor/rd/front_connected/config"]["device_class"] == "connectivity"

    # a newcomer sees the retained state, and no event
    late = subscriber(mosquitto.port, ["rd/#"])
    await late.wait_subscribed()
    await late.marker("rd/zz-marker")
    retained = {m.topic: m.payload for m in late.snapshot() if m.retain}
    assert retained == {
        "rd/available": b"offline",
        "rd/front/connected": b"ON",
        "rd/front/motion": b"OFF",
        "rd/front/input_1": b"OFF",
        "rd/front/armed": b"ON",
        "rd/front/snapshot": JPEG,
    }
    assert late.on("rd/front/events") == []


async def test_broker_restart_mid_incident(mosquitto: Any, subscriber: Any, gate_factory: Any) -> None:
    """Kill -9 the broker mid-incident, with one event sent but not acknowledged: after the
    restart every event arrives, in order, and the retained state is there again."""
    gate = await gate_factory(mosquitto)
    first = subscriber(mosquitto.port, ["rd/#"])
    await first.wait_subscribed()
    done: list[str] = []
    async with open_publisher(cfg(gate.port), CAMERAS, tuning=FAST) as pub:
        await pub.client.wait_connected()
        pub.set_connected("front", True)
        pub.set_armed("front", True)
        pub.set_trigger("front", "motion", True)
        await pub.publish_event(event(1, "start"))

        # the broker gets the next event, its PUBACK never comes back
        gate.swallow = True

        async def feed() -> None:  # what the outbox does: one at a time, in order
            for n, kind in [(2, "start"), (1, "end"), (2, "end"), (3, "start"), (3, "end")]:
                await pub.publish_event(event(n, kind))
                done.append(f"inc-{n}:{kind}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(feed)
            await first.wait_for(lambda ms: "inc-2:start" in event_ids(first), what="inc-2 at the broker")
            assert done == []  # no PUBACK, so publish_event has not returned

            gate.is_open = False
            await trio.to_thread.run_sync(lambda: mosquitto.stop(kill=True))
            await pub.client.wait_disconnected()
            gate.swallow = False
            # changes during the outage: memory only, published after the reconnect
            pub.set_trigger("front", "motion", False)
            pub.set_snapshot("front", JPEG)
            await trio.to_thread.run_sync(mosquitto.start)

            after = subscriber(mosquitto.port, ["rd/#", "homeassistant/#"])
            await after.wait_subscribed()
            await after.marker("rd/zz-marker")
            # no persistence: the restarted broker really forgot the retained state
            assert [m for m in after.snapshot() if m.topic != "rd/zz-marker"] == []
            assert done == []

            gate.is_open = True
            await after.wait_for(lambda ms: len(dedup(event_ids(after))) == 5, what="all events")
        assert done == ["inc-2:start", "inc-1:end", "inc-2:end", "inc-3:start", "inc-3:end"]
        assert dedup(event_ids(after)) == done
        assert all(not m.retain for m in after.on("rd/front/events"))
        await after.wait_for(lambda ms: {m.topic for m in ms} >= DISCOVERY, what="discovery again")
        await after.wait_for(lambda ms: payloads(after, "rd/front/snapshot") == [JPEG], what="snapshot")

        fresh = subscriber(mosquitto.port, ["rd/#"])
        await fresh.wait_subscribed()
        await fresh.marker("rd/zz-marker")
        retained = {m.topic: m.payload for m in fresh.snapshot() if m.retain}
        assert retained == {
            "rd/available": b"online",
            "rd/front/connected": b"ON",
            "rd/front/motion": b"OFF",
            "rd/front/input_1": b"OFF",
            "rd/front/armed": b"ON",
            "rd/front/snapshot": JPEG,
        }
        await pub.publish_event(event(4, "start"))
        await fresh.wait_for(lambda ms: event_ids(fresh) == ["inc-4:start"], what="inc-4")


async def test_armed_commands(mosquitto: Any, subscriber: Any) -> None:
    got: list[tuple[str, ArmCommand]] = []
    changed = trio.Event()

    async def on_armed(camera: str, command: ArmCommand) -> None:
        nonlocal changed
        got.append((camera, command))
        changed.set()
        changed = trio.Event()

    async def until_last_is(want: tuple[str, ArmCommand], n: int) -> None:
        with trio.fail_after(10):
            while not (len(got) >= n and got[-1] == want):
                await changed.wait()

    sub = subscriber(mosquitto.port, ["rd/#"])
    await sub.wait_subscribed()
    # a retained command is stale by the time anyone subscribes: it must not act on every reconnect
    sub.client.publish("rd/front/armed/set", b"OFF", qos=1, retain=True)
    await sub.wait_for(lambda ms: payloads(sub, "rd/front/armed/set") == [b"OFF"], what="retained command")
    async with open_publisher(cfg(mosquitto.port), CAMERAS, on_armed=on_armed, tuning=FAST) as pub:
        await sub.wait_for(lambda ms: payloads(sub, "rd/available") == [b"online"], what="online")
        infos = []
        for topic, payload, retain in [
            ("rd/front/armed/set", b"ON", False),
            ("rd/front/armed/set", b" off\n", False),
            ("rd/front/armed/set", b"maybe", False),  # not a command
            ("rd/back/armed/set", b"ON", False),  # not a camera
            ("rd/front/armed/set", b"on", False),
            ("rd/front/armed/set", b"AUTO", False),
        ]:
            infos.append(sub.client.publish(topic, payload, qos=1, retain=retain))
        await until_last_is(("front", "AUTO"), 1)
        # acknowledged, so the subscriber's paho will not resend them after the restart below
        await trio.to_thread.run_sync(lambda: [i.wait_for_publish(5) for i in infos])
        # in order; a command may be superseded by a later one on its topic before it is handled
        # (commands are states: test_a_burst_of_armed_commands_ends_in_the_last_one)
        sent = [("front", "ON"), ("front", "OFF"), ("front", "ON"), ("front", "AUTO")]
        it = iter(sent)
        assert all(c in it for c in got) and got[-1] == sent[-1], got
        handled = len(got)

        # subscriptions come back after a broker restart
        await trio.to_thread.run_sync(mosquitto.restart)
        fresh = subscriber(mosquitto.port, ["rd/available"])
        await fresh.wait_subscribed()
        # `online` is sent after SUBSCRIBE on the new connection, so once it is here so is that
        await fresh.wait_for(lambda ms: payloads(fresh, "rd/available") == [b"online"], what="online")
        fresh.client.publish("rd/front/armed/set", b"OFF", qos=1)
        await until_last_is(("front", "OFF"), handled + 1)
        assert got[handled:] == [("front", "OFF")]
        assert pub.connected


async def test_cancellation_leaves_the_will(mosquitto: Any, subscriber: Any) -> None:
    """Cancelled (a crash, as far as the broker can tell): no DISCONNECT, so the will says offline."""
    sub = subscriber(mosquitto.port, ["rd/available"])
    await sub.wait_subscribed()
    with trio.CancelScope() as scope:
        async with open_publisher(cfg(mosquitto.port), CAMERAS, tuning=FAST):
            await sub.wait_for(lambda ms: payloads(sub, "rd/available") == [b"online"], what="online")
            scope.cancel()
    await sub.wait_for(lambda ms: payloads(sub, "rd/available") == [b"online", b"offline"], what="will")
    assert sub.on("rd/available")[-1].retain


async def test_home_assistant_birth_gets_everything_again(mosquitto: Any, subscriber: Any) -> None:
    """Home Assistant publishes `online` on <prefix>/status when it starts: discovery and state
    are sent again (HA may have started with an empty view of a broker without persistence)."""
    sub = subscriber(mosquitto.port, ["rd/#", "homeassistant/+/rd/#"])
    await sub.wait_subscribed()
    async with open_publisher(cfg(mosquitto.port), CAMERAS, tuning=FAST) as pub:
        pub.set_armed("front", False)
        await sub.wait_for(lambda ms: payloads(sub, "rd/front/armed") == [b"OFF"], what="armed")
        sub.client.publish("homeassistant/status", b"online", qos=1)
        await sub.wait_for(lambda ms: payloads(sub, "rd/front/armed") == [b"OFF", b"OFF"], what="again")
        await sub.wait_for(lambda ms: all(len(sub.on(t)) == 2 for t in DISCOVERY), what="discovery twice")


async def test_a_burst_of_armed_commands_ends_in_the_last_one(mosquitto: Any, subscriber: Any) -> None:
    """1000 commands faster than they are handled: the camera ends in the last command's state
    (commands are states: older ones on the same topic are superseded, never the newest dropped)."""
    got: list[ArmCommand] = []
    last = trio.Event()

    async def on_armed(camera: str, command: ArmCommand) -> None:
        await trio.sleep(0.005)  # a handler slower than the burst
        got.append(command)
        if command == "AUTO":
            last.set()

    sub = subscriber(mosquitto.port, ["rd/#"])
    await sub.wait_subscribed()
    async with open_publisher(cfg(mosquitto.port), CAMERAS, on_armed=on_armed, tuning=FAST) as pub:
        await sub.wait_for(lambda ms: payloads(sub, "rd/available") == [b"online"], what="online")
        burst = [b"ON" if i % 2 else b"OFF" for i in range(999)] + [b"AUTO"]
        for payload in burst:
            sub.client.publish("rd/front/armed/set", payload, qos=1)
        with trio.fail_after(20):
            await last.wait()
        assert got[-1] == "AUTO" and len(got) < len(burst)
        assert pub.client.incoming.superseded + len(got) == len(burst)
