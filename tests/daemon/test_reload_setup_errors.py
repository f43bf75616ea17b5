"""A reload whose new settings cannot be set up leaves that part off and the daemon running (at start
the same settings stop the start: tests/daemon/test_startup.py)."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import pytest
import trio

from recorderd.config.model import Config
from recorderd.daemon.lifecycle import Daemon
from tests.support.simharness import daemon_config
from tests.support.wait import wait_until


def config(tmp_path: Path, **mqtt: Any) -> Config:
    raw = {
        "daemon": {"state_dir": str(tmp_path / "state"), "http_listen": ""},
        "mqtt": {"host": "127.0.0.1", "port": 9, **mqtt},  # nothing listens: the client retries
    }
    return daemon_config(raw)


async def test_mqtt_tls_file_missing_at_a_reload(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    daemon = Daemon(config(tmp_path))
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        stages = daemon.stages
        assert stages is not None and stages.mqtt.publisher is not None
        missing = tmp_path / "ca.pem"
        with caplog.at_level(logging.ERROR, "recorderd.daemon"):
            await daemon.reload(config(tmp_path, tls={"ca_file": str(missing)}))
            # the old session winds down
            await wait_until(lambda: stages.mqtt.publisher is None, what="the old MQTT session ended")
        assert f"mqtt off until the next reload: mqtt.tls.ca_file {missing}" in caplog.text
        assert daemon.started  # the rest runs on
        await daemon.reload(config(tmp_path))  # fixed: MQTT comes back
        await wait_until(lambda: stages.mqtt.publisher is not None, what="MQTT back")
        daemon.stop()


async def test_http_address_busy_at_a_reload(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = config(tmp_path)
    daemon = Daemon(cfg.model_copy(update={"mqtt": None}))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        listen = f"127.0.0.1:{busy.getsockname()[1]}"
        new = cfg.model_copy(
            update={"mqtt": None, "daemon": cfg.daemon.model_copy(update={"http_listen": listen})}
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            with caplog.at_level(logging.ERROR, "recorderd.daemon"):
                await daemon.reload(new)
                await wait_until(lambda: "HTTP endpoint off" in caplog.text, what="HTTP endpoint off")
            assert f"cannot listen on {listen} (daemon.http_listen): Address already in use" in caplog.text
            assert daemon.started and daemon.http_addresses == []
            daemon.stop()
