"""HTTP target: GET a URL template (Foscam CGI alarm_http_url style) or POST the event JSON.

Every request carries `X-Recorderd-Event: <id>:<type>` (and POST bodies the event's id), so a
receiver can drop the duplicate that at-least-once delivery allows. Any status but 2xx fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from recorderd.actions.outbox import Action, Attachment, DeliveryError, FixedTimeoutSender
from recorderd.actions.render import fields, render_url
from recorderd.config.model import HttpTarget


class HttpSender(FixedTimeoutSender):
    def __init__(self, name: str, cfg: HttpTarget, client: httpx.AsyncClient) -> None:
        self.name = name
        self.cfg = cfg
        self.client = client
        self.concurrency = cfg.concurrency
        self.timeout = cfg.timeout

    def _auth(self) -> httpx.Auth | None:
        if self.cfg.username is None:
            return None
        pw = self.cfg.secret() or ""
        if self.cfg.auth == "digest":
            return httpx.DigestAuth(self.cfg.username, pw)
        return httpx.BasicAuth(self.cfg.username, pw)

    async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None:
        for event in action.payload.get("events", []):
            await self.send_event(event)

    async def send_event(self, event: Mapping[str, Any]) -> httpx.Response:
        url = render_url(self.cfg.url, fields(event))
        headers = {**self.cfg.headers, "X-Recorderd-Event": f"{event['id']}:{event['type']}"}
        auth = self._auth()
        # Messages name the target, never the URL: it may hold a token.
        try:
            resp = await self.client.request(
                self.cfg.method,
                url,
                json=dict(event) if self.cfg.method == "POST" else None,
                headers=headers,
                auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                timeout=self.cfg.timeout,
            )
        except httpx.TimeoutException:
            raise DeliveryError(f"{self.name}: timed out", code=2) from None
        except httpx.ConnectError:
            raise DeliveryError(f"{self.name}: cannot connect", code=1) from None
        except httpx.InvalidURL:
            raise DeliveryError(
                f"{self.name}: the URL template gives an invalid URL", permanent=True, code=12
            ) from None
        except httpx.HTTPError as e:
            raise DeliveryError(f"{self.name}: network error ({type(e).__name__})", code=2) from None
        if not 200 <= resp.status_code < 300:
            code = 5 if resp.status_code in (401, 403) else 3
            raise DeliveryError(f"{self.name}: HTTP {resp.status_code} {resp.reason_phrase}", code=code)
        return resp
