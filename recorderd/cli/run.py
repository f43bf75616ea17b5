"""`recorderd run`: the daemon in the foreground, with sd_notify, the watchdog and signals."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

import trio

from recorderd.cli.check_config import load_or_report
from recorderd.config.advice import config_advice
from recorderd.config.load import ConfigError, add_config_argument, config_path, load_config
from recorderd.config.model import Config, LogLevel
from recorderd.core.errors import expected_failure
from recorderd.core.gcpolicy import settle_for_daemon
from recorderd.daemon.statelock import StateDirInUse
from recorderd.service.logs import SECRETS, setup_logging
from recorderd.service.notify import Notifier
from recorderd.service.watchdog import Watchdog

log = logging.getLogger("recorderd.daemon")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="run the daemon: watch the cameras, record, alarm",
        description=(
            "Run the daemon in the foreground. SIGHUP reloads the config (only what changed restarts; "
            "an invalid file is rejected and the running config kept); SIGINT/SIGTERM stop it "
            "(open files finished, exit 0). Speaks sd_notify when NOTIFY_SOCKET is set."
        ),
    )
    add_config_argument(p)
    p.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default=None,
        help="overrides [daemon].log_level (also across reloads)",
    )
    p.add_argument(
        "--log-format", choices=["text", "json"], default="text", help="text lines (default) or JSON lines"
    )
    p.set_defaults(func=run)


# -- run ---------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    cfg = load_or_report(args.config)
    if cfg is None:
        return 2
    setup_logging(args.log_level or cfg.daemon.log_level, args.log_format)
    register_secrets(cfg)
    for line in config_advice(cfg, str(config_path(args.config))):
        log.warning("%s", line)
    settle_for_daemon()
    try:
        return trio.run(serve, cfg, config_path(args.config), args.log_level)
    except BaseException as exc:
        # an expected failure (state_dir in use or unusable, HTTP address busy, index, outbox or
        # MQTT set-up unusable) is one line, also from inside trio's nurseries; anything else is a bug
        found = expected_failure(exc)
        if found is None:
            raise
        log.error("%s", found)
        # 2: restarting cannot help until someone acts (systemd's RestartPreventExitStatus=2)
        return 2 if isinstance(found, StateDirInUse) else 1


def register_secrets(cfg: Config) -> None:
    """Every secret of the config is masked in the logs (a last line of defence)."""
    found: list[str | None] = []
    holders: list[Any] = [*cfg.cameras.values(), *cfg.targets.values()]
    if cfg.mqtt is not None:
        holders.append(cfg.mqtt)
    for h in holders:
        with contextlib.suppress(OSError):  # an unreadable password file is reported where it is used
            found.append(h.secret())
    d = cfg.daemon
    if d.http_token is not None:
        found.append(d.http_token.get_secret_value())
    if d.http_token_file is not None:
        with contextlib.suppress(OSError):
            found.append(d.http_token_file.read_text(encoding="utf-8").strip())
    SECRETS.add(found)


async def serve(cfg: Config, path: Path, log_level: LogLevel | None = None) -> int:
    """`recorderd run` in trio: the daemon, sd_notify, the watchdog, signals."""
    from recorderd.daemon.lifecycle import Daemon

    notifier = Notifier()
    daemon = Daemon(cfg)
    dog = Watchdog(notifier)
    dog.add(daemon.recorder_watch.heart)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async with trio.open_nursery() as outer:
            async with trio.open_nursery() as inner:
                await inner.start(daemon.run)
                line = daemon.status_line()
                notifier.ready(line)
                log.info("running with %s: %s", path, line)
                await outer.start(dog.run)
                outer.start_soon(_report_status, daemon, notifier)
                async for signum in signals:
                    if signum == signal.SIGHUP:
                        await _reload(daemon, path, notifier, log_level)
                    else:
                        log.info("%s: stopping", signal.Signals(signum).name)
                        notifier.stopping()
                        notifier.status("stopping")
                        daemon.stop()
                        outer.start_soon(_stop_bound, daemon, signals, inner.cancel_scope)
                        break
            outer.cancel_scope.cancel()
    notifier.close()
    log.info("stopped")
    return 0


async def _stop_bound(daemon: Any, signals: Any, scope: trio.CancelScope) -> None:
    """A second SIGINT/SIGTERM, or the stop taking too long, cuts the stop short."""
    with trio.move_on_after(daemon.stop_timeout + 5.0):
        async for signum in signals:
            if signum in (signal.SIGINT, signal.SIGTERM):
                log.warning("%s again: stopping at once", signal.Signals(signum).name)
                break
        else:
            await trio.sleep_forever()
    scope.cancel()


async def _reload(daemon: Any, path: Path, notifier: Notifier, log_level: LogLevel | None) -> None:
    notifier.reloading()
    log.info("SIGHUP: reloading %s", path)
    try:
        new = await trio.to_thread.run_sync(load_config, path)
    except ConfigError as e:
        for msg in e.messages:
            log.error("reload: %s", msg)
        n = len(e.messages)
        log.error("reload rejected (%d error%s); the running configuration is kept", n, "" if n == 1 else "s")
        notifier.send(
            READY=1, STATUS=f"reload rejected ({n} error{'' if n == 1 else 's'}); {daemon.status_line()}"
        )
        return
    register_secrets(new)
    d = await daemon.reload(new)
    if log_level is None and d.log_level_changed:
        logging.getLogger().setLevel(new.daemon.log_level.upper())
    notifier.send(READY=1, STATUS=f"reloaded: {d.summary()}")


async def _report_status(daemon: Any, notifier: Notifier, every: float = 5.0) -> None:
    """STATUS= when the one-line status changes ('5 cameras, 5 connected, 2 incidents open')."""
    last = ""
    while True:
        await trio.sleep(every)
        line = daemon.status_line()
        if line != last:
            notifier.status(line)
            last = line
