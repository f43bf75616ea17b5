"""`recorderd test -c FILE TARGET`: perform one real test action and print a result code.

TARGET is a [targets.NAME] (email: a test mail; ftp: upload a file under a temporary name, rename
it, remove it; http: one request for a test event) or CAMERA:output:N / CAMERA:preset:N (one
relay pulse or one preset move). The codes are the Foscam CGI's test_mail.cgi / test_ftp.cgi ones (see
results.py and docs/actions.md). Exit 0 on success, 1 on failure, 2 for config errors.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from functools import partial
from typing import Any

import httpx
import trio

from recorderd.actions.bridge import open_asyncio_bridge
from recorderd.actions.ftp import FtpSender
from recorderd.actions.link import LinkSender, LinkUnsupported, steps_for
from recorderd.actions.mail import EmailSender
from recorderd.actions.outbox import DeliveryError
from recorderd.actions.render import fields, ftp_directory
from recorderd.actions.results import codes_for
from recorderd.actions.webhook import HttpSender
from recorderd.cli.check_config import load_or_report
from recorderd.config.load import add_config_argument
from recorderd.config.model import Config, EmailTarget, FtpTarget, HttpTarget
from recorderd.core.events import IncidentEvent
from recorderd.dialects.registry import DIALECTS

TEST_FILE = "recorderd-test.txt"


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "test",
        help="perform a real test action on a target",
        description=(
            "Perform a real test action on a configured target (a mail, an FTP upload, an HTTP "
            "request) or a camera's CAMERA:output:N / CAMERA:preset:N, and print the result code. "
            "Exit 0 on success, 1 on failure, 2 for config errors."
        ),
    )
    add_config_argument(p)
    p.add_argument(
        "target", metavar="TARGET", help="a [targets] name, mqtt, or CAMERA:output:N / CAMERA:preset:N"
    )
    p.set_defaults(func=run)


def test_event(camera: str = "test") -> IncidentEvent:
    now = datetime.now().astimezone()
    return IncidentEvent(
        id=f"test-{now:%Y%m%d%H%M%S}", camera=camera, trigger="test", type="start", time=now, armed=True
    )


def _link_spec(cfg: Config, target: str) -> tuple[str, dict[str, Any]] | None:
    camera, _, rest = target.partition(":")
    what, _, number = rest.partition(":")
    if camera in cfg.cameras and what in ("output", "preset") and number.isdigit():
        op: dict[str, Any] = {what: int(number)}
        return camera, op
    return None


def _links(cfg: Config) -> list[str]:
    """CAMERA:output:N / CAMERA:preset:N for the cameras whose dialect has a relay / preset CGI."""
    out = []
    for name, cam in cfg.cameras.items():
        spec = DIALECTS[cam.dialect]
        out += [f"{name}:output:N"] if spec.output is not None else []
        out += [f"{name}:preset:N"] if spec.preset is not None else []
    return out


def run(args: argparse.Namespace) -> int:
    cfg = load_or_report(args.config)
    if cfg is None:
        return 2
    name: str = args.target
    if name == "mqtt" and name not in cfg.targets:
        return _probe_mqtt(cfg)
    link = _link_spec(cfg, name)
    if link is not None and name not in cfg.targets:
        camera, op = link
        dialect = cfg.cameras[camera].dialect
        if (DIALECTS[dialect].output if "output" in op else DIALECTS[dialect].preset) is None:
            what = "a relay output" if "output" in op else "PTZ presets"
            print(f'recorderd test: camera "{camera}" ({dialect}) has no CGI for {what}', file=sys.stderr)
            return 2
    if name not in cfg.targets and link is None:
        known = sorted(cfg.targets) + _links(cfg)
        print(
            f'recorderd test: unknown target "{name}" (expected one of: {", ".join(known) or "none"})',
            file=sys.stderr,
        )
        return 2
    kind = cfg.targets[name].kind if name in cfg.targets else "link"
    codes = codes_for(kind)
    try:
        code, detail = trio.run(_perform, cfg, name)
    except KeyboardInterrupt:
        return 130
    text = codes.get(code, "failure")
    print(f"{name}: result {code}: {text}" + (f" ({detail})" if detail else ""))
    return 0 if code == 0 else 1


def _probe_mqtt(cfg: Config) -> int:
    """One real connect and QoS 1 publish to the [mqtt] broker, with the HTTP-style codes."""
    from recorderd.mqtt.probe import probe

    if cfg.mqtt is None:
        print("recorderd test: no [mqtt] section in the config", file=sys.stderr)
        return 2
    try:
        code, detail = trio.run(partial(probe, cfg.mqtt))
    except KeyboardInterrupt:
        return 130
    print(
        f"mqtt: result {code}: {codes_for('mqtt').get(code, 'failure')}" + (f" ({detail})" if detail else "")
    )
    return 0 if code == 0 else 1


async def _perform(cfg: Config, name: str) -> tuple[int, str]:
    try:
        if name in cfg.targets:
            target = cfg.targets[name]
            with trio.fail_after(target.timeout * 3 + 5):
                return await _perform_target(name, target)
        spec = _link_spec(cfg, name)
        assert spec is not None
        camera, op = spec
        cam = cfg.cameras[camera]
        try:
            steps = steps_for(cam.dialect, op)
        except LinkUnsupported as e:
            return 12, str(e)
        async with httpx.AsyncClient() as client:
            with trio.fail_after(cam.read_timeout * 3 + 5):
                await LinkSender(camera, cam, client, timeout=cam.read_timeout).run_steps(steps)
        return 0, ""
    except DeliveryError as e:
        return (e.code if e.code is not None else 10), e.message
    except trio.TooSlowError:
        return 2, "timed out"
    except Exception as e:  # a result line, never a traceback
        return 10, type(e).__name__


async def _perform_target(name: str, target: EmailTarget | FtpTarget | HttpTarget) -> tuple[int, str]:
    ev = test_event()
    if isinstance(target, HttpTarget):
        async with httpx.AsyncClient() as client:
            resp = await HttpSender(name, target, client).send_event(ev.to_dict())
        return 0, f"HTTP {resp.status_code}"
    async with open_asyncio_bridge() as bridge:
        if isinstance(target, EmailTarget):
            sender = EmailSender(name, target, bridge)
            refused = await sender.send_message(sender.message([ev.to_dict()], []))
            if refused:
                return 7, "refused: " + ", ".join(sorted(refused))
            return 0, f"sent to {', '.join(target.to)}"
        ftp = FtpSender(name, target, bridge)
        directory = ftp_directory(target.directory, fields(ev.to_dict()))
        remote = f"{directory}/{TEST_FILE}" if directory else TEST_FILE
        body = f"recorderd test upload {ev.time.isoformat()}\n".encode()
        await ftp.test(remote, body)
        return 0, f"uploaded and removed {remote}"
