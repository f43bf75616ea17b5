"""A real mosquitto, a real subscriber (paho in its own thread) and a TCP gate between a client
and the broker, for the MQTT and daemon tests (tests/mqtt/conftest.py holds the fixtures)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import paho.mqtt.client as paho
import trio
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

# ---- mosquitto ---------------------------------------------------------------------------------

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """Debian's mosquitto on 127.0.0.1, no persistence (a restart really forgets retained messages).

    `extra` adds config lines (e.g. an acl_file). `users` makes a password file (hashed by `mosquitto_passwd -U`, so no password on any argv)
    and disables anonymous access. `tls=(certfile, keyfile)` makes the listener TLS-only.
    `stop()`/`start()` restart it on the same port (mosquitto sets SO_REUSEADDR).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        users: dict[str, str] | None = None,
        tls: tuple[Path, Path] | None = None,
        extra: list[str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.extra = extra or []
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.users = users
        self.tls = tls
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "mosquitto.log"
        self.starts = 0

    def _write_config(self) -> Path:
        lines = [
            # as root mosquitto would switch to user "mosquitto", who cannot read our files
            f"user {pwd.getpwuid(os.geteuid()).pw_name}",
            "persistence false",
            "log_type all",
            "connection_messages true",
            f"listener {self.port} 127.0.0.1",
        ]
        if self.tls is not None:
            lines += [f"certfile {self.tls[0]}", f"keyfile {self.tls[1]}"]
        if self.users is not None:
            pwfile = self.workdir / "passwd"
            pwfile.write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
            pwfile.chmod(0o600)
            subprocess.run([MOSQUITTO_PASSWD, "-U", str(pwfile)], check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {pwfile}"]
        else:
            lines.append("allow_anonymous true")
        lines += self.extra
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self, deadline: float = 10.0) -> None:
        assert self.proc is None, "already running"
        for _ in range(3):
            fresh = self.port == 0
            if fresh:
                self.port = _free_port()
            conf = self._write_config()
            with self.log_path.open("ab") as logf:
                self.proc = subprocess.Popen(
                    [MOSQUITTO, "-c", str(conf)], stdout=logf, stderr=subprocess.STDOUT
                )
            if self._wait_ready(deadline):
                self.starts += 1
                return
            self.proc = None
            if not fresh:
                break
            self.port = 0  # someone took the port between probe and bind: pick another
        raise RuntimeError(f"mosquitto did not start; log:\n{self.log}")

    def _wait_ready(self, deadline: float) -> bool:
        assert self.proc is not None
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.02)
        self.proc.kill()
        self.proc.wait()
        return False

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM (clean) or SIGKILL (a crash); waits until the process is gone."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self, *, kill: bool = True) -> None:
        self.stop(kill=kill)
        self.start()

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# ---- a real subscriber (paho in its own thread) -------------------------------------------------


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool


class Subscriber:
    """paho's threaded loop, MQTT 5 with retain-as-published, so the retain flag of live
    messages is visible; collects everything under its filters."""

    def __init__(
        self,
        port: int,
        filters: list[str],
        *,
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self._filters = filters
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"sub-{os.urandom(4).hex()}", protocol=paho.MQTTv5
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca_file is not None:
            self.client.tls_set(ca_certs=str(ca_file))
        # paho sleeps out its reconnect delay before loop_stop() returns: keep it short
        self.client.reconnect_delay_set(min_delay=cast(int, 0.05), max_delay=cast(int, 0.2))
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def _on_connect(self, client: paho.Client, *args: object) -> None:
        opts = SubscribeOptions(qos=1, retainAsPublished=True)
        client.subscribe([(f, opts) for f in self._filters])

    def _on_subscribe(self, *args: object) -> None:
        self._subscribed.set()

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain)))
            self._cond.notify_all()

    async def wait_subscribed(self, timeout: float = 10.0) -> None:
        ok = await trio.to_thread.run_sync(self._subscribed.wait, timeout, abandon_on_cancel=True)
        assert ok, "subscriber: no SUBACK"

    def snapshot(self) -> list[Received]:
        with self._cond:
            return list(self.messages)

    async def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0, what: str = ""
    ) -> list[Received]:
        """Until predicate(all messages so far) holds; fails with the messages after `timeout`."""

        def wait() -> bool:
            with self._cond:
                return self._cond.wait_for(lambda: predicate(self.messages), timeout)

        ok = await trio.to_thread.run_sync(wait, abandon_on_cancel=True)
        got = self.snapshot()
        assert ok, (
            f"timed out waiting for {what or predicate}; got {[(m.topic, m.payload[:60]) for m in got]}"
        )
        return got

    def on(self, topic: str) -> list[Received]:
        return [m for m in self.snapshot() if m.topic == topic]

    async def marker(self, topic: str = "marker/x") -> None:
        """Publish to a topic of our own filters and wait until it comes back: everything the
        broker had queued for us before it has arrived by then."""
        token = os.urandom(6).hex().encode()
        self.client.publish(topic, token, qos=1)
        await self.wait_for(lambda ms: any(m.payload == token for m in ms), what=f"marker {token!r}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# ---- a TCP gate between the client and the broker -----------------------------------------------


class Gate:
    """Forwards 127.0.0.1:port to the broker. Closed: accepts and hangs up at once, so the client
    cannot reach a broker that is already up (lets a test subscribe first). `swallow` drops the
    broker's bytes (PUBACKs never arrive) while the client's still reach the broker."""

    def __init__(self, upstream: Callable[[], int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.is_open = True
        self.swallow = False

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, down: trio.SocketStream) -> None:
        if not self.is_open:
            await down.aclose()
            return
        try:
            up = await trio.open_tcp_stream("127.0.0.1", self.upstream())
        except OSError:
            await down.aclose()
            return
        async with down, up, trio.open_nursery() as nursery:
            nursery.start_soon(self._pipe, down, up, nursery.cancel_scope, False)
            nursery.start_soon(self._pipe, up, down, nursery.cancel_scope, True)

    async def _pipe(
        self, src: trio.SocketStream, dst: trio.SocketStream, scope: trio.CancelScope, from_broker: bool
    ) -> None:
        try:
            async for chunk in src:
                if not (from_broker and self.swallow):
                    await dst.send_all(chunk)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        scope.cancel()
