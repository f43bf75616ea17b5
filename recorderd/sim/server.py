"""The simulator: one trio task tree serving every camera on its own loopback port.

    async with open_simulator(SimConfig.every_dialect()) as sim:
        cam = sim["vapix"]
        effect = await cam.set_trigger("motion", True)

One ticker per frame rate drives every camera at that rate, each camera at its own phase of the
frame period (one sleep loop, not one per stream); each camera's listener can be closed and reopened on the same port to refuse connections.
"""

from __future__ import annotations

import functools
import heapq
import json
import random
import sys
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from recorderd.sim import control, dialects
from recorderd.sim.auth import challenge, check
from recorderd.sim.camera import Effect, SimCamera
from recorderd.sim.card import card_frames
from recorderd.sim.config import ScenarioStep, SimConfig, load_sim_config
from recorderd.sim.httpio import BadRequest, Request, head, read_request, reset_on_close
from recorderd.sim.streams import Conn, Ctx


class SimulatorError(Exception):
    """A handler of the simulator itself failed (a bug here, not a camera fault)."""


PHASE_GRID = 0.001  # seconds: cameras' phases are this far apart at the least


class Ticker:
    """Ticks every camera of one frame rate from a single absolute-deadline loop.

    Each camera ticks at its own phase of the frame period (unsynchronised cameras: a random phase
    by default), so the frames of N cameras reach a client at N instants per period; cameras of one
    phase (all of them with `frame_phase = "shared"`) tick together in one wake-up.
    """

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps
        self.cameras: list[SimCamera] = []
        self._phases: dict[float, list[SimCamera]] = {}  # offset in seconds -> its cameras
        self.late = 0  # ticks skipped because the loop ran late

    def add(self, cam: SimCamera, phase: float) -> None:
        """`phase`: where in the period (0..1) the camera's frames fall, on a PHASE_GRID grid (so
        hundreds of cameras cost at most one wake-up per grid step, not one each)."""
        self.cameras.append(cam)
        offset = round(phase * self.period / PHASE_GRID) * PHASE_GRID % self.period
        self._phases.setdefault(offset, []).append(cam)

    async def run(self) -> None:
        start = trio.current_time()
        groups = list(self._phases.values())
        due = [(start + offset + self.period, i) for i, offset in enumerate(self._phases)]
        heapq.heapify(due)
        while True:
            await trio.sleep_until(due[0][0])
            now = trio.current_time()
            mono, wall = time.monotonic(), time.time()
            while due[0][0] <= now:
                deadline, i = due[0]
                for cam in groups[i]:
                    cam._tick(mono, wall)
                behind = int((now - deadline) / self.period)  # whole periods missed: skipped
                self.late += behind
                heapq.heapreplace(due, (deadline + (behind + 1) * self.period, i))


class Simulator:
    """The running simulator; `sim[name]` is a SimCamera."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        s = config.simulator
        self.host = s.host
        self.cameras: dict[str, SimCamera] = {}
        self.tickers: dict[float, Ticker] = {}
        rng = random.Random(s.seed)
        for name, cc in config.cameras.items():
            frames = card_frames(cc.width, cc.height, cc.frames, cc.quality, cc.fps)
            cam = SimCamera(name, cc, frames, host=s.host, frame_log=s.frame_log)
            self.cameras[name] = cam
            drawn = rng.random()  # drawn for every camera: a phase given to one moves no other
            phase = cc.phase if cc.phase is not None else drawn if s.frame_phase == "random" else 0.0
            self.tickers.setdefault(cc.fps, Ticker(cc.fps)).add(cam, phase)
        self.control_port: int | None = None
        self.started_mono = 0.0
        self.started_wall = 0.0
        self.errors: list[str] = []

    def __getitem__(self, name: str) -> SimCamera:
        return self.cameras[name]

    def __iter__(self) -> Any:
        return iter(self.cameras.values())

    def describe(self) -> list[dict[str, Any]]:
        """One `--list` entry per camera, with the ports actually bound."""
        return [c.describe() for c in self.cameras.values()]

    @property
    def control_url(self) -> str | None:
        return None if self.control_port is None else f"http://{self.host}:{self.control_port}/_sim/"

    async def set_trigger(self, camera: str, trigger: str, on: bool = True) -> Effect:
        return await self.cameras[camera].set_trigger(trigger, on)

    # ----- serving -----
    async def run(self, *, task_status: trio.TaskStatus[Simulator] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            for cam in self.cameras.values():
                cam._nursery = nursery
                port = self.config.planned_port(cam.name)
                cam.port = await nursery.start(self._listen, cam, port, False)
                if cam.dialect == "move":
                    stream_port = self.config.planned_stream_port(cam.name)
                    cam.stream_port = await nursery.start(self._listen, cam, stream_port, True)
            if self.config.simulator.control_port is not None:
                self.control_port = await nursery.start(
                    self._listen_control, self.config.simulator.control_port
                )
            for ticker in self.tickers.values():
                nursery.start_soon(ticker.run)
            self.started_mono, self.started_wall = time.monotonic(), time.time()
            start = trio.current_time()
            for cam in self.cameras.values():
                if cam.config.scenario:
                    nursery.start_soon(self._scenario, cam, start, nursery)
            task_status.started(self)

    async def _listen(
        self,
        cam: SimCamera,
        port: int,
        stream_port: bool,
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Accept on `port` until cancelled; while the camera refuses, the socket is closed."""
        started = False
        assert cam._nursery is not None
        while True:
            listeners = await trio.open_tcp_listeners(port, host=self.host)
            port = listeners[0].socket.getsockname()[1]
            if not started:
                task_status.started(port)
                started = True

            async def handler(stream: trio.SocketStream) -> None:
                await self._handle(cam, stream, stream_port)

            async with trio.open_nursery() as accept:
                serve = functools.partial(
                    trio.serve_listeners, handler, listeners, handler_nursery=cam._nursery
                )
                accept.start_soon(serve)
                if not stream_port:
                    cam._set_listening(True)
                while not cam.faults.refuse:
                    await cam._refuse_changed.park()
                accept.cancel_scope.cancel()
            for listener in listeners:
                await listener.aclose()
            if not stream_port:
                cam._set_listening(False)
            while cam.faults.refuse:
                await cam._refuse_changed.park()

    async def _handle(self, cam: SimCamera, stream: trio.SocketStream, stream_port: bool) -> None:
        conn = Conn(stream, cam)
        try:
            if cam.faults.reset:
                cam._record_request("-", "(reset before reading)", 0)
                reset_on_close(stream)
                return
            try:
                req = await read_request(stream)
            except BadRequest as e:
                body = f"{e}\r\n".encode()
                await stream.send_all(
                    head(400, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]) + body
                )
                return
            if req is None:
                return
            if req.path.startswith("/_sim/") and not stream_port:
                await control.handle(cam, req.path[len("/_sim/") :], req, conn)
                return
            await self._answer(cam, req, conn, stream_port)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except Exception:
            self.errors.append(traceback.format_exc())
            print(
                f"recorderd simulate: camera {cam.name}: internal error:\n{self.errors[-1]}", file=sys.stderr
            )
        finally:
            with trio.CancelScope(shield=True):
                await stream.aclose()

    async def _answer(self, cam: SimCamera, req: Request, conn: Conn, stream_port: bool) -> None:
        ctx = Ctx(cam, req, conn)
        if cam.faults.delay:
            await trio.sleep(cam.faults.delay)
        status = cam._take_status_fault()
        if status is not None:
            hs: tuple[tuple[str, str], ...] = ()
            if status == 401:
                hs = (("WWW-Authenticate", challenge(cam.auth, time.time())),)
            elif status == 503:
                hs = (("Retry-After", "1"),)
            await ctx.reply(f"{status} (simulated fault)\r\n".encode(), "text/plain", status, hs)
            return
        verdict = check(cam.auth, req, time.time())
        if verdict != "ok":
            hs = (("WWW-Authenticate", challenge(cam.auth, time.time(), stale=verdict == "stale")),)
            await ctx.reply(b"401 Unauthorized\r\n", "text/plain", 401, hs)
            return
        handler = dialects.STREAM_PORT_HANDLER if stream_port else dialects.find(cam.dialect, req.path)
        if handler is None:
            await ctx.error(404, "Not Found")
        elif req.method not in ("GET", "POST"):
            await ctx.error(405, "Method Not Allowed")
        else:
            await handler(ctx)

    async def _listen_control(
        self, port: int, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        listeners = await trio.open_tcp_listeners(port, host=self.host)
        task_status.started(listeners[0].socket.getsockname()[1])
        await trio.serve_listeners(self._handle_control, listeners)

    async def _handle_control(self, stream: trio.SocketStream) -> None:
        try:
            req = await read_request(stream)
            if req is None:
                return
            name, _, op = req.path.removeprefix("/_sim/").partition("/")
            if req.path == "/_sim/cameras":
                body = json.dumps(self.describe()).encode()
                hs = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
                await stream.send_all(head(200, hs) + body)
            elif name in self.cameras:
                cam = self.cameras[name]
                await control.handle(cam, op, req, Conn(stream, cam))
            else:
                body = b'{"error": "no such camera"}'
                hs = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
                await stream.send_all(head(404, hs) + body)
        except (trio.BrokenResourceError, trio.ClosedResourceError, BadRequest):
            pass
        finally:
            with trio.CancelScope(shield=True):
                await stream.aclose()

    # ----- scenario -----
    async def _scenario(self, cam: SimCamera, start: float, nursery: trio.Nursery) -> None:
        steps = sorted(cam.config.scenario, key=lambda s: s.at)
        period = cam.config.repeat
        k = 0
        while True:
            base = start + k * (period or 0.0)
            for step in steps:
                await trio.sleep_until(base + step.at)
                await self._apply(cam, step, nursery)
            if not period:
                return
            k += 1

    async def _apply(self, cam: SimCamera, step: ScenarioStep, nursery: trio.Nursery) -> None:
        if step.clear_faults:
            cam.clear_faults()
        if step.faults is not None:
            cam.set_faults(**step.faults)
        if step.trigger is not None:
            await cam.set_trigger(step.trigger, step.on, source="scenario")
            if step.duration is not None:
                nursery.start_soon(self._undo_later, cam, step.trigger, not step.on, step.duration)

    @staticmethod
    async def _undo_later(cam: SimCamera, trigger: str, on: bool, after: float) -> None:
        await trio.sleep(after)
        await cam.set_trigger(trigger, on, source="scenario")


async def serve_simulator(
    config: SimConfig | Path | str, *, task_status: trio.TaskStatus[Simulator] = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve until cancelled; `await nursery.start(serve_simulator, cfg)` returns the Simulator."""
    cfg = config if isinstance(config, SimConfig) else load_sim_config(config)
    await Simulator(cfg).run(task_status=task_status)


@asynccontextmanager
async def open_simulator(config: SimConfig | Path | str, *, strict: bool = True) -> AsyncIterator[Simulator]:
    """Serve the cameras for the duration of the block. With `strict`, an internal error of the
    simulator (a bug, never a configured fault) is raised when the block ends."""
    async with trio.open_nursery() as nursery:
        sim: Simulator = await nursery.start(serve_simulator, config)
        yield sim
        nursery.cancel_scope.cancel()
    if strict and sim.errors:
        raise SimulatorError("the simulator failed internally:\n" + "\n".join(sim.errors))
