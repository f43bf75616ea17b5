"""Wiring for the daemon: senders from the config, the outbox, the dispatcher, in one context.

    async with open_actions(config, snapshot_source=...) as dispatcher:
        ...
        await dispatcher.dispatch(event)      # commits the rows; delivery runs in the background

Leaving the context stops delivery (pending rows stay in <state_dir>/outbox.sqlite for the next
start), closes kept FTP connections, the HTTP client and the asyncio bridge.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import trio

from recorderd.actions.bridge import AsyncioBridge, open_asyncio_bridge
from recorderd.actions.dispatcher import Dispatcher, ScheduleCheck, SnapshotSource, link_target
from recorderd.actions.ftp import FtpSender
from recorderd.actions.link import LinkSender
from recorderd.actions.mail import EmailSender
from recorderd.actions.outbox import Report, RetryPolicy, Sender, open_outbox
from recorderd.actions.webhook import HttpSender
from recorderd.config.model import Config, EmailTarget, FtpTarget

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


@asynccontextmanager
async def open_actions(
    config: Config,
    *,
    snapshot_source: SnapshotSource | None = None,
    schedule_check: ScheduleCheck | None = None,
    policy: RetryPolicy | None = None,
    observer: Callable[[Report], None] | None = None,
    tls_context: ssl.SSLContext | None = None,
    path: Path | None = None,
) -> AsyncIterator[Dispatcher]:
    async with open_asyncio_bridge() as bridge, httpx.AsyncClient() as client:
        senders = build_senders(config, bridge, client, tls_context=tls_context)
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
