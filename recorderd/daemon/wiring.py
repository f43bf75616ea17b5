"""Plugging the other stages into the daemon: actions (durable outbox), MQTT, the HTTP endpoint.

Each is a bus consumer running in the daemon's nursery, started only when configured. They translate
bus events into the stage's own calls; the stages know nothing of the engine.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import trio

from recorderd.cameras import bus as ev

if TYPE_CHECKING:
    from recorderd.actions.event import IncidentEvent
    from recorderd.daemon.app import Daemon

log = logging.getLogger("recorderd.daemon")


def incident_event(e: ev.Incident, daemon: Daemon) -> IncidentEvent:
    from recorderd.actions.event import IncidentEvent

    snaps = (daemon.snapshots.get(e.id),) if e.type == "start" and e.id in daemon.snapshots else ()
    return IncidentEvent(
        id=e.id,
        camera=e.camera,
        trigger=e.trigger,
        type="start" if e.type == "start" else "end",
        time=e.time,
        armed=e.armed,
        recording=None,
        snapshots=tuple(s for s in snaps if s is not None),
    )


async def actions_consumer(recv: trio.MemoryReceiveChannel[ev.BusEvent], daemon: Daemon) -> None:
    """Incidents to the actions' durable outbox (e-mail, FTP, HTTP, camera linkage)."""
    from recorderd.actions.runtime import open_actions

    async def snapshot(camera: str) -> bytes | None:
        return daemon.snapshot(camera)

    async with open_actions(daemon.cfg, snapshot_source=snapshot) as dispatcher:
        async for e in recv:
            if isinstance(e, ev.Snapshot):
                daemon.snapshots[e.incident] = e.jpeg
            elif isinstance(e, ev.Incident):
                try:
                    await dispatcher.dispatch(incident_event(e, daemon))
                except Exception:
                    log.exception("actions: could not queue the actions of incident %s", e.id)
                if e.type == "end":
                    daemon.snapshots.pop(e.id, None)


async def mqtt_consumer(recv: trio.MemoryReceiveChannel[ev.BusEvent], daemon: Daemon) -> None:
    """States to MQTT's retained topics; incidents to `<t>/<camera>/events`; armed commands back."""
    from recorderd.mqtt.publisher import open_publisher

    cfg = daemon.cfg
    assert cfg.mqtt is not None
    cameras = {n: list(c.triggers) for n, c in cfg.cameras.items() if c.enabled}

    async def on_armed(camera: str, command: str) -> None:
        try:
            daemon.set_armed(camera, command)
        except LookupError:
            log.warning("mqtt: armed command for unknown camera %s ignored", camera)

    # events must arrive in order and each one; publish_event waits out a broker outage, so it runs
    # beside the state updates with its own queue (unbounded: a few items per incident)
    send, events = trio.open_memory_channel[ev.Incident](math.inf)

    async with open_publisher(cfg.mqtt, cameras, on_armed=on_armed) as pub:

        async def publish_events() -> None:
            async for inc in events:
                try:
                    await pub.publish_event(incident_event(inc, daemon))
                except Exception as err:
                    log.warning("mqtt: event %s %s not published: %s", inc.id, inc.type, err)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(publish_events)
            async for e in recv:
                if isinstance(e, ev.Connected):
                    pub.set_connected(e.camera, e.connected)
                elif isinstance(e, ev.TriggerChanged):
                    pub.set_trigger(e.camera, e.trigger, e.on)
                elif isinstance(e, ev.ArmedChanged):
                    pub.set_armed(e.camera, e.armed)
                elif isinstance(e, ev.Snapshot):
                    pub.set_snapshot(e.camera, e.jpeg)
                elif isinstance(e, ev.Incident):
                    send.send_nowait(e)
            send.close()


async def serve_http(
    daemon: Daemon, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """The local HTTP endpoint (status, metrics, snapshot, manual trigger, armed)."""
    from recorderd.service.http import serve_http as serve

    cfg = daemon.cfg.daemon
    token = None
    if cfg.http_token is not None:
        token = cfg.http_token.get_secret_value()
    elif cfg.http_token_file is not None:
        token = cfg.http_token_file.read_text(encoding="utf-8").strip()
    async with trio.open_nursery() as nursery:
        addrs = await nursery.start(serve, daemon, cfg.http_listen, token)
        log.info("HTTP endpoint on %s", ", ".join(addrs))
        task_status.started()
