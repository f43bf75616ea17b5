"""The outbox survives a daemon restart with actions pending, against real servers for each kind."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import trio

from recorderd.actions.outbox import OutboxStore, open_outbox
from recorderd.actions.runtime import open_actions
from recorderd.actions.webhook import HttpSender
from recorderd.config.model import HttpTarget
from tests.support.targets import (
    FAST,
    JPEG_A,
    FtpServer,
    HttpReceiver,
    Reports,
    SmtpServer,
    config,
    event,
)
from tests.support.wait import wait_until


def all_config(tmp_path: Path, smtp: int, http: str, ftp: int) -> str:
    return f"""
[daemon]
state_dir = "{tmp_path}/state"

[targets.mail]
kind = "email"
host = "127.0.0.1"
port = {smtp}
security = "none"
from = "a@example.org"
to = ["b@example.org"]

[targets.hook]
kind = "http"
url = "{http}hook?id={{id}}&type={{type}}"

[targets.nas]
kind = "ftp"
host = "127.0.0.1"
port = {ftp}
username = "cam"
password = "secret"
naming = "sequence"

[cameras.front]
dialect = "vapix"
url = "http://127.0.0.1:9/"
actions = ["mail", "hook", "nas"]
"""


async def test_pending_actions_are_delivered_after_a_restart(
    tmp_path: Path, make_smtp: Callable[..., SmtpServer], http_receiver: HttpReceiver, ftp_server: FtpServer
) -> None:
    smtp = make_smtp(start=False)
    ftp_server.stop()
    http_receiver.statuses = [503] * 1000
    cfg = config(all_config(tmp_path, smtp.port, http_receiver.url, ftp_server.port))
    ids = [f"front-{i}" for i in range(3)]

    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports) as d:
        for i in ids:
            await d.dispatch(event(id=i, snapshots=(JPEG_A,)))
        for target in ("mail", "hook", "nas"):
            await reports.wait("retry", 3, target=target)
    # the "daemon" is gone; every row is still pending on disk
    store = OutboxStore(tmp_path / "state" / "outbox.sqlite")
    assert store.status().counts == {t: {"pending": 3} for t in ("mail", "hook", "nas")}
    store.close()

    smtp.start()
    ftp_server.start()
    http_receiver.statuses.clear()
    before = len(http_receiver.requests)
    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports):
        await reports.wait("done", 9)
    await wait_until(lambda: len(smtp.box.messages) == 3)
    assert sorted(m["Message-ID"] for _, _, m in smtp.box.messages) == [
        f"<{i}.start.1@recorderd.invalid>" for i in ids
    ]
    delivered = http_receiver.requests[before:]
    assert sorted(dict(r.query)["id"] for r in delivered) == ids
    assert sorted(ftp_server.files()) == [f"front/2024-03-01/front_{n:04d}.jpg" for n in (1, 2, 3)]


async def test_a_death_between_delivery_and_recording_repeats_that_one(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    """The only duplicate at-least-once allows: the receiver can drop it by X-Recorderd-Event."""
    path = tmp_path / "outbox.sqlite"
    store = OutboxStore(path)
    payload = {"events": [event().to_dict()]}
    aid = store.add("hook", "http", payload, [], now=time.time(), expires=time.time() + 60)
    target = HttpTarget.model_validate({"kind": "http", "url": http_receiver.url + "x"})
    async with httpx.AsyncClient() as client:
        sender = HttpSender("hook", target, client)
        claimed, _ = store.claim_due("hook", time.time(), 1, [])
        with trio.fail_after(5):
            await sender.deliver(claimed[0], [])  # delivered ...
        store.close()  # ... and the daemon died before recording it
        reports = Reports()
        async with open_outbox(path, {"hook": sender}, policy=FAST, observer=reports):
            await reports.wait("done")
    assert [r.action.id for r in reports.items] == [aid]
    keys = [r.headers["X-Recorderd-Event"] for r in http_receiver.requests]
    assert keys == ["front-1:start", "front-1:start"]
