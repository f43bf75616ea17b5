"""One MQTT connection: paho-mqtt's protocol engine, driven from trio through its socket callbacks.

paho does the MQTT state machine; trio owns the socket readiness, the clock and the tasks:

- `reconnect()` (DNS, TCP connect, TLS handshake: blocking) runs in a worker thread, bounded by
  `connect_timeout` (paho's socket timeout); no trio task touches the paho client meanwhile, and
  the callbacks fired there only touch plain attributes.
- afterwards one task waits `wait_readable` and calls `loop_read`, one waits `wait_writable` while
  paho has bytes queued (`on_socket_register_write` wakes it) and calls `loop_write`, one calls
  `loop_misc` every `misc_interval` for keepalive. `on_socket_close` calls `notify_closing`, so a
  task blocked on the socket wakes instead of waiting on a dead (or reused) descriptor, and no
  task waits on a socket paho no longer holds.

A `Connection` is one paho client and one connection, from connect to loss; nothing outlives it
(paho's unacknowledged messages, message ids, keepalive timers). Reconnecting, resending and the
in-flight window are the caller's: paho is handed only what may go out, and never queues.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import paho.mqtt.client as paho
import trio
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from recorderd.config.model import MqttTls
from recorderd.core.errors import RecorderdError, safe_reason

log = logging.getLogger("recorderd.mqtt")

_OK = MQTTErrorCode.MQTT_ERR_SUCCESS
# CONNACK reason codes that mean the credentials (v3 return codes 4 and 5 arrive as these)
_AUTH_REASONS = {0x86, 0x87, 0x8C}

FailureKind = Literal["connect", "tls", "auth", "refused", "timeout", "closed"]


class MqttSetupError(RecorderdError):
    """The configuration cannot be turned into a client (TLS files unreadable, ...)."""


@dataclass(frozen=True)
class ConnectFailure:
    """Why a connection attempt failed: `kind` for a program, `message` for a person."""

    kind: FailureKind
    message: str


class ConnectError(Exception):
    def __init__(self, failure: ConnectFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class PublishError(Exception):
    """paho would not take a publication (a topic with wildcards, a payload over 256 MiB)."""


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    client_id: str
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    keepalive: float = 30.0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: ssl.SSLContext | None = None
    will: Will | None = None
    # bounds the blocking connect in the worker thread and the wait for CONNACK
    connect_timeout: float = 5.0
    misc_interval: float = 1.0
    # a broker that owes an answer (PUBACK, PINGRESP) and says nothing this long is gone: paho's
    # keepalive alone notices a stalled broker only after up to twice `keepalive`
    answer_timeout: float = 10.0

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Connack:
    receive_maximum: int | None  # MQTT 5: the broker's limit of unacknowledged QoS>0 messages


class Connection:
    """`await nursery.start(conn.run)` connects and returns the CONNACK; `run` then serves the
    socket until the connection ends. `publish`, `subscribe` and `disconnect` in between.

    `on_published(mid, reason)` (reason: the broker's failure reason code, or None) and
    `on_message` are called in the trio thread, from inside paho's loop: they must not call back
    into this connection."""

    def __init__(
        self,
        settings: Settings,
        *,
        on_published: Callable[[int, str | None], None],
        on_message: Callable[[Message], None],
    ) -> None:
        self.settings = settings
        self.lost_reason = "closed"
        self._on_published = on_published
        self._on_message = on_message
        self._trio_thread = threading.get_ident()
        self._paho = self._make_client()
        self._connack = trio.Event()
        self._ended = trio.Event()
        self._settled = trio.Event()  # CONNACK came, or the connection ended before it
        self._write_wakeup = trio.Event()
        self._refused: tuple[int, str] | None = None
        self._receive_maximum: int | None = None
        self._disconnecting = False
        self._live = True  # forward paho's callbacks (until torn down)
        self._heard = 0.0  # trio time the broker last sent anything
        self._owed: dict[int, float] = {}  # mid -> when a QoS>0 publication went out; bound: the window
        self._ping_at: float | None = None  # our own PINGREQ, not answered yet

    # -- API -----------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[Connack] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect; started with the CONNACK, then returns when the connection ended.

        Raises ConnectError before CONNACK. Cancelled, it drops the TCP connection without
        DISCONNECT, so the broker publishes the will.
        """
        target = self.settings.target
        try:
            try:
                await trio.to_thread.run_sync(self._paho.reconnect)
            except (OSError, ValueError) as e:  # SSLError is an OSError, CertificateError a ValueError
                kind: FailureKind = "tls" if isinstance(e, ssl.SSLError | ssl.CertificateError) else "connect"
                raise ConnectError(
                    ConnectFailure(kind, f"cannot connect to {target}: {safe_reason(e)}")
                ) from None
            sock = self._paho.socket()
            if not isinstance(sock, socket.socket):
                raise ConnectError(ConnectFailure("connect", f"cannot connect to {target}: no socket"))
            failure: ConnectFailure | None = None
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._reader, sock)
                nursery.start_soon(self._writer, sock)
                nursery.start_soon(self._misc)
                with trio.move_on_after(self.settings.connect_timeout):
                    await self._settled.wait()
                failure = self._connack_failure()
                if failure is None:
                    task_status.started(Connack(self._receive_maximum))
                    await self._ended.wait()
                nursery.cancel_scope.cancel()
            if failure is not None:
                raise ConnectError(failure)
        finally:
            self._drop()

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> int:
        """Hand one publication to paho; its message id (reported by `on_published`)."""
        try:
            info = self._paho.publish(topic, payload, qos, retain)
        except ValueError as e:
            raise PublishError(str(e)) from None
        if qos > 0 and info.rc == _OK:
            self._owed[int(info.mid)] = trio.current_time()
        # NO_CONN: the connection is ending; the caller sends it again on the next one
        if info.rc not in (_OK, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise PublishError(paho.error_string(info.rc))
        return int(info.mid)

    def subscribe(self, topic_filter: str, qos: int) -> None:
        self._paho.subscribe(topic_filter, qos)

    async def disconnect(self) -> None:
        """Send DISCONNECT (no will) and wait until paho closed the socket; the caller bounds it."""
        self._disconnecting = True
        self._paho.disconnect()
        await self._ended.wait()

    # -- internals -----------------------------------------------------------------------------

    def _make_client(self) -> paho.Client:
        s = self.settings
        if s.protocol == "5":
            client = paho.Client(CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=paho.MQTTv5)
        else:
            client = paho.Client(
                CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=paho.MQTTv311, clean_session=True
            )
        client.connect_timeout = s.connect_timeout
        # 0 = no limit: the caller's queue keeps the window, paho sends whatever it is handed
        client.max_inflight_messages = 0
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.tls is not None:
            client.tls_set_context(s.tls)
            if not s.tls.check_hostname:
                client.tls_insecure_set(True)
        if s.will is not None:
            client.will_set(s.will.topic, s.will.payload, qos=s.will.qos, retain=s.will.retain)
        client.on_socket_open = self._cb_socket_open
        client.on_socket_close = self._cb_socket_close
        client.on_socket_register_write = self._cb_register_write
        client.on_connect = self._cb_connect
        client.on_disconnect = self._cb_disconnect
        client.on_publish = self._cb_publish
        client.on_message = self._cb_message
        client.on_subscribe = self._cb_subscribe
        # sets host/port/keepalive only; the connect itself is reconnect() in a thread
        client.connect_async(s.host, s.port, keepalive=max(0, round(s.keepalive)), clean_start=True)
        return client

    def _connack_failure(self) -> ConnectFailure | None:
        target = self.settings.target
        if self._refused is not None:
            code, reason = self._refused
            kind: FailureKind = "auth" if code in _AUTH_REASONS else "refused"
            return ConnectFailure(kind, f"{target} refused the connection: {reason}")
        if self._ended.is_set():
            return ConnectFailure("closed", f"{target} closed the connection before CONNACK")
        if not self._connack.is_set():
            return ConnectFailure("timeout", f"no CONNACK from {target} within the connect timeout")
        return None

    def _drop(self) -> None:
        """Close the socket without DISCONNECT (the broker then sends the will); then go quiet."""
        held = self._paho.socket()
        if isinstance(held, socket.socket):
            sock: socket.socket = held
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            # reads what is left and EOF: paho closes the socket itself and runs its callbacks
            self._paho.loop_read()
            if self._holds(sock):
                trio.lowlevel.notify_closing(sock)
                sock.close()
        self._live = False
        self._end()

    def _end(self) -> None:
        self._ended.set()
        self._settled.set()

    def _holds(self, sock: socket.socket) -> bool:
        # paho drops its reference before it closes the socket: never wait on a closed descriptor
        return self._paho.socket() is sock and sock.fileno() >= 0

    async def _reader(self, sock: socket.socket) -> None:
        while self._holds(sock):
            try:
                await trio.lowlevel.wait_readable(sock)
            except trio.ClosedResourceError:
                break
            rc = self._paho.loop_read()
            self._heard = trio.current_time()
            # TLS may hold decrypted bytes that select() cannot see
            while rc == _OK and self._holds(sock) and isinstance(sock, ssl.SSLSocket) and sock.pending():
                rc = self._paho.loop_read()
            if rc != _OK:
                break
        self._end()

    async def _writer(self, sock: socket.socket) -> None:
        while self._holds(sock):
            if not self._paho.want_write():
                self._write_wakeup = trio.Event()
                await self._write_wakeup.wait()
                continue
            try:
                await trio.lowlevel.wait_writable(sock)
            except trio.ClosedResourceError:
                break
            if self._paho.loop_write() != _OK:
                break
        self._end()

    async def _misc(self) -> None:
        # paho's keepalive: PINGREQ after `keepalive` idle, gives up after another `keepalive`;
        # and our own deadline for a broker that stalls while it owes an answer (`_stalled`)
        self._heard = trio.current_time()
        while True:
            await trio.sleep(self.settings.misc_interval)
            if self._stalled(trio.current_time()):
                reason = self.lost_reason
                self._drop()
                self.lost_reason = reason  # not paho's "the connection closed" from the drop
                return
            if self._paho.loop_misc() != _OK:
                break
            # belt and braces: a PINGREQ (or anything) queued without a register callback
            self._write_wakeup.set()
        self._end()

    def _stalled(self, now: float) -> bool:
        """Whether the broker owes an answer and has been silent for `answer_timeout`. A silent
        connection with nothing owed is probed with a PINGREQ of our own after `answer_timeout`."""
        limit = self.settings.answer_timeout
        if self._ping_at is not None and self._heard >= self._ping_at:
            self._ping_at = None
        owed = [t for t in (*self._owed.values(), self._ping_at) if t is not None]
        if owed and now - max(min(owed), self._heard) >= limit:
            self.lost_reason = f"the broker stopped answering (nothing for {limit:g}s)"
            return True
        if not owed and now - self._heard >= limit and _ping(self._paho):
            self._ping_at = now
            self._write_wakeup.set()
        return False

    def _in_trio(self) -> bool:
        return threading.get_ident() == self._trio_thread

    # -- paho callbacks (in the trio thread, except those fired by reconnect() in the worker) ---

    def _cb_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        log.debug("mqtt: socket open to %s", self.settings.target)

    def _cb_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        if self._in_trio():
            if sock.fileno() >= 0:
                trio.lowlevel.notify_closing(sock)
            self._end()

    def _cb_register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        # from the worker thread (CONNECT queued by reconnect) the writer starts later and
        # looks at want_write() first
        if self._in_trio():
            self._write_wakeup.set()

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
            self._receive_maximum = getattr(properties, "ReceiveMaximum", None)
        self._connack.set()
        self._settled.set()

    def _cb_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if flags.is_disconnect_packet_from_server:
            self.lost_reason = f"the broker sent DISCONNECT: {reason}"
        elif not self._disconnecting:
            self.lost_reason = "the connection closed"
        if self._in_trio():
            self._end()

    def _cb_publish(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._owed.pop(mid, None)
        if self._live:
            self._on_published(mid, str(reason) if reason.is_failure else None)

    def _cb_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        if self._live:
            self._on_message(Message(msg.topic, bytes(msg.payload), bool(msg.retain)))

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
                log.error("mqtt: %s refused a subscription: %s", self.settings.target, reason)


def _ping(client: paho.Client) -> bool:
    """Send a PINGREQ now, through paho's own (private) sender; False where this paho has none,
    and then its keepalive is the only probe (tests/mqtt/test_driver.py checks it is there)."""
    send = getattr(client, "_send_pingreq", None)
    return send is not None and send() == _OK


def tls_context(tls: bool | MqttTls) -> ssl.SSLContext | None:
    """The client's TLS context from `[mqtt].tls` (false, true, or a table of files)."""
    if tls is False:
        return None
    opts = tls if isinstance(tls, MqttTls) else MqttTls()
    try:
        ctx = ssl.create_default_context(cafile=str(opts.ca_file) if opts.ca_file else None)
    except (OSError, ssl.SSLError) as e:
        raise MqttSetupError(f"mqtt.tls.ca_file {opts.ca_file}: {safe_reason(e)}") from None
    if opts.cert_file is not None:
        try:
            ctx.load_cert_chain(
                str(opts.cert_file), str(opts.key_file) if opts.key_file is not None else None
            )
        except (OSError, ssl.SSLError) as e:
            raise MqttSetupError(
                f"mqtt.tls.cert_file {opts.cert_file} / key_file {opts.key_file}: {safe_reason(e)}"
            ) from None
    if opts.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
