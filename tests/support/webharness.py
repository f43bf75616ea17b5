"""The simulator and the real daemon (HTTP endpoint and web UI on a free loopback port) in a thread
of their own, so that a synchronous browser driver (Playwright's sync API) can run beside them.

    with DaemonThread(tmp_path, sims, cams, token="t0ken") as d:
        page.goto(d.url + "/ui/")
        d.run(d.sim["cam"].set_trigger, "motion", True)     # any coroutine, on the daemon's loop
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import trio

from recorderd.daemon.lifecycle import Daemon
from recorderd.sim import Simulator, open_simulator
from tests.support.e2eharness import e2e_raw as daemon_raw
from tests.support.e2eharness import e2e_sim_config as sim_config
from tests.support.simharness import daemon_config

T = TypeVar("T")

# Playwright adds --headless itself (headless=True); the profile is a fresh --user-data-dir given
# to launch_persistent_context.
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
CHROMIUM = "/usr/bin/chromium"


def launch(
    pw: Any, profile: Path, width: int = 1280, height: int = 820, extra_args: tuple[str, ...] = ()
) -> Any:
    """Debian's chromium, headless, with a fresh profile: a Playwright BrowserContext."""
    return pw.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=[*BROWSER_ARGS, *extra_args],
        headless=True,
        viewport={"width": width, "height": height},
    )


class DaemonThread:
    def __init__(
        self,
        tmp_path: Path,
        sim_cams: dict[str, dict[str, Any]],
        cams: dict[str, dict[str, Any]],
        *,
        token: str | None = None,
        daemon: dict[str, Any] | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        self.tmp_path = tmp_path
        self.state = tmp_path / "state"
        self.sim_cams, self.cams, self.token = sim_cams, cams, token
        self.daemon_extra = daemon or {}
        self.start_timeout = start_timeout
        self.url = ""
        self.sim: Simulator
        self.daemon: Daemon
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._trio_token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="daemon", daemon=True)

    def __enter__(self) -> DaemonThread:
        self._thread.start()
        if not self._ready.wait(self.start_timeout):
            raise TimeoutError(f"the daemon did not start within {self.start_timeout}s")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None and self._trio_token is not None:
            trio.from_thread.run_sync(self._stop.set, trio_token=self._trio_token)
        self._thread.join(40)
        assert not self._thread.is_alive(), "the daemon did not stop within 40 s"
        if self._error is not None and exc[0] is None:
            raise self._error

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run a coroutine function on the daemon's trio loop and return its result."""
        return trio.from_thread.run(fn, *args, trio_token=self._trio_token)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a plain function on the daemon's trio thread (to read its state safely)."""
        return trio.from_thread.run_sync(fn, *args, trio_token=self._trio_token)

    def _main(self) -> None:
        try:
            trio.run(self._serve)
        except BaseException as e:
            self._error = e
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._trio_token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        async with open_simulator(sim_config(self.sim_cams)) as sim:
            raw = daemon_raw(sim, self.state, self.cams)
            raw["daemon"].update({"http_listen": "127.0.0.1:0", **self.daemon_extra})
            if self.token:
                raw["daemon"]["http_token"] = self.token
            self.sim = sim
            self.daemon = Daemon(daemon_config(raw))
            async with trio.open_nursery() as nursery:
                await nursery.start(self.daemon.run)
                self.url = "http://" + self.daemon.http_addresses[0].split("://")[-1]
                self._ready.set()
                await self._stop.wait()
                self.daemon.stop()
                nursery.cancel_scope.deadline = trio.current_time() + 30
