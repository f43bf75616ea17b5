"""The daemon assembled: the only place that builds the stages and says which needs which.

Each stage is an async context manager that runs its own tasks and ends them in its own way when
it is left, and each gets the few things it needs in its constructor. The nesting is the order:

    state_dir lock             taken before anything else (statelock.py), released last
    HTTP listening socket      bound next: a busy address stops the start before anything runs
    index                      opened first, closed last
      MQTT                     leaves: says `offline`, disconnects
        alarms                 leaves: commits what the bus still holds, MQTT events go out
          recording            leaves: every recorder finishes its file
            cameras            leave first: each ends its open incident ("stopped")
              HTTP endpoint

so a stop runs from the inside out: the cameras end their incidents, the recorders finish their
files, the outbox takes the last events, MQTT says goodbye, the index closes (as hypercorn's
`worker_serve` and trio-websocket's `open_websocket` nest theirs).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import trio

from recorderd.actions.runtime import MqttSender
from recorderd.cameras.engine import Engine, RecorderFor
from recorderd.config.model import Config
from recorderd.core import events as ev
from recorderd.core.bus import Bus
from recorderd.core.clock import Clock
from recorderd.daemon.alarms import AlarmStage, open_alarms
from recorderd.daemon.control import Endpoint
from recorderd.daemon.endpoint import HttpStage, open_http
from recorderd.daemon.mqtt_state import MqttStage, open_mqtt
from recorderd.daemon.recording_stage import RecordingStage, open_recording
from recorderd.daemon.statelock import hold_state_dir
from recorderd.mqtt.client import Tuning
from recorderd.recording.index import Index
from recorderd.service.listen import bind_listener

log = logging.getLogger("recorderd.daemon")


@dataclass
class Stages:
    config: Callable[[], Config]
    index: Index
    engine: Engine
    recording: RecordingStage
    alarms: AlarmStage
    mqtt: MqttStage
    http: HttpStage | None = None


@asynccontextmanager
async def open_index(
    state_dir_of: Callable[[], Config], given: Index | None, clock: Clock
) -> AsyncIterator[Index]:
    """The index (opened here unless given), with the incidents a crash left open closed."""
    index = (
        given
        if given is not None
        else await trio.to_thread.run_sync(Index.open, state_dir_of().daemon.state_dir)
    )
    try:
        closed = await trio.to_thread.run_sync(index.close_open_incidents, clock.utc())
        if closed:
            log.info("closed %d incident(s) left open by the last run", closed)
        yield index
    finally:
        if given is None:
            index.close()


@asynccontextmanager
async def open_engine(engine: Engine) -> AsyncIterator[Engine]:
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        try:
            yield engine
        finally:
            log.info("stopping: cameras")
            nursery.cancel_scope.cancel()  # each camera ends its open incident, shielded


@contextmanager
def bound_listener(listen: str) -> Iterator[socket.socket | None]:
    """The HTTP endpoint's socket, bound now (None when it is off); closed here unless taken over."""
    sock = bind_listener(listen) if listen else None
    try:
        yield sock
    finally:
        if sock is not None:
            sock.close()  # a no-op once the server took it over (detached)


@asynccontextmanager
async def open_stages(
    config: Callable[[], Config],
    bus: Bus[ev.BusEvent],
    clock: Clock,
    endpoint: Callable[[Stages], Endpoint],
    *,
    index: Index | None = None,
    recorder_for: RecorderFor | None = None,
    mqtt_tuning: Tuning | None = None,
) -> AsyncIterator[Stages]:
    """Every stage of the daemon, started in order; left from the inside out (module doc)."""
    daemon = config().daemon
    async with hold_state_dir(daemon.state_dir):
        with bound_listener(daemon.http_listen) as listener:
            async with open_index(config, index, clock) as idx:
                engine = Engine(config(), bus=bus, index=idx, clock=clock)
                sender = MqttSender()

                async def snapshot(camera: str) -> bytes | None:
                    try:
                        return await engine.snapshot(camera)
                    except LookupError:
                        return None

                queue = daemon.event_queue
                async with (
                    open_mqtt(config, bus, engine, sender, queue=queue, tuning=mqtt_tuning) as mqtt,
                    open_alarms(config, bus, sender, snapshot, queue=queue) as alarms,
                    open_recording(config, idx, clock) as recording,
                ):
                    engine.recorder_for = recorder_for or recording.inlet_for
                    async with open_engine(engine):
                        stages = Stages(config, idx, engine, recording, alarms, mqtt)
                        async with open_http(config, endpoint(stages), listener) as http:
                            stages.http = http
                            yield stages
