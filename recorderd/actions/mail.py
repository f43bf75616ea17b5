"""E-mail target: aiosmtplib through the asyncio bridge; none / TLS / STARTTLS, auth, attachments.

Minimum interval per camera (IPCamCGI EmailScheduleInterval): the first event of a camera is
mailed at once; the events that come inside the interval after it are coalesced into ONE mail,
sent when the interval ends (subject of the first, "(+N more)", the body once per event, their
snapshots up to 20 attachments). Nothing is dropped; see Coalesce in outbox.py.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from recorderd.actions.bridge import AsyncioBridge
from recorderd.actions.outbox import Action, Attachment, DeliveryError, FixedTimeoutSender
from recorderd.actions.render import build_mail
from recorderd.config.model import EmailTarget

log = logging.getLogger("recorderd.actions")
DEFAULT_PORTS = {"none": 25, "tls": 465, "starttls": 587}


def classify_smtp(exc: BaseException) -> tuple[int, str]:
    """A Foscam CGI test_mail.cgi code and a short reason (server text only, never our secrets)."""
    e = exc
    if isinstance(e, aiosmtplib.SMTPConnectError | ConnectionRefusedError):
        return 1, "cannot connect to the server"
    if isinstance(e, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return 2, "timed out"
    if isinstance(e, aiosmtplib.SMTPServerDisconnected):
        return 2, "the server closed the connection"
    if isinstance(e, aiosmtplib.SMTPAuthenticationError):
        return 5, f"authentication failed ({e.code} {e.message})"
    if isinstance(e, aiosmtplib.SMTPSenderRefused):
        return 6, f"sender refused ({e.code} {e.message})"
    if isinstance(e, aiosmtplib.SMTPRecipientRefused):
        return 7, f"recipient {e.recipient} refused ({e.code} {e.message})"
    if isinstance(e, aiosmtplib.SMTPRecipientsRefused):
        first = e.recipients[0] if e.recipients else None
        detail = f" ({first.code} {first.message})" if first else ""
        return 7, f"all recipients refused{detail}"
    if isinstance(e, aiosmtplib.SMTPDataError):
        return 8, f"message refused ({e.code} {e.message})"
    if isinstance(e, aiosmtplib.SMTPResponseException):
        return 3, f"server error ({e.code} {e.message})"
    if isinstance(e, ssl.SSLError):
        return 13, f"TLS failed ({e.reason or type(e).__name__})"
    if isinstance(e, aiosmtplib.SMTPException):
        text = str(e)
        if "AUTH extension not supported" in text:
            return 9, "the server does not offer authentication"
        if "STARTTLS" in text or "TLS" in text:
            return 13, "the server does not support STARTTLS"
        return 3, text.splitlines()[0][:120]
    if isinstance(e, OSError):
        return 1, f"cannot connect to the server ({e.strerror or type(e).__name__})"
    return 10, type(e).__name__


async def _send(message: EmailMessage, options: dict[str, Any]) -> tuple[dict[str, Any], str]:
    errors, reply = await aiosmtplib.send(message, **options)
    return dict(errors), reply


class EmailSender(FixedTimeoutSender):
    def __init__(
        self,
        name: str,
        cfg: EmailTarget,
        bridge: AsyncioBridge,
        *,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.name = name
        self.cfg = cfg
        self.bridge = bridge
        self.tls_context = tls_context
        self.concurrency = cfg.concurrency
        self.timeout = cfg.timeout

    def options(self) -> dict[str, Any]:
        c = self.cfg
        opts: dict[str, Any] = {
            "hostname": c.host,
            "port": c.port or DEFAULT_PORTS[c.security],
            "use_tls": c.security == "tls",
            "start_tls": c.security == "starttls",  # False for "none": no opportunistic upgrade
            "timeout": c.timeout,
            "sender": c.sender,
            "recipients": list(c.to),
        }
        if self.tls_context is not None:
            opts["tls_context"] = self.tls_context
        if c.username is not None:
            opts["username"] = c.username
            opts["password"] = c.secret() or ""
        return opts

    def message(self, events: Sequence[dict[str, Any]], attachments: Sequence[Attachment]) -> EmailMessage:
        c = self.cfg
        return build_mail(
            sender=c.sender,
            to=c.to,
            subject=c.subject,
            body=c.body,
            events=events,
            attachments=attachments if c.attach_snapshots else (),
        )

    async def send_message(self, message: EmailMessage) -> dict[str, Any]:
        """Send; returns the recipients refused while others accepted. Raises DeliveryError."""
        try:
            refused, _reply = await self.bridge.run(_send, message, self.options())
        except Exception as e:
            code, reason = classify_smtp(e)
            # 5xx refusals are final: retrying would be refused again
            final = code in (6, 7, 8) and _smtp_code(e) // 100 == 5
            raise DeliveryError(f"{self.name}: {reason}", permanent=final, code=code) from None
        return refused

    async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None:
        try:
            message = self.message(action.payload.get("events", []), attachments)
        except (OSError, ValueError, KeyError) as e:
            raise DeliveryError(
                f"{self.name}: cannot build the mail ({type(e).__name__})", permanent=True
            ) from None
        refused = await self.send_message(message)
        if refused:  # the others have it: a retry would send them a duplicate
            log.warning(
                "actions: %s: mail %d refused for %s", self.name, action.id, ", ".join(sorted(refused))
            )


def _smtp_code(e: BaseException) -> int:
    if isinstance(e, aiosmtplib.SMTPResponseException):
        return e.code
    if isinstance(e, aiosmtplib.SMTPRecipientsRefused) and e.recipients:
        return min(r.code for r in e.recipients)
    return 0
