"""Wiring for the daemon: senders from the config, the outbox, the dispatcher, in one context.

    async with open_actions(config, snapshot_source=...) as dispatcher:
        ...
        await dispatcher.dispatch(event)      # commits the rows; delivery runs in the background

Leaving the context stops delivery (pending rows stay in <state_dir>/outbox.sqlite for the next
start), closes kept FTP connections, the HTTP client and the asyncio bridge.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import trio

from recorderd.actions.bridge import AsyncioBridge, open_asyncio_bridge
from recorderd.actions.dispatcher import MQTT_TARGET, Dispatcher, ScheduleCheck, SnapshotSource, link_target
from recorderd.actions.ftp import FtpSender
from recorderd.actions.link import LinkSender
from recorderd.actions.mail import EmailSender
from recorderd.actions.outbox import (
    Action,
    Attachment,
    DeliveryError,
    FixedTimeoutSender,
    Report,
    Sender,
    open_outbox,
)
from recorderd.actions.webhook import HttpSender
from recorderd.config.model import Config, EmailTarget, FtpTarget
from recorderd.core.backoff import BackoffPolicy
from recorderd.core.events import IncidentEvent

if TYPE_CHECKING:
    from recorderd.mqtt.publisher import MqttPublisher

OUTBOX_FILE = "outbox.sqlite"


def outbox_path(config: Config) -> Path:
    return config.daemon.state_dir / OUTBOX_FILE


def mail_tls_context(t: EmailTarget) -> ssl.SSLContext | None:
    """The target's own trust settings; None keeps aiosmtplib's default (the system store)."""
    if t.ca_file is None and not t.tls_insecure:
        return None
    ctx = ssl.create_default_context(cafile=str(t.ca_file) if t.ca_file else None)
    if t.tls_insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def build_senders(
    config: Config,
    bridge: AsyncioBridge,
    client: httpx.AsyncClient,
    *,
    tls_context: ssl.SSLContext | None = None,
) -> dict[str, Sender]:
    """One sender per [targets.NAME], and `camera:<name>` for each camera's relay/PTZ."""
    senders: dict[str, Sender] = {}
    for name, t in config.targets.items():
        if isinstance(t, EmailTarget):
            senders[name] = EmailSender(name, t, bridge, tls_context=tls_context or mail_tls_context(t))
        elif isinstance(t, FtpTarget):
            senders[name] = FtpSender(name, t, bridge)
        else:
            senders[name] = HttpSender(name, t, client)
    for name, cam in config.cameras.items():
        if cam.url is not None:
            senders[link_target(name)] = LinkSender(name, cam, client, timeout=cam.read_timeout + 5.0)
    return senders


class MqttSender(FixedTimeoutSender):
    """Incident events to `<t>/<camera>/events` through the outbox (target and kind "mqtt").

    One at a time (concurrency 1) and without an attempt timeout: `publish_event` returns after
    the broker's PUBACK and waits out outages itself, so the rows go out in their order. A
    publisher that is replaced meanwhile (`set_publisher`, e.g. after a config reload) takes over
    the same attempt, so a reload never reorders events either. A refusal by the broker (MQTT 5
    reason code) is permanent: retrying later would put the event behind newer ones.
    """

    concurrency = 1
    timeout = math.inf
    eager = True  # the event subscribers wait for: out while its row commits (outbox.Sender)

    def __init__(self, publisher: MqttPublisher | None = None) -> None:
        self._publisher = publisher
        self._changed = trio.Event()

    @property
    def connected(self) -> bool:
        """Whether a publisher is in place and connected to its broker."""
        return self._publisher is not None and self._publisher.connected

    def set_publisher(self, publisher: MqttPublisher | None) -> None:
        self._publisher = publisher
        self._changed.set()
        self._changed = trio.Event()

    async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None:
        from recorderd.mqtt.client import ClientClosed, MqttError

        for data in action.payload.get("events", []):
            event = IncidentEvent.from_dict(data)
            while True:
                publisher, changed = self._publisher, self._changed
                if publisher is None:
                    await changed.wait()
                    continue
                try:
                    await publisher.publish_event(event)
                    break
                except ClientClosed:
                    await changed.wait()  # closed for a replacement (or shutdown: cancelled)
                except MqttError as e:
                    raise DeliveryError(f"broker refused event {event.id}: {e}", permanent=True) from None


@asynccontextmanager
async def open_actions(
    config: Config,
    *,
    snapshot_source: SnapshotSource | None = None,
    schedule_check: ScheduleCheck | None = None,
    policy: BackoffPolicy | None = None,
    observer: Callable[[Report], None] | None = None,
    tls_context: ssl.SSLContext | None = None,
    path: Path | None = None,
    mqtt: MqttPublisher | None = None,
    extra_senders: Mapping[str, Sender] | None = None,
) -> AsyncIterator[Dispatcher]:
    """`mqtt`: incident events of cameras whose actions say "mqtt" go through the outbox to it."""
    async with open_asyncio_bridge() as bridge, httpx.AsyncClient() as client:
        senders = build_senders(config, bridge, client, tls_context=tls_context)
        if mqtt is not None:
            senders[MQTT_TARGET] = MqttSender(mqtt)
        senders.update(extra_senders or {})
        try:
            async with (
                open_outbox(path or outbox_path(config), senders, policy=policy, observer=observer) as outbox,
                trio.open_nursery() as nursery,
            ):
                dispatcher = Dispatcher(
                    config, outbox, schedule_check=schedule_check, snapshot_source=snapshot_source
                )
                await nursery.start(dispatcher.run)
                yield dispatcher
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                for s in senders.values():
                    if isinstance(s, FtpSender):
                        await s.aclose()
