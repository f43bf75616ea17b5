"""Plugging the other stages into the daemon: actions (durable outbox), MQTT, the HTTP endpoint.

The actions and MQTT consumers are bus subscriptions running in the daemon's nursery, started
only when configured (app.py `_start_stages`); they hand over to recorderd/daemon/actions.py and
recorderd/daemon/mqtt.py. The stages know nothing of the engine.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from recorderd.core import bus as ev

if TYPE_CHECKING:
    from recorderd.actions.event import IncidentEvent
    from recorderd.daemon.app import Daemon

log = logging.getLogger("recorderd.daemon")


def incident_event(e: ev.Incident, daemon: Daemon) -> IncidentEvent:
    from recorderd.daemon.actions import incident_event as make

    return make(e, daemon.snapshots)


async def actions_consumer(
    recv: trio.MemoryReceiveChannel[ev.BusEvent],
    daemon: Daemon,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Incidents to the durable outbox: MQTT events, e-mail, FTP, HTTP, camera linkage."""
    if daemon.actions is None:
        from recorderd.daemon.actions import ActionsStage

        daemon.actions = ActionsStage(daemon)
    await daemon.actions.run(recv, task_status=task_status)


async def mqtt_consumer(recv: trio.MemoryReceiveChannel[ev.BusEvent], daemon: Daemon) -> None:
    """States to MQTT's retained topics (connected, triggers, armed, snapshot)."""
    if daemon.mqtt is None:
        async for _ in recv:
            pass
        return
    await daemon.mqtt.consume(recv)


def http_token(daemon: Daemon) -> str | None:
    cfg = daemon.cfg.daemon
    if cfg.http_token is not None:
        return cfg.http_token.get_secret_value()
    if cfg.http_token_file is not None:
        return cfg.http_token_file.read_text(encoding="utf-8").strip()
    return None


async def serve_http(
    daemon: Daemon, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """The local HTTP endpoint (status, metrics, snapshot, manual trigger, armed) until cancelled.

    A listen address that cannot be bound or a token file that cannot be read is logged as an
    error and leaves the endpoint off (the cameras matter more); a reload may fix it."""
    from recorderd.service.http import serve_http as serve

    listen = daemon.cfg.daemon.http_listen
    if not listen:
        task_status.started()
        await trio.sleep_forever()
    try:
        token = http_token(daemon)
    except OSError as e:
        log.error("HTTP endpoint off: cannot read http_token_file: %s", e.strerror or e)
        task_status.started()
        await trio.sleep_forever()
    async with trio.open_nursery() as nursery:
        try:
            addrs = await nursery.start(serve, daemon, listen, token)
        except OSError as e:
            log.error("HTTP endpoint off: cannot listen on %s: %s", listen, e.strerror or e)
            task_status.started()
            await trio.sleep_forever()
        daemon.http_addresses = list(addrs)
        log.info("HTTP endpoint on %s", ", ".join(addrs))
        task_status.started()
