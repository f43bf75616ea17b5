"""The daemon's actions: incidents from the bus into the durable outbox, MQTT events included.

    stage = ActionsStage(daemon)
    nursery.start_soon(stage.run, daemon.bus.subscribe("actions"))

One bus subscription feeds the Dispatcher (recorderd/actions), which commits each event's rows
(MQTT's first) before anything is attempted. A config reload swaps the sender of each changed
target in place (`SenderSlot`): the outbox, the other targets and their attempts in flight go on.
Only a change of shape (targets added or removed, a concurrency or kind changed, MQTT switched on
or off, a camera with relay/PTZ added) reopens the outbox; the subscription is kept meanwhile and
the reopen waits until the event in hand is committed, so no incident is lost to a reload.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import httpx
import trio

from recorderd.actions.bridge import AsyncioBridge, open_asyncio_bridge
from recorderd.actions.dispatcher import MQTT_TARGET, Dispatcher, link_target
from recorderd.actions.event import IncidentEvent
from recorderd.actions.ftp import FtpSender
from recorderd.actions.outbox import Action, Attachment, Outbox, Sender, open_outbox
from recorderd.actions.runtime import MqttSender, build_senders, outbox_path
from recorderd.config.model import Config
from recorderd.core import bus as ev

if TYPE_CHECKING:
    from recorderd.daemon.app import Daemon
    from recorderd.daemon.reload import ConfigDiff

log = logging.getLogger("recorderd.daemon")

DEPTH_INTERVAL = 2.0  # outbox depth for /metrics and STATUS
STOP_DRAIN = 2.0  # at a stop, MQTT events still pending get this long to go out


class SenderSlot:
    """An outbox sender whose implementation a reload replaces; attempts in flight finish on the old."""

    def __init__(self, inner: Sender) -> None:
        self.inner = inner

    @property
    def concurrency(self) -> int:
        return self.inner.concurrency

    @property
    def timeout(self) -> float:
        return self.inner.timeout

    async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None:
        await self.inner.deliver(action, attachments)


def incident_event(e: ev.Incident, snapshots: dict[str, bytes]) -> IncidentEvent:
    snap = snapshots.get(e.id) if e.type == "start" else None
    return IncidentEvent(
        id=e.id,
        camera=e.camera,
        trigger=e.trigger,
        type="start" if e.type == "start" else "end",
        time=e.time,
        armed=e.armed,
        recording=None,
        snapshots=(snap,) if snap else (),
    )


def _shape(cfg: Config) -> tuple[object, ...]:
    """What the outbox's set of worker groups depends on: names, kinds, concurrency, MQTT on/off."""
    targets = sorted((n, t.kind, t.concurrency) for n, t in cfg.targets.items())
    links = sorted(n for n, c in cfg.cameras.items() if c.url is not None)
    return (targets, links, cfg.mqtt is not None, cfg.daemon.state_dir)


class ActionsStage:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.mqtt_sender = MqttSender()
        self.dispatcher: Dispatcher | None = None
        self.outbox: Outbox | None = None
        self.depth: dict[str, int] = {}  # pending rows per target
        self.dead: dict[str, int] = {}
        self.snapshots: dict[str, bytes] = daemon.snapshots
        self._slots: dict[str, SenderSlot] = {}
        self._retired: list[Sender] = []
        self._bridge: AsyncioBridge | None = None
        self._client: httpx.AsyncClient | None = None
        self._reopen = trio.Event()
        self._idle: trio.CancelScope | None = None
        self._shape: tuple[object, ...] = ()

    async def run(
        self,
        recv: trio.MemoryReceiveChannel[ev.BusEvent],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Until the bus closes (the daemon stops); reopens the outbox when a reload asks.
        Started once the outbox is open and delivering."""
        status: trio.TaskStatus[None] | None = task_status
        while True:
            ended = await self._session(recv, status)
            status = None
            if ended:
                return
            log.info("actions: outbox reopened for the new configuration")

    # -- reload ------------------------------------------------------------------------------

    def apply(self, new: Config, d: ConfigDiff) -> None:
        """Take a reloaded config: swap the changed targets' senders, or reopen when the shape changed."""
        dispatcher = self.dispatcher
        if _shape(new) != self._shape or dispatcher is None:
            self._request_reopen()
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

    def _request_reopen(self) -> None:
        self._reopen.set()
        if self._idle is not None:
            self._idle.cancel()

    # -- one outbox session ------------------------------------------------------------------

    async def _session(
        self, recv: trio.MemoryReceiveChannel[ev.BusEvent], status: trio.TaskStatus[None] | None
    ) -> bool:
        """Returns True when the bus ended, False when a reopen was asked for."""
        cfg = self.daemon.cfg
        self._reopen = trio.Event()
        self._shape = _shape(cfg)
        async with open_asyncio_bridge() as bridge, httpx.AsyncClient() as client:
            self._bridge, self._client = bridge, client
            self._slots = {n: SenderSlot(s) for n, s in build_senders(cfg, bridge, client).items()}
            senders: dict[str, Sender] = dict(self._slots)
            if cfg.mqtt is not None:
                senders[MQTT_TARGET] = self.mqtt_sender
            try:
                async with (
                    open_outbox(outbox_path(cfg), senders) as outbox,
                    trio.open_nursery() as nursery,
                ):
                    dispatcher = Dispatcher(cfg, outbox, snapshot_source=self._snapshot)
                    await nursery.start(dispatcher.run)
                    nursery.start_soon(self._watch_depth, outbox, list(senders))
                    self.dispatcher, self.outbox = dispatcher, outbox
                    if status is not None:
                        status.started()
                    ended = await self._pump(recv, dispatcher)
                    if ended and cfg.mqtt is not None:
                        with trio.move_on_after(STOP_DRAIN):
                            await self._drain_mqtt(outbox)
                    nursery.cancel_scope.cancel()
                    return ended
            finally:
                self.dispatcher = self.outbox = None
                self._bridge = self._client = None
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    for s in [*(slot.inner for slot in self._slots.values()), *self._retired]:
                        if isinstance(s, FtpSender):
                            await s.aclose()
                self._retired.clear()

    async def _pump(self, recv: trio.MemoryReceiveChannel[ev.BusEvent], dispatcher: Dispatcher) -> bool:
        while not self._reopen.is_set():
            # only the wait is cancellable by a reopen: an event in hand is always committed
            with trio.CancelScope() as idle:
                self._idle = idle
                try:
                    e = await recv.receive()
                except (trio.EndOfChannel, trio.ClosedResourceError):
                    return True
                finally:
                    self._idle = None
            if idle.cancelled_caught:
                continue
            await self._handle(e, dispatcher)
        return False

    async def _handle(self, e: ev.BusEvent, dispatcher: Dispatcher) -> None:
        if isinstance(e, ev.Snapshot):
            self.snapshots[e.incident] = e.jpeg
        elif isinstance(e, ev.Incident):
            try:
                await dispatcher.dispatch(incident_event(e, self.snapshots))
            except Exception:
                log.exception("actions: could not queue the actions of incident %s", e.id)
            if e.type == "end":
                self.snapshots.pop(e.id, None)

    async def _snapshot(self, camera: str) -> bytes | None:
        try:
            return self.daemon.snapshot(camera)
        except LookupError:
            return None

    async def _watch_depth(self, outbox: Outbox, targets: list[str]) -> None:
        while True:
            st = await outbox.status()
            self.depth = {t: st.counts.get(t, {}).get("pending", 0) for t in {*targets, *st.counts}}
            self.dead = {t: c.get("dead", 0) for t, c in st.counts.items() if c.get("dead")}
            await trio.sleep(DEPTH_INTERVAL)

    async def _drain_mqtt(self, outbox: Outbox) -> None:
        """At a stop: the last events (incidents ended by the stop) go out while the broker is there."""
        publisher = self.daemon.mqtt_publisher
        if publisher is None or not publisher.connected:
            return
        while (await outbox.status()).counts.get(MQTT_TARGET, {}).get("pending", 0):
            await trio.sleep(0.05)
