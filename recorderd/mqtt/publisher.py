"""The daemon's MQTT face: retained state, incident events, armed commands, Home Assistant discovery.

The current state (camera connected, each trigger, armed, last snapshot) is kept in memory. A
change is published at once while connected; while disconnected it only updates memory, and after
every (re)connect the whole state is published again, so a broker that lost its retained messages
(restart without persistence) gets them back, and a flapping trigger during an outage costs one
message, not a backlog.

Events are different: each must arrive, in order. `publish_event` returns only after the broker's
PUBACK (blocking through outages), so the durable outbox marks an event done only once delivered.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

import trio

from recorderd import __version__
from recorderd.config.model import MqttConfig
from recorderd.mqtt.client import DEFAULT_TUNING, Availability, MqttClient, Tuning
from recorderd.mqtt.topics import (
    ONLINE,
    ArmCommand,
    Topics,
    discovery,
    on_off,
    parse_arm_command,
)

log = logging.getLogger("recorderd.mqtt")

ArmedHandler = Callable[[str, ArmCommand], Awaitable[None]]


class EventLike(Protocol):
    """What `publish_event` needs: recorderd.actions.event.IncidentEvent fits."""

    @property
    def camera(self) -> str: ...

    def to_json(self) -> str: ...


@dataclass
class _CameraState:
    connected: bool = False
    triggers: dict[str, bool] = field(default_factory=dict)
    armed: bool | None = None
    snapshot: bytes | None = None


class MqttPublisher:
    """Start `run` in a nursery (or use `open_publisher`); the state setters are plain calls."""

    def __init__(
        self,
        config: MqttConfig,
        cameras: Mapping[str, Sequence[str]],
        *,
        on_armed: ArmedHandler | None = None,
        tuning: Tuning = DEFAULT_TUNING,
    ) -> None:
        """`cameras`: camera name -> its triggers (as configured, e.g. "motion", "input:1"), for
        discovery and the initial OFF states. `on_armed(camera, "ON"|"OFF"|"AUTO")` receives the
        commands from `<t>/<camera>/armed/set`; the daemon decides and then calls `set_armed`."""
        self.config = config
        self.topics = Topics(config.topic)
        self.cameras = {name: list(triggers) for name, triggers in cameras.items()}
        self._on_armed = on_armed
        self._state = {
            name: _CameraState(triggers=dict.fromkeys(triggers, False))
            for name, triggers in self.cameras.items()
        }
        self.client = MqttClient(
            config,
            availability=Availability(self.topics.available),
            tuning=tuning,
            on_connect=self._republish,
        )
        self.client.subscribe(self.topics.armed_set_filter, 1)
        self._status_topic = f"{config.discovery_prefix}/status"
        if config.discovery:
            # Home Assistant announces `online` here when it starts: send it everything again
            self.client.subscribe(self._status_topic, 1)

    # -- state API (plain calls from the daemon's tasks) -----------------------------------

    def set_connected(self, camera: str, connected: bool) -> None:
        self._cam(camera).connected = connected
        self._send(self.topics.connected(camera), on_off(connected))

    def set_trigger(self, camera: str, trigger: str, active: bool) -> None:
        self._cam(camera).triggers[trigger] = active
        self._send(self.topics.trigger(camera, trigger), on_off(active))

    def set_armed(self, camera: str, armed: bool) -> None:
        self._cam(camera).armed = armed
        self._send(self.topics.armed(camera), on_off(armed))

    def set_snapshot(self, camera: str, jpeg: bytes) -> None:
        data = bytes(jpeg)
        self._cam(camera).snapshot = data
        self._send(self.topics.snapshot(camera), data)

    async def publish_event(self, event: EventLike) -> None:
        """`<t>/<camera>/events` (not retained); returns after the broker's PUBACK.

        Blocks while the broker is unreachable; events are delivered in call order. Raises
        MqttError if the broker rejects it or the publisher is closed.
        """
        await self.client.publish(self.topics.events(event.camera), event.to_json(), retain=False)

    @property
    def connected(self) -> bool:
        return self.client.connected

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the broker connection and dispatch commands until aclose() or cancellation."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.client.run)
            nursery.start_soon(self._dispatch)
            task_status.started()

    async def aclose(self) -> None:
        """Publish `offline`, disconnect cleanly and let `run` return."""
        await self.client.aclose()

    # -- internals -------------------------------------------------------------------------

    def _cam(self, camera: str) -> _CameraState:
        state = self._state.get(camera)
        if state is None:
            # not declared at start: tracked and published, but without discovery
            state = self._state[camera] = _CameraState()
        return state

    def _send(self, topic: str, payload: bytes) -> None:
        # while disconnected, memory is enough: the next connect publishes everything
        if self.client.connected:
            self.client.publish_nowait(topic, payload, retain=True)

    def _republish(self) -> None:
        """Everything retained, in a fixed order; queued behind any older publication."""
        if self.config.discovery:
            for topic, doc in discovery(self.topics, self.config.discovery_prefix, self.cameras, __version__):
                self.client.publish_nowait(topic, doc, retain=True)
        for camera, state in self._state.items():
            self.client.publish_nowait(self.topics.connected(camera), on_off(state.connected), retain=True)
            for trigger, active in state.triggers.items():
                self.client.publish_nowait(self.topics.trigger(camera, trigger), on_off(active), retain=True)
            if state.armed is not None:
                self.client.publish_nowait(self.topics.armed(camera), on_off(state.armed), retain=True)
            if state.snapshot is not None:
                self.client.publish_nowait(self.topics.snapshot(camera), state.snapshot, retain=True)

    async def _dispatch(self) -> None:
        async for msg in self.client.incoming:
            if msg.topic == self._status_topic:
                if msg.payload.strip().lower() == ONLINE:
                    log.info("mqtt: Home Assistant came online, publishing discovery and state again")
                    self._republish()
                continue
            camera = self.topics.armed_set_camera(msg.topic)
            if camera is None:
                continue
            if msg.retain:
                # a stale retained command would override every later decision after each reconnect
                log.warning("mqtt: ignoring a retained command on %s", msg.topic)
                continue
            command = parse_arm_command(msg.payload)
            if command is None:
                log.warning("mqtt: ignoring %r on %s (expected ON, OFF or AUTO)", msg.payload[:32], msg.topic)
                continue
            if camera not in self._state:
                log.warning("mqtt: ignoring a command for unknown camera %r", camera)
                continue
            log.info("mqtt: armed command %s for %s", command, camera)
            if self._on_armed is not None:
                await self._on_armed(camera, command)


@asynccontextmanager
async def open_publisher(
    config: MqttConfig,
    cameras: Mapping[str, Sequence[str]],
    *,
    on_armed: ArmedHandler | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> AsyncIterator[MqttPublisher]:
    """A running publisher for the body; a normal exit closes it cleanly (`offline`, DISCONNECT),
    an exception or cancellation drops the connection (the broker publishes the will)."""
    publisher = MqttPublisher(config, cameras, on_armed=on_armed, tuning=tuning)
    async with trio.open_nursery() as nursery:
        await nursery.start(publisher.run)
        yield publisher
        await publisher.aclose()
