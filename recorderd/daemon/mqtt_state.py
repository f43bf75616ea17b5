"""The MQTT stage: one publisher for the retained state, the outbox's MQTT sender pointed at it, commands.

State (connected, triggers, armed, snapshot) goes straight to the publisher from the bus: it is
state, kept in the publisher's memory and published again after every reconnect. Incident events
go through the durable outbox (the alarms stage's `MqttSender`), which this stage points at the
current publisher.

A reload that changes `[mqtt]` (or the cameras and triggers it announces) restarts the session:
the old publisher says `offline` and disconnects, a new one connects and is seeded with every
camera's state; the outbox's attempt in flight moves over to it, so events keep their order.
Leaving the context says `offline` and disconnects cleanly (bounded).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Protocol

import trio

from recorderd.actions.runtime import MqttSender
from recorderd.cameras.engine import CameraState
from recorderd.config.model import Config
from recorderd.core import events as ev
from recorderd.core.bus import Bus, Receiver
from recorderd.core.errors import UnknownCamera
from recorderd.daemon.reload import mqtt_cameras
from recorderd.daemon.restart import Restartable
from recorderd.mqtt.client import DEFAULT_TUNING, MqttSetupError, Tuning
from recorderd.mqtt.publisher import MqttPublisher
from recorderd.mqtt.topics import ArmCommand

log = logging.getLogger("recorderd.daemon")

CLOSE_TIMEOUT = 5.0


class CameraStates(Protocol):
    """The cameras as the MQTT stage needs them (the engine)."""

    def states(self) -> Iterable[CameraState]: ...
    def set_armed(self, camera: str, mode: str) -> None: ...


class MqttStage:
    def __init__(
        self,
        config: Callable[[], Config],
        events: Receiver[ev.BusEvent],
        cameras: CameraStates,
        sender: MqttSender,
        tuning: Tuning | None = None,
    ) -> None:
        self._config = config
        self._events = events
        self._cameras = cameras
        self._sender = sender
        self._tuning = tuning or DEFAULT_TUNING
        self.publisher: MqttPublisher | None = None
        # camera -> latest trigger JPEG, to seed a new publisher; bound: one per camera
        self.snapshots: dict[str, bytes] = {}
        self.runner = Restartable("mqtt", self.session)
        self._first = True

    @property
    def connected(self) -> bool:
        return self.publisher is not None and self.publisher.connected

    async def session(self, restart: trio.Event, *, task_status: trio.TaskStatus[None]) -> None:
        """A publisher for the current `[mqtt]` (none while it is absent) until a restart."""
        cfg = self._config()
        async with trio.open_nursery() as nursery:
            pub = self._publisher(cfg)
            if pub is not None:
                await nursery.start(pub.run)
                self._seed(pub)
            self._use(pub)
            task_status.started()
            try:
                await restart.wait()
            finally:
                self._use(None)  # cancelled (a hard stop): the broker publishes the will
            if pub is not None:
                with trio.move_on_after(CLOSE_TIMEOUT):
                    await pub.aclose()  # `offline`, DISCONNECT: the next one starts clean
            nursery.cancel_scope.cancel()

    def _publisher(self, cfg: Config) -> MqttPublisher | None:
        """A publisher for `[mqtt]`, if any. One that cannot be set up (an unreadable TLS file) stops
        the start; at a reload it leaves MQTT off until the next reload (the cameras keep running)."""
        first, self._first = self._first, False
        if cfg.mqtt is None:
            return None
        try:
            return MqttPublisher(cfg.mqtt, mqtt_cameras(cfg), on_armed=self._on_armed, tuning=self._tuning)
        except MqttSetupError as e:
            if first:
                raise  # one line by `recorderd run`, as every expected start-up failure
            log.error("mqtt off until the next reload: %s", e)
            return None

    def _use(self, pub: MqttPublisher | None) -> None:
        self.publisher = pub
        self._sender.set_publisher(pub)

    def _seed(self, pub: MqttPublisher) -> None:
        """A new publisher: every running camera's state, as the engine has it."""
        for cam in self._cameras.states():
            pub.set_connected(cam.name, cam.connected)
            for trigger, on in cam.triggers.items():
                pub.set_trigger(cam.name, trigger, on)
            pub.set_armed(cam.name, cam.armed)
            if cam.name in self.snapshots:
                pub.set_snapshot(cam.name, self.snapshots[cam.name])

    async def _on_armed(self, camera: str, command: ArmCommand) -> None:
        try:
            self._cameras.set_armed(camera, command)
        except UnknownCamera:
            log.warning("mqtt: armed command for unknown camera %s ignored", camera)

    async def consume(self) -> None:
        """Bus states to the publisher's retained topics (events go through the outbox)."""
        async for e in self._events:
            if isinstance(e, ev.Snapshot):
                self.snapshots[e.camera] = e.jpeg
            pub = self.publisher
            if pub is None:
                continue
            if isinstance(e, ev.Connected):
                pub.set_connected(e.camera, e.connected)
            elif isinstance(e, ev.TriggerChanged):
                pub.set_trigger(e.camera, e.trigger, e.on)
            elif isinstance(e, ev.ArmedChanged):
                pub.set_armed(e.camera, e.armed)
            elif isinstance(e, ev.Snapshot):
                pub.set_snapshot(e.camera, e.jpeg)


@asynccontextmanager
async def open_mqtt(
    config: Callable[[], Config],
    bus: Bus[ev.BusEvent],
    cameras: CameraStates,
    sender: MqttSender,
    *,
    queue: int,
    tuning: Tuning | None = None,
) -> AsyncIterator[MqttStage]:
    events = bus.subscribe_lanes("mqtt", queue)  # a camera in a storm fills its own lane only
    stage = MqttStage(config, events, cameras, sender, tuning)
    async with trio.open_nursery() as nursery:
        await nursery.start(stage.runner.run)
        nursery.start_soon(stage.consume, name="mqtt state")
        try:
            yield stage
        finally:
            if stage.publisher is not None:
                log.info("stopping: MQTT")
            bus.end("mqtt")  # the state consumer ends
            stage.runner.stop()  # the publisher says `offline` and disconnects (bounded)
