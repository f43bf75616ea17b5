"""The alarms stage: incidents from the bus into the durable outbox, MQTT events included.

    async with open_alarms(config, bus, mqtt_sender, snapshot) as alarms:
        ...                       # alarms.depth, alarms.dead; alarms.apply(new, diff) on reload

One bus subscription feeds the Dispatcher (recorderd/actions), which commits each event's rows
(MQTT's first) before anything is attempted. A reload swaps the sender of each changed target in
place (`SenderSlot`): the outbox, the other targets and their attempts in flight go on. Only a
change of shape (targets added or removed, a concurrency or kind changed, MQTT switched on or off,
a camera with relay/PTZ added) restarts the session, which reopens the outbox; the subscription is
kept meanwhile and the restart waits until the event in hand is committed, so no incident is lost.

Leaving the context ends the subscription: the session commits what the bus still holds, gives
pending MQTT events a moment to go out while the broker is there, and closes the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import httpx
import trio

from recorderd.actions.bridge import AsyncioBridge, open_asyncio_bridge
from recorderd.actions.dispatcher import MQTT_TARGET, Dispatcher, link_target
from recorderd.actions.ftp import FtpSender
from recorderd.actions.outbox import Action, Attachment, Outbox, Sender, open_outbox
from recorderd.actions.runtime import MqttSender, build_senders, outbox_path
from recorderd.config.model import Config
from recorderd.core import events as ev
from recorderd.core.bus import Bus, Receiver
from recorderd.daemon.reload import ConfigDiff
from recorderd.daemon.restart import Restartable

log = logging.getLogger("recorderd.daemon")

DEPTH_INTERVAL = 2.0  # outbox depth for /metrics and STATUS
STOP_DRAIN = 2.0  # at a stop, MQTT events still pending get this long to go out

SnapshotSource = Callable[[str], Awaitable[bytes | None]]


class SenderSlot(Sender):
    """An outbox sender whose implementation a reload replaces; attempts in flight finish on the old.
    Forwards all of the Sender interface (the base makes forgetting a part a type error)."""

    def __init__(self, inner: Sender) -> None:
        self.inner = inner
        self.concurrency = inner.concurrency  # a change of concurrency reopens the outbox instead
        self.eager = inner.eager

    def timeout_for(self, action: Action) -> float:
        return self.inner.timeout_for(action)

    async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None:
        await self.inner.deliver(action, attachments)


def needs_actions(cfg: Config) -> bool:
    return bool(cfg.targets) or cfg.mqtt is not None or any(c.actions for c in cfg.cameras.values())


def _shape(cfg: Config) -> tuple[object, ...]:
    """What the outbox's set of worker groups depends on: names, kinds, concurrency, MQTT on/off."""
    targets = sorted((n, t.kind, t.concurrency) for n, t in cfg.targets.items())
    links = sorted(n for n, c in cfg.cameras.items() if c.url is not None)
    return (targets, links, cfg.mqtt is not None, cfg.daemon.state_dir, needs_actions(cfg))


class AlarmStage:
    def __init__(
        self,
        config: Callable[[], Config],
        events: Receiver[ev.BusEvent],
        mqtt_sender: MqttSender,
        snapshot: SnapshotSource,
    ) -> None:
        self._config = config
        self._events = events
        self.mqtt_sender = mqtt_sender
        self._snapshot = snapshot
        self.depth: dict[str, int] = {}  # pending rows per target
        self.dead: dict[str, int] = {}
        # incident id -> the JPEG of its start, for the mails and uploads of that incident;
        # bound: one entry per open incident (dropped at its end)
        self.snapshots: dict[str, bytes] = {}
        self.dispatcher: Dispatcher | None = None
        self.outbox: Outbox | None = None
        self.runner = Restartable("actions", self.session)
        self._slots: dict[str, SenderSlot] = {}
        self._retired: list[Sender] = []
        self._bridge: AsyncioBridge | None = None
        self._client: httpx.AsyncClient | None = None
        self._shape: tuple[object, ...] = ()

    # -- reload ------------------------------------------------------------------------------

    def apply(self, new: Config, d: ConfigDiff) -> None:
        """Take a reloaded config: swap the changed targets' senders, or restart when the shape changed."""
        dispatcher = self.dispatcher
        if _shape(new) != self._shape:
            self.runner.restart()
            return
        if dispatcher is None:
            return
        dispatcher.config = new
        swap = list(d.targets_changed) + [link_target(c) for c in d.cameras_changed]
        if not swap or self._bridge is None or self._client is None:
            return
        fresh = build_senders(new, self._bridge, self._client)
        for name in swap:
            slot, sender = self._slots.get(name), fresh.pop(name, None)
            if slot is None or sender is None:
                continue
            self._retired.append(slot.inner)
            slot.inner = sender
            log.info("actions: %s restarted with its new settings", name)
        self._retired += fresh.values()  # built but not used: closed with the others

    # -- one outbox session ------------------------------------------------------------------

    async def session(self, restart: trio.Event, *, task_status: trio.TaskStatus[None]) -> None:
        cfg = self._config()
        self._shape = _shape(cfg)
        if not needs_actions(cfg):  # nothing to do: the events pass by, no outbox is opened
            task_status.started()
            await self._pump(restart, None)
            return
        async with open_asyncio_bridge() as bridge, httpx.AsyncClient() as client:
            self._bridge, self._client = bridge, client
            self._slots = {n: SenderSlot(s) for n, s in build_senders(cfg, bridge, client).items()}
            senders: dict[str, Sender] = dict(self._slots)
            if cfg.mqtt is not None:
                senders[MQTT_TARGET] = self.mqtt_sender
            try:
                async with (
                    open_outbox(outbox_path(cfg), senders, max_bytes=cfg.storage.outbox_max) as outbox,
                    trio.open_nursery() as nursery,
                ):
                    dispatcher = Dispatcher(cfg, outbox, snapshot_source=self._snapshot)
                    await nursery.start(dispatcher.run)
                    nursery.start_soon(self._watch_depth, outbox, list(senders))
                    self.dispatcher, self.outbox = dispatcher, outbox
                    task_status.started()
                    ended = await self._pump(restart, dispatcher)
                    if ended and cfg.mqtt is not None:
                        with trio.move_on_after(STOP_DRAIN):
                            await self._drain_mqtt(outbox)
                    nursery.cancel_scope.cancel()
            finally:
                self.dispatcher = self.outbox = None
                self._bridge = self._client = None
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    for s in [*(slot.inner for slot in self._slots.values()), *self._retired]:
                        if isinstance(s, FtpSender):
                            await s.aclose()
                self._retired.clear()
            if not ended:
                log.info("actions: outbox reopened for the new configuration")

    async def _pump(self, restart: trio.Event, dispatcher: Dispatcher | None) -> bool:
        """Events to the dispatcher until the bus ends (True) or a restart is asked for (False).
        Only the wait is given up for a restart: an event in hand is always committed."""
        recv = self._events
        idle: trio.CancelScope | None = None

        async def on_restart() -> None:
            await restart.wait()
            if idle is not None:
                idle.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(on_restart)
            try:
                while not restart.is_set():
                    e: ev.BusEvent | None = None
                    with trio.CancelScope() as idle:
                        try:
                            e = await recv.receive()
                        except (trio.EndOfChannel, trio.ClosedResourceError):
                            return True
                    idle = None
                    if e is not None:
                        await self._handle(e, dispatcher)
                return False
            finally:
                nursery.cancel_scope.cancel()

    async def _handle(self, e: ev.BusEvent, dispatcher: Dispatcher | None) -> None:
        if dispatcher is None:
            return
        if isinstance(e, ev.Snapshot):
            self.snapshots[e.incident] = e.jpeg
        elif isinstance(e, ev.IncidentEvent):
            snap = self.snapshots.get(e.id) if e.type == "start" else None
            try:
                await dispatcher.dispatch(e.with_snapshots((snap,) if snap else ()))
            except Exception:
                log.exception("actions: could not queue the actions of incident %s", e.id)
            if e.type == "end":
                self.snapshots.pop(e.id, None)

    async def _watch_depth(self, outbox: Outbox, targets: list[str]) -> None:
        while True:
            st = await outbox.status()
            self.depth = {t: st.counts.get(t, {}).get("pending", 0) for t in {*targets, *st.counts}}
            self.dead = {t: c.get("dead", 0) for t, c in st.counts.items() if c.get("dead")}
            await trio.sleep(DEPTH_INTERVAL)

    async def _drain_mqtt(self, outbox: Outbox) -> None:
        """At a stop: the last events (incidents ended by the stop) go out while the broker is there."""
        if not self.mqtt_sender.connected:
            return
        while (await outbox.status()).counts.get(MQTT_TARGET, {}).get("pending", 0):
            await trio.sleep(0.05)


@asynccontextmanager
async def open_alarms(
    config: Callable[[], Config],
    bus: Bus[ev.BusEvent],
    mqtt_sender: MqttSender,
    snapshot: SnapshotSource,
    *,
    queue: int,
) -> AsyncIterator[AlarmStage]:
    """The alarms stage, subscribed before anything publishes; ready once its outbox is open."""
    # a lane per camera: incidents are delivered with back-pressure on their camera, never dropped
    events = bus.subscribe_lanes("actions", queue)
    stage = AlarmStage(config, events, mqtt_sender, snapshot)
    async with trio.open_nursery() as nursery:
        await nursery.start(stage.runner.run)
        try:
            yield stage
        finally:
            log.info("stopping: actions")
            bus.end("actions")  # the session commits what the bus holds, then returns
