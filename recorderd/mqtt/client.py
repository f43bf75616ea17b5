"""`MqttClient`: one broker connection kept up for the daemon; a thin supervisor.

It wires the publish queue (queue.py: order, window, resends) to one paho connection at a time
(driver.py: the socket, the protocol engine) and owns the policy between connections:

- connect, and after a loss reconnect with capped, jittered backoff (`recorderd.core.backoff`),
  reset after a connection that lived `stable_after`; a new `Connection` per attempt.
- `publish()` returns when the broker acknowledged (PUBACK/PUBCOMP), however many reconnects that
  takes; the order on the wire is the order of `publish()` calls (the queue's rules).
- subscriptions are remembered and requested again after every CONNACK (clean sessions), before
  anything is published on the connection.
- the availability topic: `online` (retained) after every CONNACK, right after the resends;
  `offline` as the last will (retained) and, on a clean close, published before DISCONNECT (a
  clean DISCONNECT suppresses the will). A cancelled client drops the TCP connection without
  DISCONNECT, so the broker sends the will.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from recorderd.config.model import MqttConfig
from recorderd.core.backoff import Backoff
from recorderd.core.errors import RecorderdError
from recorderd.mqtt.driver import (
    Connack,
    ConnectError,
    ConnectFailure,
    Connection,
    FailureKind,
    Message,
    MqttSetupError,
    PublishError,
    Settings,
    Will,
    tls_context,
)
from recorderd.mqtt.inbox import Inbox
from recorderd.mqtt.queue import Finished, PublishQueue

__all__ = [
    "DEFAULT_TUNING",
    "Availability",
    "ClientClosed",
    "ConnectFailure",
    "FailureKind",
    "Message",
    "MqttClient",
    "MqttError",
    "MqttSetupError",
    "Publication",
    "Tuning",
    "tls_context",
]

log = logging.getLogger("recorderd.mqtt")


class MqttError(RecorderdError):
    """A publication that cannot be delivered (rejected by the broker, client closed, bad topic)."""


class ClientClosed(MqttError):
    pass


@dataclass(frozen=True)
class Availability:
    """`online` after each connect, `offline` as the will and on a clean close; both retained."""

    topic: str
    online: bytes = b"online"
    offline: bytes = b"offline"


@dataclass(frozen=True)
class Tuning:
    """Timing knobs; the defaults suit a daemon, tests shorten them."""

    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    # bounds the blocking connect in the worker thread, the wait for CONNACK and a clean close
    connect_timeout: float = 5.0
    # a connection that lived this long resets the backoff
    stable_after: float = 10.0
    # below mosquitto's default receive maximum (20)
    max_inflight: int = 10
    # distinct topics of incoming messages waiting to be handled (the latest per topic is kept)
    incoming_topics: int = 1024
    misc_interval: float = 1.0


DEFAULT_TUNING = Tuning()


@dataclass(eq=False)
class Publication:
    """One queued publication. `acknowledged`: the broker confirmed it (or, QoS 0, it was handed
    to the socket layer)."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    done: trio.Event = field(default_factory=trio.Event)
    error: MqttError | None = None
    # publish_nowait: nobody awaits, so report a failure in the log
    log_errors: bool = False

    def finish(self, error: MqttError | None = None) -> None:
        self.error = error
        self.done.set()
        if error is not None and self.log_errors and not isinstance(error, ClientClosed):
            log.warning("mqtt: publication to %s failed: %s", self.topic, error)

    @property
    def acknowledged(self) -> bool:
        return self.done.is_set() and self.error is None

    async def wait(self) -> None:
        """Until acknowledged; raises MqttError if it failed. Cancelling does not unsend it."""
        await self.done.wait()
        if self.error is not None:
            raise self.error


class MqttClient:
    """One broker connection, kept up by `run()` until `aclose()` or cancellation.

    Create it, start `run` in a nursery (`await nursery.start(client.run)`), then `publish` from any
    task. Incoming messages of the subscribed filters arrive on `incoming`.
    """

    def __init__(
        self,
        config: MqttConfig,
        *,
        availability: Availability | None = None,
        tuning: Tuning = DEFAULT_TUNING,
        on_connect: Callable[[], None] | None = None,
        client_id: str | None = None,
    ) -> None:
        self.config = config
        self.tuning = tuning
        self.availability = availability
        self._on_connect_hook = on_connect
        self.target = f"{config.host}:{config.port}"
        self.client_id = client_id or config.client_id or f"recorderd-{secrets.token_hex(4)}"
        self.qos = config.qos
        will = None
        if availability is not None:
            will = Will(availability.topic, availability.offline, qos=max(1, self.qos), retain=True)
        self._settings = Settings(
            host=config.host,
            port=config.port,
            client_id=self.client_id,
            protocol=config.protocol,
            keepalive=config.keepalive,
            username=config.username,
            password=config.secret() if config.username is not None else None,
            tls=tls_context(config.tls),
            will=will,
            connect_timeout=tuning.connect_timeout,
            misc_interval=tuning.misc_interval,
        )
        self._queue: PublishQueue[Publication] = PublishQueue(tuning.max_inflight)
        self._conn: Connection | None = None  # while connected
        self._subscriptions: dict[str, int] = {}
        self._running = False
        self._stopped = trio.Event()
        self._closing = False
        self._close_requested = trio.Event()
        self._connected = False
        self._state_changed = trio.Event()
        self._pump_wakeup = trio.Event()
        self.last_failure: ConnectFailure | None = None
        self._failures = 0
        self.incoming = Inbox(tuning.incoming_topics)

    # -- public API ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True between a successful CONNACK and the loss of that connection."""
        return self._connected

    async def wait_connected(self) -> None:
        while not self._connected:
            if self._stopped.is_set():
                raise ClientClosed("mqtt client is closed")
            await self._state_changed.wait()

    async def wait_attempt(self) -> None:
        """Until connected, or until the next connection attempt fails (see `last_failure`)."""
        failures = self._failures
        while not self._connected and self._failures == failures:
            if self._stopped.is_set():
                raise ClientClosed("mqtt client is closed")
            await self._state_changed.wait()

    async def wait_disconnected(self) -> None:
        while self._connected:
            await self._state_changed.wait()

    async def publish(
        self, topic: str, payload: bytes | str, *, retain: bool = False, qos: int | None = None
    ) -> None:
        """Publish and return once the broker acknowledged it (QoS 1/2), or once handed to the
        socket layer (QoS 0). Blocks while disconnected; survives reconnects (same order).

        Cancelled before the message left our queue: it is not sent. Cancelled later: it is still
        delivered, so a caller that retries may cause a duplicate (receivers drop it by id).
        Raises MqttError if the broker rejects it (MQTT 5 reason code) or the client closes.
        """
        item = self._enqueue(topic, payload, retain, qos)
        try:
            await item.wait()
        except trio.Cancelled:
            self._queue.withdraw(item)
            raise

    def publish_nowait(
        self, topic: str, payload: bytes | str, *, retain: bool = False, qos: int | None = None
    ) -> Publication:
        """Queue a publication behind every earlier one; failures are logged (and on the handle)."""
        item = self._enqueue(topic, payload, retain, qos)
        item.log_errors = True
        return item

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe now if connected, and again after every reconnect."""
        self._subscriptions[topic_filter] = qos
        if self._conn is not None:
            self._conn.subscribe(topic_filter, qos)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, and reconnect with capped, jittered backoff, until aclose() or cancellation."""
        if self._running or self._stopped.is_set():
            raise RuntimeError("MqttClient.run() can be called once")
        self._running = True
        backoff = Backoff(
            self.tuning.backoff_initial, self.tuning.backoff_max, stable_after=self.tuning.stable_after
        )
        task_status.started()
        try:
            while not self._closing:
                lived = await self._attempt()
                if self._closing:
                    break
                backoff.ended(lived)
                delay = backoff.next_delay()
                log.info("mqtt: reconnecting to %s in %.2fs", self.target, delay)
                with trio.move_on_after(delay):
                    await self._close_requested.wait()
        finally:
            self._set_connected(False)
            for done in self._queue.close():
                self._finish(done)
            self.incoming.close()
            self._stopped.set()
            self._state_changed.set()

    async def aclose(self) -> None:
        """Publish `offline`, send DISCONNECT and stop `run()` (each step bounded by connect_timeout)."""
        self._closing = True
        self._close_requested.set()
        if self._running:
            await self._stopped.wait()

    # -- one connection --------------------------------------------------------------------

    async def _attempt(self) -> float:
        """One connection from connect to loss; returns how long it was up (0 if it never was)."""
        conn = Connection(self._settings, on_published=self._on_published, on_message=self._on_message)
        up_since: float | None = None
        try:
            async with trio.open_nursery() as nursery:
                try:
                    connack = await nursery.start(self._serve, conn, nursery.cancel_scope)
                except ConnectError as e:
                    return self._failed(e.failure)
                up_since = trio.current_time()
                self.last_failure = None
                log.info(
                    "mqtt: connected to %s as %s (MQTT %s)", self.target, self.client_id, self.config.protocol
                )
                # clean sessions: the broker forgot them; asked before anything is published, so
                # once `online` is visible they are active
                self._conn = conn
                for topic_filter, qos in self._subscriptions.items():
                    conn.subscribe(topic_filter, qos)
                # the queue sends the unacknowledged ones again first, then the birth message,
                # then everything newer, starting with what the hook queues
                self._queue.connection_made(connack.receive_maximum)
                self._set_connected(True)
                if self.availability is not None:
                    self._enqueue(
                        self.availability.topic, self.availability.online, True, None, front=True
                    ).log_errors = True
                if self._on_connect_hook is not None:
                    self._on_connect_hook()
                nursery.start_soon(self._pump, conn)
                nursery.start_soon(self._close_when_asked, conn, nursery.cancel_scope)
        finally:
            self._conn = None
            self._set_connected(False)
            # only once the connection is torn down: its last acknowledgements have been counted
            self._queue.connection_lost()
        if not self._closing and up_since is not None:
            log.warning("mqtt: connection to %s lost (%s)", self.target, conn.lost_reason)
        return trio.current_time() - up_since if up_since is not None else 0.0

    async def _serve(
        self, conn: Connection, scope: trio.CancelScope, *, task_status: trio.TaskStatus[Connack]
    ) -> None:
        await conn.run(task_status=task_status)
        scope.cancel()  # the connection ended: stop the pump and the closer with it

    def _failed(self, failure: ConnectFailure) -> float:
        if failure.kind in ("auth", "refused", "tls"):
            log.error("mqtt: %s", failure.message)
        else:
            log.warning("mqtt: %s", failure.message)
        self.last_failure = failure
        self._failures += 1
        self._state_changed.set()
        self._state_changed = trio.Event()
        return 0.0

    async def _close_when_asked(self, conn: Connection, scope: trio.CancelScope) -> None:
        await self._close_requested.wait()
        with trio.move_on_after(self.tuning.connect_timeout):
            if self.availability is not None:
                with contextlib.suppress(MqttError):
                    await self.publish(self.availability.topic, self.availability.offline, retain=True)
            await conn.disconnect()
        scope.cancel()

    async def _pump(self, conn: Connection) -> None:
        """Hand what the queue allows to the connection; woken by new items and acknowledgements."""
        while True:
            while (item := self._queue.next_to_send()) is not None:
                try:
                    mid = conn.publish(item.topic, item.payload, item.qos, item.retain)
                except PublishError as e:
                    self._finish(self._queue.not_sent(item, str(e)))
                    continue
                self._finish(self._queue.sent(item, mid))
            self._pump_wakeup = trio.Event()
            await self._pump_wakeup.wait()

    # -- connection callbacks (inside paho's loop) ---------------------------------------------

    def _on_published(self, mid: int, reason: str | None) -> None:
        self._finish(self._queue.acked(mid, reason))
        self._pump_wakeup.set()

    def _on_message(self, msg: Message) -> None:
        self.incoming.put(msg)

    # -- helpers -----------------------------------------------------------------------------

    def _enqueue(
        self, topic: str, payload: bytes | str, retain: bool, qos: int | None, *, front: bool = False
    ) -> Publication:
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        item = Publication(topic, data, self.qos if qos is None else qos, retain)
        if self._closing and not self._connected:
            item.finish(ClientClosed("mqtt client is closed"))
            return item
        self._finish(self._queue.publish(item, front=front))
        self._pump_wakeup.set()
        return item

    def _finish(self, done: Finished[Publication] | None) -> None:
        if done is None:
            return
        item = done.item
        if done.outcome == "acked":
            item.finish()
        elif done.outcome == "closed":
            item.finish(ClientClosed("mqtt client is closed"))
        elif done.outcome == "rejected":
            item.finish(MqttError(f"the broker rejected the publication to {item.topic!r}: {done.reason}"))
        else:
            item.finish(MqttError(f"cannot publish to {item.topic!r}: {done.reason}"))

    def _set_connected(self, value: bool) -> None:
        if self._connected != value:
            self._connected = value
            self._state_changed.set()
            self._state_changed = trio.Event()
