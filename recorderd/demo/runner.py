"""The demo in one trio run: simulator, optional private broker, daemon, HTTP endpoint, live account.

    simulator (every dialect, scripted incidents)  ◄── HTTP, loopback ──  Daemon (engine, recorder, MQTT)
         │ relay switched by the daemon's linkage                           │ bus: connections, incidents
         ▼                                                                  ▼
                          Account (stdout)  ◄── index rows (files) ── MQTT watcher (<topic>/#)

Stopping (duration over, SIGINT or SIGTERM) is the daemon's own ordered stop, as on SIGTERM: the
cameras end their open incidents, the recorders finish their files (Duration written, renamed,
indexed), MQTT says `offline`; then the last files are read from the index, and the simulator and
the broker stop.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import trio

from recorderd.config.load import load_config
from recorderd.config.model import MqttConfig
from recorderd.core import events as ev
from recorderd.daemon.lifecycle import Daemon
from recorderd.demo import plan
from recorderd.demo.account import Account
from recorderd.demo.broker import Broker, private_broker
from recorderd.recording.index import Index, RecordingRow
from recorderd.sim import SimCamera, open_simulator

FILES_EVERY = 0.5  # how often the index is read for new and finished files


@dataclass(frozen=True)
class Options:
    dir: Path  # absolute
    duration: float | None  # None: until Ctrl-C
    mosquitto: str | None  # the executable, or None: the MQTT part is skipped ...
    mqtt_skipped: str | None = None  # ... and this says why
    verbose: bool = False


class Files:
    """New and finished recordings of this run, read from the index the daemon writes."""

    def __init__(self, index: Index, account: Account) -> None:
        self.index = index
        self.account = account
        self.known: set[int] = set()  # rows of earlier runs, and rows already reported open
        self.done: set[int] = set()

    async def baseline(self) -> None:
        rows = await trio.to_thread.run_sync(self.index.list_recordings)
        self.known = {r.id for r in rows}
        self.done = set(self.known)

    async def check(self) -> None:
        rows: list[RecordingRow] = await trio.to_thread.run_sync(self.index.list_recordings)
        for r in rows:
            if r.id not in self.known:
                self.known.add(r.id)
                if r.end is None:
                    self.account.recording(r)
            if r.end is not None and r.id not in self.done:
                self.done.add(r.id)
                self.account.file(r)

    async def follow(self) -> None:
        while True:
            await self.check()
            await trio.sleep(FILES_EVERY)


class MqttWatch:
    """A subscriber to `<topic>/#` on the private broker: what a home automation system would see."""

    def __init__(self, broker: Broker, account: Account) -> None:
        from recorderd.mqtt.client import MqttClient

        self.account = account
        self.offline = trio.Event()
        self.client = MqttClient(
            MqttConfig(host="127.0.0.1", port=broker.port), client_id="recorderd-demo-watch"
        )
        self.client.subscribe(f"{plan.TOPIC}/#")

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(self.client.run)
            with trio.fail_after(10):
                await self.client.wait_connected()
            task_status.started()
            async for msg in self.client.incoming:
                self.account.mqtt(msg.topic, msg.payload)
                if msg.topic == f"{plan.TOPIC}/available" and msg.payload == b"offline":
                    self.offline.set()


async def stop_daemon(daemon: Daemon, done: trio.Event) -> None:
    """The daemon's ordered wind-down (cameras end their incidents, recorders finish their files,
    MQTT says offline), bounded; past the bound the caller cancels it, and each part still closes
    its own files, shielded."""
    daemon.stop()
    with trio.move_on_after(daemon.stop_timeout + 5.0):
        await done.wait()


def write_private(path: Path, text: str) -> None:
    """Mode 0600 from the start: the config holds the (demo) cameras' passwords."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


async def follow_bus(recv: trio.MemoryReceiveChannel[ev.BusEvent], account: Account) -> None:
    async for e in recv:
        if isinstance(e, ev.Connected):
            account.connected(e)
        elif isinstance(e, ev.IncidentEvent):
            account.incident(e)


async def follow_relay(cam: SimCamera, account: Account) -> None:
    """The simulated camera's relay, switched by the daemon's linkage action (output:1)."""
    seen = len(cam.changes)

    def more() -> bool:
        return len(cam.changes) > seen

    while True:
        await cam.wait_until(more)
        for effect in cam.changes[seen:]:
            if effect.source == "control" and effect.kind == "output" and effect.on:
                account.relay(cam.name, effect.trigger)
        seen = len(cam.changes)


async def run_demo(opts: Options, out: TextIO = sys.stdout) -> int:
    state = opts.dir
    config_path = state / "recorderd.toml"
    account = Account(out, trio.current_time, state)
    stop_reason = "duration over" if opts.duration else "Ctrl-C"
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with open_simulator(plan.sim_config()) as sim, AsyncExitStack() as stack:
            broker: Broker | None = None
            if opts.mosquitto:
                broker = await stack.enter_async_context(private_broker(opts.mosquitto, state / "mosquitto"))
            tables = {cam.name: cam.recorderd_camera() for cam in sim}
            text = plan.config_text(
                state, tables, zone=plan.local_zone(), mqtt_port=broker.port if broker else None
            )
            write_private(config_path, text)
            cfg = load_config(config_path)  # exactly what is on disk
            index = await trio.to_thread.run_sync(Index.open, state)
            stack.callback(index.close)
            files = Files(index, account)
            await files.baseline()

            daemon = Daemon(cfg, index=index)
            recv = daemon.bus.subscribe("demo", 4096)
            _header(account, opts, broker, config_path)
            watch: MqttWatch | None = None
            async with trio.open_nursery() as outer:
                async with trio.open_nursery() as inner:
                    daemon_done = trio.Event()

                    async def run_daemon(
                        *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                    ) -> None:
                        try:
                            await daemon.run(task_status=task_status)
                        finally:
                            daemon_done.set()

                    await inner.start(run_daemon)
                    if daemon.http_addresses:  # bound by the daemon on port 0: the real one
                        url = daemon.http_addresses[0].rstrip("/")
                        account.say(f"status:  {url}/api/status  (also /metrics and /healthz)")
                        account.say(f"web UI:  {url}/ui/")
                    else:
                        account.say("status:  the HTTP endpoint is off (its error is above)")
                    account.say("")
                    if broker is not None:
                        # after the daemon: the retained states arrive on subscribing, nothing is missed
                        watch = MqttWatch(broker, account)
                        await outer.start(watch.run)
                    for cam in sim:
                        if any(c.relay and c.name == cam.name for c in plan.CAMERAS):
                            outer.start_soon(follow_relay, cam, account)
                    inner.start_soon(follow_bus, recv, account)
                    inner.start_soon(files.follow)
                    with trio.move_on_after(opts.duration or float("inf")):
                        async for signum in signals:
                            stop_reason = signal.Signals(signum).name
                            break
                    account.stopping()
                    if not opts.verbose:
                        # a cancelled stream is reported as "disconnected: stream ended" (a warning);
                        # at a stop we asked for, that is noise
                        logging.getLogger("recorderd.cameras").setLevel(logging.ERROR)
                    await stop_daemon(daemon, daemon_done)
                    inner.cancel_scope.cancel()
                await files.check()  # the files the shutdown closed
                if watch is not None:
                    with trio.move_on_after(2):  # the daemon's last word (or its will)
                        await watch.offline.wait()
                outer.cancel_scope.cancel()
    account.summary(config_path, mqtt=opts.mosquitto is not None, why=stop_reason)
    return 0


def _header(account: Account, opts: Options, broker: Broker | None, config: Path) -> None:
    until = f"for {opts.duration:g} s (Ctrl-C stops earlier)" if opts.duration else "until Ctrl-C"
    account.say(f"recorderd demo: {len(plan.CAMERAS)} simulated cameras and the daemon, {until}")
    account.say(f"state:   {opts.dir}  (config: {config.name})")
    names = ", ".join(c.name for c in plan.CAMERAS)
    account.say(f"cameras: {names} (one per dialect, on loopback ports)")
    times = plan.incident_times()
    script = ", ".join(
        f"{c.name} {c.trigger} at {times[c.name][0]:g}s" for c in plan.CAMERAS if c.trigger is not None
    )
    account.say(f"script:  {script}, each for {plan.HOLD:g} s, again every {plan.REPEAT:g} s")
    account.say(
        f"record:  event clips (pre {plan.PRE}, post {plan.POST}); mjpeg continuously in {plan.SEGMENT} files"
    )
    if broker is not None:
        account.say(f"mqtt:    private mosquitto on 127.0.0.1:{broker.port}, showing {plan.TOPIC}/#")
    else:
        account.say(f"mqtt:    skipped: {opts.mqtt_skipped or 'no broker'}; the MQTT alarms are not shown")
