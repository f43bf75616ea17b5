"""E-mail against a real aiosmtpd: attachments, retry while down, TLS, STARTTLS, auth, codes, interval."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from recorderd.actions.bridge import open_asyncio_bridge
from recorderd.actions.mail import EmailSender
from recorderd.actions.outbox import DeliveryError
from recorderd.actions.runtime import open_actions
from recorderd.config.model import EmailTarget
from tests.support.targets import (
    FAST,
    JPEG_A,
    JPEG_B,
    Cert,
    Reports,
    SmtpServer,
    config,
    event,
)
from tests.support.wait import wait_until


def mail_config(tmp_path: Path, port: int, extra: str = "") -> str:
    return f"""
[daemon]
state_dir = "{tmp_path}/state"
timezone = "Europe/Berlin"

[targets.mail]
kind = "email"
host = "127.0.0.1"
port = {port}
security = "none"
from = "recorderd <alarm@example.org>"
to = ["me@example.org", "you@example.org"]
subject = "[cam] {{camera}}: {{trigger}} {{type}}"
body = "Camera {{camera}} saw {{trigger}} ({{type}}) at {{time}}; recording {{recording}}"
{extra}

[cameras.front]
dialect = "vapix"
url = "http://127.0.0.1:9/"
actions = ["mail"]
"""


async def test_mail_with_attachments_arrives(tmp_path: Path, smtp_server: SmtpServer) -> None:
    cfg = config(mail_config(tmp_path, smtp_server.port))
    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports) as d:
        ids = await d.dispatch(event(snapshots=(JPEG_A, JPEG_B)))
        assert len(ids) == 1
        await reports.wait("done")
    await wait_until(lambda: len(smtp_server.box.messages) == 1)
    sender, rcpts, msg = smtp_server.box.messages[0]
    assert sender == "alarm@example.org"
    assert rcpts == ["me@example.org", "you@example.org"]
    assert msg["Subject"] == "[cam] front: motion start"
    assert msg["Message-ID"] == "<front-1.start.1@recorderd.invalid>"
    body = msg.get_body(("plain",))
    assert body is not None
    assert (
        "Camera front saw motion (start) at 2024-03-01T12:30:45.123000+01:00; recording none"
        in body.get_content()
    )
    atts = [
        (p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in msg.iter_attachments()
    ]
    assert atts == [
        ("front_20240301_123045_1.jpg", "image/jpeg", JPEG_A),
        ("front_20240301_123045_2.jpg", "image/jpeg", JPEG_B),
    ]


async def test_mail_arrives_after_the_server_was_down(
    tmp_path: Path, make_smtp: Callable[..., SmtpServer]
) -> None:
    server = make_smtp(start=False)
    cfg = config(mail_config(tmp_path, server.port))
    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports) as d:
        await d.dispatch(event(snapshots=(JPEG_A,)))
        await reports.wait("retry", 2)  # two attempts failed: nothing listens
        assert "cannot connect" in (reports.items[0].error or "")
        await trio.to_thread.run_sync(server.start)
        await reports.wait("done")
    await wait_until(lambda: len(server.box.messages) == 1)
    assert server.box.messages[0][2]["Subject"] == "[cam] front: motion start"


async def test_minimum_interval_coalesces_into_the_next_mail(tmp_path: Path, smtp_server: SmtpServer) -> None:
    cfg = config(mail_config(tmp_path, smtp_server.port, 'min_interval = "1s"'))
    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports) as d:
        first = await d.dispatch(event(id="a", snapshots=(JPEG_A,)))
        await reports.wait("done")
        second = await d.dispatch(event(id="b", trigger="input:1", snapshots=(JPEG_B,)))
        third = await d.dispatch(event("end", id="b", trigger="input:1", recording="/rec/b.mkv"))
        assert second == third != first  # the two inside the interval share one row
        assert len(smtp_server.box.messages) == 1
        await reports.wait("done", 2)
    await wait_until(lambda: len(smtp_server.box.messages) == 2)
    msg = smtp_server.box.messages[1][2]
    assert msg["Subject"] == "[cam] front: input:1 start (+1 more)"
    body = msg.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "input:1 (start)" in text and "input:1 (end)" in text and "recording /rec/b.mkv" in text
    assert [p.get_payload(decode=True) for p in msg.iter_attachments()] == [JPEG_B]


def target(port: int, security: str, **kw: object) -> EmailTarget:
    return EmailTarget.model_validate(
        {"kind": "email", "host": "127.0.0.1", "port": port, "security": security, "from": "a@example.org",
         "to": ["b@example.org", "c@example.org"], "timeout": "5s", **kw}
    )  # fmt: skip


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_tls_and_starttls_with_auth(
    security: str, cert: Cert, make_smtp: Callable[..., SmtpServer]
) -> None:
    server = make_smtp(security, users={"alarm": "s3cret"})
    async with open_asyncio_bridge() as bridge:
        ok = EmailSender("m", target(server.port, security, username="alarm", password="s3cret"), bridge,
                         tls_context=cert.client_context())  # fmt: skip
        msg = ok.message([event().to_dict()], [])
        with trio.fail_after(10):
            assert await ok.send_message(msg) == {}
        bad = EmailSender("m", target(server.port, security, username="alarm", password="wrong"), bridge,
                          tls_context=cert.client_context())  # fmt: skip
        with trio.fail_after(10), pytest.raises(DeliveryError) as err:
            await bad.send_message(msg)
        assert err.value.code == 5 and "wrong" not in err.value.message
    assert len(server.box.messages) == 1


async def test_result_codes_for_refusals(make_smtp: Callable[..., SmtpServer], cert: Cert) -> None:
    server = make_smtp("none")
    server.box.reject = {"b@example.org", "c@example.org"}
    async with open_asyncio_bridge() as bridge:
        s = EmailSender("m", target(server.port, "none"), bridge)
        msg = s.message([event().to_dict()], [])
        with trio.fail_after(10), pytest.raises(DeliveryError) as err:
            await s.send_message(msg)
        assert err.value.code == 7 and err.value.permanent
        server.box.reject = {"b@example.org"}
        with trio.fail_after(10):
            refused = await s.send_message(msg)  # one of two accepted: delivered, the refusal reported
        assert list(refused) == ["b@example.org"]
        starttls = EmailSender(
            "m", target(server.port, "starttls"), bridge, tls_context=cert.client_context()
        )
        with trio.fail_after(10), pytest.raises(DeliveryError) as err:
            await starttls.send_message(msg)
        assert err.value.code == 13
        down = EmailSender("m", target(server.port + 0, "none"), bridge)
        server.stop()
        with trio.fail_after(10), pytest.raises(DeliveryError) as err:
            await down.send_message(msg)
        assert err.value.code == 1
