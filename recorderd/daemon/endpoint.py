"""The HTTP stage: the local endpoint (status, metrics, snapshot, manual trigger, armed, and the web
UI) for the config of the moment, restarted by a reload that changes it.

At start-up the listening socket is bound before any other stage runs (open_stages), so a busy or
wrong address stops the start in one line. At a reload, an address that cannot be bound or a token
file that cannot be read is logged as an error and leaves the endpoint off (the cameras keep
running); the next reload may fix it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

import trio

from recorderd.config.model import Config, DaemonConfig
from recorderd.core.errors import safe_reason
from recorderd.daemon.control import Endpoint
from recorderd.daemon.restart import Restartable
from recorderd.service.http import serve_http
from recorderd.service.httpserve import connection_cap
from recorderd.service.listen import ListenError, bind_listener
from recorderd.web import WebUi

log = logging.getLogger("recorderd.daemon")


class HttpStage:
    def __init__(
        self, config: Callable[[], Config], control: Endpoint, bound: socket.socket | None = None
    ) -> None:
        self._config = config
        self._control = control
        self._bound = bound  # bound at start-up, for the first session
        self.addresses: list[str] = []  # where the endpoint listens, once it does
        self.runner = Restartable("http", self.session)

    async def session(self, restart: trio.Event, *, task_status: trio.TaskStatus[None]) -> None:
        cfg = self._config().daemon
        self.addresses = []
        bound, self._bound = self._bound, None
        opened = self._open(cfg, bound)
        if opened is None:
            task_status.started()
            await restart.wait()
            return
        sock, token = opened
        cap = connection_cap(cfg.http_max_connections, len(self._config().cameras))
        async with trio.open_nursery() as nursery:
            ui = WebUi(self._control, token)  # a fresh one per session: a new token ends old logins
            addrs = await nursery.start(
                partial(
                    serve_http, self._control, cfg.http_listen, token, ui=ui, sock=sock, max_connections=cap
                )
            )
            self.addresses = list(addrs)
            log.info("HTTP endpoint on %s", ", ".join(addrs))
            task_status.started()
            await restart.wait()
            nursery.cancel_scope.cancel()

    @staticmethod
    def _open(cfg: DaemonConfig, bound: socket.socket | None) -> tuple[socket.socket, str | None] | None:
        """This session's socket and token, or None: the endpoint stays off (the log says why)."""
        try:
            if not cfg.http_listen:
                return None
            try:
                token = cfg.token()
            except OSError as e:
                log.error("HTTP endpoint off: cannot read http_token_file: %s", safe_reason(e))
                return None
            if token is None and (cfg.http_token is not None or cfg.http_token_file is not None):
                # emptied since the config was checked: never serve without the token it asks for
                log.error("HTTP endpoint off: the HTTP token is empty")
                return None
            try:
                sock = bound or bind_listener(cfg.http_listen)
            except ListenError as e:
                log.error("HTTP endpoint off: %s", e)
                return None
            bound = None  # in use
            return sock, token
        finally:
            if bound is not None:
                bound.close()


@asynccontextmanager
async def open_http(
    config: Callable[[], Config], control: Endpoint, bound: socket.socket | None = None
) -> AsyncIterator[HttpStage]:
    stage = HttpStage(config, control, bound)
    async with trio.open_nursery() as nursery:
        await nursery.start(stage.runner.run)
        try:
            yield stage
        finally:
            nursery.cancel_scope.cancel()
