"""The HTTP stage: the local endpoint (status, metrics, snapshot, manual trigger, armed, and the web
UI) for the config of the moment, restarted by a reload that changes it.

A listen address that cannot be bound or a token file that cannot be read is logged as an error and
leaves the endpoint off (the cameras matter more); a reload may fix it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

import trio

from recorderd.config.model import Config
from recorderd.core.errors import safe_reason
from recorderd.daemon.control import Endpoint
from recorderd.daemon.restart import Restartable
from recorderd.service.http import serve_http
from recorderd.web import WebUi

log = logging.getLogger("recorderd.daemon")


class HttpStage:
    def __init__(self, config: Callable[[], Config], control: Endpoint) -> None:
        self._config = config
        self._control = control
        self.addresses: list[str] = []  # where the endpoint listens, once it does
        self.runner = Restartable("http", self.session)

    async def session(self, restart: trio.Event, *, task_status: trio.TaskStatus[None]) -> None:
        cfg = self._config().daemon
        self.addresses = []
        listen = cfg.http_listen
        if not listen:
            task_status.started()
            await restart.wait()
            return
        try:
            token = cfg.token()
        except OSError as e:
            log.error("HTTP endpoint off: cannot read http_token_file: %s", safe_reason(e))
            task_status.started()
            await restart.wait()
            return
        async with trio.open_nursery() as nursery:
            try:
                ui = WebUi(self._control, token)  # a fresh one per session: a new token ends old logins
                addrs = await nursery.start(partial(serve_http, self._control, listen, token, ui=ui))
            except OSError as e:
                log.error("HTTP endpoint off: cannot listen on %s: %s", listen, safe_reason(e))
                task_status.started()
                await restart.wait()
                return
            self.addresses = list(addrs)
            log.info("HTTP endpoint on %s", ", ".join(addrs))
            task_status.started()
            await restart.wait()
            nursery.cancel_scope.cancel()


@asynccontextmanager
async def open_http(config: Callable[[], Config], control: Endpoint) -> AsyncIterator[HttpStage]:
    stage = HttpStage(config, control)
    async with trio.open_nursery() as nursery:
        await nursery.start(stage.runner.run)
        try:
            yield stage
        finally:
            nursery.cancel_scope.cancel()
