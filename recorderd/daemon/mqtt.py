"""The daemon's MQTT side: one publisher for the retained state, the outbox's MQTT sender, commands.

State (connected, triggers, armed, snapshot) goes straight to the publisher from the bus: it is
state, kept in the publisher's memory and published again after every reconnect. Incident events
go through the durable outbox (recorderd/daemon/actions.py, `MqttSender`), which this service
points at the current publisher.

A reload that changes `[mqtt]` (or the cameras and triggers it announces) replaces the publisher:
the old one says `offline` and disconnects, the new one connects and is seeded with every camera's
state; the outbox's attempt in flight moves over to it, so events keep their order.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from recorderd.core import bus as ev
from recorderd.daemon.reload import mqtt_cameras
from recorderd.mqtt.client import DEFAULT_TUNING
from recorderd.mqtt.publisher import MqttPublisher

if TYPE_CHECKING:
    from recorderd.daemon.app import Daemon
    from recorderd.mqtt.topics import ArmCommand

log = logging.getLogger("recorderd.daemon")

CLOSE_TIMEOUT = 5.0


class MqttService:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.publisher: MqttPublisher | None = None
        self.snapshots: dict[str, bytes] = {}  # camera -> latest trigger JPEG, to seed a new publisher
        self._restart = trio.Event()

    def restart(self) -> None:
        self._restart.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep a publisher for the current `[mqtt]` (none while it is absent) until cancelled."""
        first = True
        while True:
            self._restart = trio.Event()
            cfg = self.daemon.cfg.mqtt
            async with trio.open_nursery() as nursery:
                pub = None
                if cfg is not None:
                    pub = MqttPublisher(
                        cfg,
                        mqtt_cameras(self.daemon.cfg),
                        on_armed=self._on_armed,
                        tuning=self.daemon.mqtt_tuning or DEFAULT_TUNING,
                    )
                    await nursery.start(pub.run)
                    self._seed(pub)
                self._use(pub)
                if first:
                    task_status.started()
                    first = False
                try:
                    await self._restart.wait()
                finally:
                    self._use(None)  # cancelled (a hard stop): the broker publishes the will
                if pub is not None:
                    with trio.move_on_after(CLOSE_TIMEOUT):
                        await pub.aclose()  # `offline`, DISCONNECT: the next one starts clean
                nursery.cancel_scope.cancel()

    async def close(self) -> None:
        """At a stop: `offline` and a clean DISCONNECT (bounded); the service then waits to be cancelled."""
        pub = self.publisher
        self._use(None)
        if pub is not None:
            with trio.move_on_after(CLOSE_TIMEOUT):
                await pub.aclose()

    def _use(self, pub: MqttPublisher | None) -> None:
        self.publisher = pub
        actions = self.daemon.actions
        if actions is not None:
            actions.mqtt_sender.set_publisher(pub)

    def _seed(self, pub: MqttPublisher) -> None:
        """A new publisher after a reload: every running camera's state, as the bus said it."""
        engine = self.daemon.engine
        if engine is None:
            return
        for name, cam in list(engine.cameras.items()):
            pub.set_connected(name, cam.stats.connected)
            for trigger in cam.cfg.triggers:
                pub.set_trigger(name, trigger, cam.triggers.is_on(trigger))
            pub.set_armed(name, cam.machine.armed)
            if name in self.snapshots:
                pub.set_snapshot(name, self.snapshots[name])

    async def _on_armed(self, camera: str, command: ArmCommand) -> None:
        try:
            self.daemon.set_armed(camera, command)
        except LookupError:
            log.warning("mqtt: armed command for unknown camera %s ignored", camera)

    async def consume(self, recv: trio.MemoryReceiveChannel[ev.BusEvent]) -> None:
        """Bus states to the publisher's retained topics (events go through the outbox)."""
        async for e in recv:
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
