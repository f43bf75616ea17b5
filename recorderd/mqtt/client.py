"""An MQTT client for trio: paho-mqtt's protocol engine, driven through its socket callbacks.

paho does the MQTT state machine; trio owns the socket readiness, the clock and the tasks:

- `reconnect()` (DNS, TCP connect, TLS handshake: blocking) runs in a worker thread, bounded by
  `connect_timeout`; while it runs no trio task touches the paho client.
- afterwards one task waits `wait_readable` and calls `loop_read`, one waits `wait_writable` while
  paho has bytes queued (`on_socket_register_write` wakes it) and calls `loop_write`, one calls
  `loop_misc` every second for keepalive. `on_socket_close` calls `notify_closing`, so a task
  blocked on the socket wakes with ClosedResourceError instead of waiting on a dead descriptor.
- publications go through our own FIFO and at most `max_inflight` of them are handed to paho at a
  time. paho keeps unacknowledged QoS>0 messages across reconnects and resends them, in order,
  right after the next CONNACK; everything newer is handed over only after that, so the order on
  the wire is the order of `publish()` calls, across broker outages. `publish()` returns when the
  broker acknowledged (PUBACK/PUBCOMP), however many reconnects that takes.
- subscriptions are remembered and requested again after every CONNACK (clean sessions).
- the availability topic: `online` (retained) after every CONNACK, `offline` as the last will
  (retained) and, on a clean close, published before DISCONNECT (a clean DISCONNECT suppresses the
  will). A cancelled client drops the TCP connection without DISCONNECT, so the broker sends the
  will.

Every paho callback runs in the trio thread (inside loop_read/loop_write/loop_misc) except those
fired by `reconnect()` in the worker thread; those only touch plain attributes.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import paho.mqtt.client as paho
import trio
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from recorderd.config.model import MqttConfig, MqttTls
from recorderd.core.backoff import Backoff

log = logging.getLogger("recorderd.mqtt")

_OK = MQTTErrorCode.MQTT_ERR_SUCCESS


class MqttError(Exception):
    """A publication that cannot be delivered (rejected by the broker, client closed, bad topic)."""


class ClientClosed(MqttError):
    pass


class MqttSetupError(Exception):
    """The configuration cannot be turned into a client (TLS files unreadable, ...)."""


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool


@dataclass(frozen=True)
class Availability:
    """`online` after each connect, `offline` as the will and on a clean close; both retained."""

    topic: str
    online: bytes = b"online"
    offline: bytes = b"offline"


FailureKind = Literal["connect", "tls", "auth", "refused", "timeout", "closed"]
# CONNACK reason codes that mean the credentials (v3 return codes 4 and 5 arrive as these)
_AUTH_REASONS = {0x86, 0x87, 0x8C}


@dataclass(frozen=True)
class ConnectFailure:
    """Why the last connection attempt failed: `kind` for a program, `message` for a person."""

    kind: FailureKind
    message: str


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
    incoming_buffer: int = 256
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
    handed: bool = False
    abandoned: bool = False
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


def tls_context(tls: bool | MqttTls) -> ssl.SSLContext | None:
    """The client's TLS context from `[mqtt].tls` (false, true, or a table of files)."""
    if tls is False:
        return None
    opts = tls if isinstance(tls, MqttTls) else MqttTls()
    try:
        ctx = ssl.create_default_context(cafile=str(opts.ca_file) if opts.ca_file else None)
    except (OSError, ssl.SSLError) as e:
        raise MqttSetupError(f"mqtt.tls.ca_file {opts.ca_file}: {describe_error(e)}") from None
    if opts.cert_file is not None:
        try:
            ctx.load_cert_chain(
                str(opts.cert_file), str(opts.key_file) if opts.key_file is not None else None
            )
        except (OSError, ssl.SSLError) as e:
            raise MqttSetupError(
                f"mqtt.tls.cert_file {opts.cert_file} / key_file {opts.key_file}: {describe_error(e)}"
            ) from None
    if opts.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def describe_error(e: BaseException) -> str:
    """A short reason for a failed connect, without a traceback."""
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {e.verify_message or e.reason}"
    if isinstance(e, ssl.CertificateError):
        return f"TLS certificate does not match the host: {e}"
    if isinstance(e, ssl.SSLError):
        return f"TLS error: {e.reason or e}"
    if isinstance(e, socket.gaierror):
        return f"cannot resolve the host name: {e.strerror or e}"
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, OSError):
        return e.strerror or str(e) or type(e).__name__
    return str(e) or type(e).__name__


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
        self.protocol_version = paho.MQTTv5 if config.protocol == "5" else paho.MQTTv311
        self.qos = config.qos

        if self.protocol_version == paho.MQTTv5:
            client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=paho.MQTTv5)
        else:
            client = paho.Client(
                CallbackAPIVersion.VERSION2,
                client_id=self.client_id,
                protocol=paho.MQTTv311,
                clean_session=True,
            )
        self._paho = client
        client.connect_timeout = tuning.connect_timeout
        # paho never queues on its own: we hand over at most max_inflight (<= 20) at a time
        client.max_inflight_messages = max(20, tuning.max_inflight)
        if config.username is not None:
            client.username_pw_set(config.username, config.secret())
        ctx = tls_context(config.tls)
        if ctx is not None:
            client.tls_set_context(ctx)
            if not ctx.check_hostname:
                client.tls_insecure_set(True)
        if availability is not None:
            client.will_set(availability.topic, availability.offline, qos=max(1, self.qos), retain=True)

        client.on_socket_open = self._cb_socket_open
        client.on_socket_close = self._cb_socket_close
        client.on_socket_register_write = self._cb_register_write
        client.on_socket_unregister_write = self._cb_unregister_write
        client.on_connect = self._cb_connect
        client.on_disconnect = self._cb_disconnect
        client.on_publish = self._cb_publish
        client.on_message = self._cb_message
        client.on_subscribe = self._cb_subscribe
        # sets host/port/keepalive only; the connect itself is reconnect() in a thread
        client.connect_async(
            config.host,
            config.port,
            keepalive=max(0, round(config.keepalive)),
            clean_start=True,
        )

        self._trio_thread: int | None = None
        self._running = False
        self._stopped = trio.Event()
        self._closing = False
        self._close_requested = trio.Event()
        self._connected = False
        self._state_changed = trio.Event()
        self._queue: deque[Publication] = deque()
        self._inflight: dict[int, Publication] = {}
        self._inflight_limit = tuning.max_inflight
        self._subscriptions: dict[str, int] = {}
        self._pump_wakeup = trio.Event()
        self._write_wakeup = trio.Event()
        self._lost = trio.Event()
        self._connack = trio.Event()
        self._refused: tuple[int, str] | None = None
        self.last_failure: ConnectFailure | None = None
        self._failures = 0
        self._disconnect_reason = "closed"
        self._incoming_send, self.incoming = trio.open_memory_channel[Message](tuning.incoming_buffer)

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

        Cancelled before the message left our queue: it is not sent. Cancelled later: paho still
        delivers it, so a caller that retries may cause a duplicate (receivers drop it by id).
        Raises MqttError if the broker rejects it (MQTT 5 reason code) or the client closes.
        """
        item = self._enqueue(topic, payload, retain, qos)
        try:
            await item.wait()
        except trio.Cancelled:
            item.abandoned = True
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
        if self._connected:
            self._paho.subscribe(topic_filter, qos)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, and reconnect with capped, jittered backoff, until aclose() or cancellation."""
        if self._running or self._stopped.is_set():
            raise RuntimeError("MqttClient.run() can be called once")
        self._running = True
        self._trio_thread = threading.get_ident()
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
            closed = ClientClosed("mqtt client is closed")
            for item in [*self._queue, *self._inflight.values()]:
                item.finish(closed)
            self._queue.clear()
            self._inflight.clear()
            self._incoming_send.close()
            self._stopped.set()
            self._state_changed.set()

    async def aclose(self) -> None:
        """Publish `offline`, send DISCONNECT and stop `run()` (each step bounded by connect_timeout)."""
        self._closing = True
        self._close_requested.set()
        self._wake_pump()
        if self._running:
            await self._stopped.wait()

    # -- connection ------------------------------------------------------------------------

    async def _attempt(self) -> float:
        """One connection from connect to loss; returns how long it was up (0 if it never was)."""
        try:
            await trio.to_thread.run_sync(self._paho.reconnect)
        except (OSError, ValueError) as e:  # ssl.SSLError is an OSError, CertificateError a ValueError
            tls = isinstance(e, ssl.SSLError | ssl.CertificateError)
            return self._failed(
                "tls" if tls else "connect", f"cannot connect to {self.target}: {describe_error(e)}"
            )
        opened = self._paho.socket()
        if not isinstance(opened, socket.socket):
            return self._failed("connect", f"cannot connect to {self.target}: no socket")
        sock: socket.socket = opened
        self._lost = trio.Event()
        self._connack = trio.Event()
        self._refused = None
        self._disconnect_reason = "closed"
        up_since: float | None = None
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._reader, sock)
                nursery.start_soon(self._writer, sock)
                nursery.start_soon(self._misc)
                nursery.start_soon(self._cancel_when_lost, nursery.cancel_scope)
                with trio.move_on_after(self.tuning.connect_timeout):
                    await self._connack.wait()
                if self._refused is not None:
                    nursery.cancel_scope.cancel()
                    kind: FailureKind = "auth" if self._refused[0] in _AUTH_REASONS else "refused"
                    return self._failed(kind, f"{self.target} refused the connection: {self._refused[1]}")
                if not self._connack.is_set() or self._lost.is_set():
                    nursery.cancel_scope.cancel()
                    if self._lost.is_set():
                        return self._failed("closed", f"{self.target} closed the connection before CONNACK")
                    return self._failed(
                        "timeout", f"no CONNACK from {self.target} within the connect timeout"
                    )
                up_since = time.monotonic()
                self.last_failure = None
                log.info(
                    "mqtt: connected to %s as %s (MQTT %s)",
                    self.target,
                    self.client_id,
                    self.config.protocol,
                )
                self._set_connected(True)
                # paho resent its unacknowledged messages inside the CONNACK handling; only
                # now do newer ones follow, starting with the birth message and the hook's
                if self.availability is not None:
                    self._enqueue(
                        self.availability.topic, self.availability.online, True, None, front=True
                    ).log_errors = True
                if self._on_connect_hook is not None:
                    self._on_connect_hook()
                nursery.start_soon(self._pump)
                nursery.start_soon(self._close_when_asked, nursery.cancel_scope)
        finally:
            self._set_connected(False)
            if self._paho.socket() is sock:
                self._force_close(sock)
        if not self._closing and up_since is not None:
            log.warning("mqtt: connection to %s lost (%s)", self.target, self._disconnect_reason)
        return time.monotonic() - up_since if up_since is not None else 0.0

    def _failed(self, kind: FailureKind, message: str) -> float:
        if kind in ("auth", "refused", "tls"):
            log.error("mqtt: %s", message)
        else:
            log.warning("mqtt: %s", message)
        self.last_failure = ConnectFailure(kind, message)
        self._failures += 1
        self._state_changed.set()
        self._state_changed = trio.Event()
        return 0.0

    async def _cancel_when_lost(self, scope: trio.CancelScope) -> None:
        await self._lost.wait()
        scope.cancel()

    async def _close_when_asked(self, scope: trio.CancelScope) -> None:
        await self._close_requested.wait()
        with trio.move_on_after(self.tuning.connect_timeout):
            if self.availability is not None:
                with contextlib.suppress(MqttError):
                    await self.publish(self.availability.topic, self.availability.offline, retain=True)
            self._paho.disconnect()
            # the writer sends DISCONNECT, then paho closes the socket
            await self._lost.wait()
        scope.cancel()

    def _force_close(self, sock: socket.socket) -> None:
        """Drop the connection without DISCONNECT (the broker then sends the will)."""
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        # reads EOF: paho closes the socket itself and runs its callbacks
        self._paho.loop_read()
        if self._paho.socket() is sock:
            trio.lowlevel.notify_closing(sock)
            sock.close()

    async def _reader(self, sock: socket.socket) -> None:
        while True:
            if self._closed_under_us(sock):
                return
            try:
                await trio.lowlevel.wait_readable(sock)
            except trio.ClosedResourceError:
                return
            rc = self._paho.loop_read()
            # TLS may hold decrypted bytes that select() cannot see
            while (
                rc == _OK
                and self._paho.socket() is sock
                and isinstance(sock, ssl.SSLSocket)
                and sock.pending()
            ):
                rc = self._paho.loop_read()
            if rc != _OK or self._paho.socket() is not sock:
                self._lost.set()
                return

    def _closed_under_us(self, sock: socket.socket) -> bool:
        """paho closed the socket while a task slept (no notify_closing): the connection is lost."""
        if sock.fileno() >= 0:
            return False
        self._lost.set()
        return True

    async def _writer(self, sock: socket.socket) -> None:
        while True:
            if not self._paho.want_write():
                self._write_wakeup = trio.Event()
                await self._write_wakeup.wait()
                continue
            if self._closed_under_us(sock):
                return
            try:
                await trio.lowlevel.wait_writable(sock)
            except trio.ClosedResourceError:
                return
            rc = self._paho.loop_write()
            if rc != _OK or self._paho.socket() is not sock:
                self._lost.set()
                return

    async def _misc(self) -> None:
        while True:
            await trio.sleep(self.tuning.misc_interval)
            if self._paho.loop_misc() != _OK:
                self._lost.set()
                return
            # belt and braces: a PINGREQ (or anything) queued without a register callback
            self._write_wakeup.set()

    async def _pump(self) -> None:
        """Hand queued publications to paho, at most `_inflight_limit` unacknowledged at a time."""
        while True:
            while self._queue and len(self._inflight) < self._inflight_limit and self._connected:
                item = self._queue.popleft()
                if not item.abandoned:
                    self._hand(item)
            self._pump_wakeup = trio.Event()
            await self._pump_wakeup.wait()

    def _hand(self, item: Publication) -> None:
        try:
            info = self._paho.publish(item.topic, item.payload, item.qos, item.retain)
        except ValueError as e:  # a topic with wildcards, a payload over 256 MiB
            item.finish(MqttError(f"cannot publish to {item.topic!r}: {e}"))
            return
        item.handed = True
        if info.rc not in (_OK, MQTTErrorCode.MQTT_ERR_NO_CONN):
            item.finish(MqttError(f"cannot publish to {item.topic!r}: {paho.error_string(info.rc)}"))
        elif item.qos == 0:
            item.finish()
        else:
            # paho keeps it (even on NO_CONN) and resends it after the next CONNACK
            self._inflight[info.mid] = item

    def _enqueue(
        self, topic: str, payload: bytes | str, retain: bool, qos: int | None, *, front: bool = False
    ) -> Publication:
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        item = Publication(topic, data, self.qos if qos is None else qos, retain)
        if self._stopped.is_set() or (self._closing and not self._connected):
            item.finish(ClientClosed("mqtt client is closed"))
            return item
        if front:
            self._queue.appendleft(item)
        else:
            self._queue.append(item)
        self._wake_pump()
        return item

    def _wake_pump(self) -> None:
        if self._trio_thread is None or threading.get_ident() == self._trio_thread:
            self._pump_wakeup.set()

    def _set_connected(self, value: bool) -> None:
        if self._connected != value:
            self._connected = value
            self._state_changed.set()
            self._state_changed = trio.Event()

    def _in_trio(self) -> bool:
        return threading.get_ident() == self._trio_thread

    # -- paho callbacks --------------------------------------------------------------------

    def _cb_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        log.debug("mqtt: socket open to %s", self.target)

    def _cb_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        if self._in_trio():
            if sock.fileno() >= 0:
                trio.lowlevel.notify_closing(sock)
            self._lost.set()

    def _cb_register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        # from the worker thread (CONNECT queued by reconnect) the writer starts later and
        # looks at want_write() first
        if self._in_trio():
            self._write_wakeup.set()

    def _cb_unregister_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        pass

    def _cb_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._refused = (reason.value, str(reason))
        else:
            limit = getattr(properties, "ReceiveMaximum", None)
            self._inflight_limit = min(self.tuning.max_inflight, limit) if limit else self.tuning.max_inflight
            for topic_filter, qos in self._subscriptions.items():
                client.subscribe(topic_filter, qos)
        self._connack.set()

    def _cb_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if flags.is_disconnect_packet_from_server:
            self._disconnect_reason = f"the broker sent DISCONNECT: {reason}"
        elif not self._closing:
            self._disconnect_reason = "the connection closed"
        if self._in_trio():
            self._set_connected(False)
            self._lost.set()

    def _cb_publish(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        item = self._inflight.pop(mid, None)
        if item is None:
            return
        if reason.is_failure:
            item.finish(MqttError(f"the broker rejected the publication to {item.topic!r}: {reason}"))
        else:
            item.finish()
        self._wake_pump()

    def _cb_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        try:
            self._incoming_send.send_nowait(Message(msg.topic, bytes(msg.payload), bool(msg.retain)))
        except trio.WouldBlock:
            log.warning("mqtt: incoming queue full, dropped a message on %s", msg.topic)
        except trio.ClosedResourceError:
            pass

    def _cb_subscribe(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        for reason in reasons:
            if reason.is_failure:
                log.error("mqtt: %s refused a subscription: %s", self.target, reason)
