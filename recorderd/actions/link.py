"""Camera linkage: pulse an output relay or go to a PTZ preset, per dialect.

The per-dialect requests are pure (`recorderd.actions.linksteps`, re-exported here); `LinkSender`
runs them over httpx with the camera's auth (basic, digest, query or auto).

A relay must never be left energised: for dialects that switch the output on and off by separate
requests, the "off" is sent in a `finally`, shielded from cancellation and bounded by
`OFF_GRACE`, so an attempt timeout, a daemon shutdown or a failed "on" still ends with the output
inactive. The outbox gives an attempt `timeout_for(action)`: the pattern's waits plus
`request_timeout` per request, so a long pattern is never cut short by a fixed deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence

import httpx
import trio

from recorderd.actions.linksteps import (
    DEFAULT_PULSES,
    LinkRequest,
    LinkStep,
    LinkUnsupported,
    Pulse,
    Wait,
    output_steps,
    pattern_seconds,
    preset_steps,
    step_budget,
    steps_for,
)
from recorderd.actions.outbox import Action, Attachment, DeliveryError
from recorderd.config.model import CameraConfig

__all__ = [
    "DEFAULT_PULSES",
    "OFF_GRACE",
    "LinkRequest",
    "LinkSender",
    "LinkStep",
    "LinkUnsupported",
    "Pulse",
    "Wait",
    "output_steps",
    "preset_steps",
    "steps_for",
]

log = logging.getLogger("recorderd.actions")
OFF_GRACE = 5.0  # seconds for the "off" request after a pulse, even during shutdown


class AutoAuth(httpx.Auth):
    """Answer whichever challenge the camera sends: Digest or Basic."""

    def __init__(self, username: str, password: str) -> None:
        self._basic = httpx.BasicAuth(username, password)
        self._digest = httpx.DigestAuth(username, password)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("www-authenticate", "").lower()
        if challenge.startswith("digest"):
            flow = self._digest.auth_flow(request)
            next(flow)  # the unauthenticated request, already answered above
            try:
                yield flow.send(response)
            except StopIteration:
                return
        elif challenge.startswith("basic"):
            yield from self._basic.auth_flow(request)


def camera_auth(cam: CameraConfig) -> tuple[httpx.Auth | None, tuple[tuple[str, str], ...]]:
    """httpx auth and extra query parameters for the camera's `auth` setting."""
    user, password = cam.username, cam.secret()
    if user is None:
        return None, ()
    pw = password or ""
    mode = cam.auth
    if mode == "auto" and cam.dialect == "foscam":
        mode = "query"  # seed 003: user=&pwd= on every CGI
    if mode == "query":
        return None, (("user", user), ("pwd", pw))
    if mode == "basic":
        return httpx.BasicAuth(user, pw), ()
    if mode == "digest":
        return httpx.DigestAuth(user, pw), ()
    return AutoAuth(user, pw), ()


def camera_base(cam: CameraConfig) -> str:
    url = cam.url or cam.video_url or ""
    return url if url.endswith("/") else url + "/"


class LinkSender:
    """Outbox sender for one camera's linkage row target (`camera:<name>`).

    `timeout` bounds one request (default: the camera's read_timeout); `timeout_for(action)` is
    the whole attempt's deadline, which the outbox uses.
    """

    concurrency = 1

    def __init__(
        self, name: str, cam: CameraConfig, client: httpx.AsyncClient, *, timeout: float | None = None
    ) -> None:
        self.name = name
        self.cam = cam
        self.client = client
        self.request_timeout = float(cam.read_timeout if timeout is None else timeout)
        # the Sender protocol's fixed deadline, for one default pulse (the outbox asks timeout_for)
        self.timeout = pattern_seconds(DEFAULT_PULSES) + 2 * self.request_timeout + OFF_GRACE

    def timeout_for(self, action: Action) -> float:
        """The attempt's deadline: the steps' waits and requests, plus the grace for a last "off"."""
        try:
            steps = steps_for(self.cam.dialect, action.payload.get("op", {}))
        except LinkUnsupported:
            return self.timeout  # deliver() fails at once
        return step_budget(steps, self.request_timeout) + OFF_GRACE

    async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None:
        try:
            steps = steps_for(self.cam.dialect, action.payload.get("op", {}))
        except LinkUnsupported as e:
            raise DeliveryError(f"camera {self.name}: {e}", permanent=True) from None
        await self.run_steps(steps)

    async def run_steps(self, steps: Sequence[LinkStep]) -> None:
        for step in steps:
            if isinstance(step, Wait):
                await trio.sleep(step.seconds)
            elif isinstance(step, Pulse):
                await self._pulse(step)
            else:
                await self._request(step)

    async def _pulse(self, pulse: Pulse) -> None:
        ok = False
        try:
            await self._request(pulse.on)
            await trio.sleep(pulse.seconds)
            ok = True
        finally:
            # also when cancelled (timeout, shutdown) or when "on" failed: it may have switched
            error: str | None = None
            with trio.CancelScope(shield=True), trio.move_on_after(OFF_GRACE) as grace:
                try:
                    await self._request(pulse.off)
                except DeliveryError as e:
                    error = e.message
            if grace.cancelled_caught:
                error = f"camera {self.name}: {pulse.off.path}: no answer within {OFF_GRACE:g}s"
            if error is not None:
                if ok:
                    raise DeliveryError(f"{error} (switching the output off)", code=2)
                log.warning("%s; the output may still be on", error)

    async def _request(self, step: LinkRequest) -> None:
        auth, extra = camera_auth(self.cam)
        base = camera_base(self.cam)
        # the URL may carry user=&pwd=: never put it (or httpx's text about it) in a message
        try:
            with trio.fail_after(self.request_timeout):
                resp = await self.client.request(
                    step.method,
                    base + step.path,
                    params=(*step.params, *extra),
                    data=dict(step.data) if step.data is not None else None,
                    auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                    timeout=self.request_timeout,
                )
        except (httpx.TimeoutException, trio.TooSlowError):
            raise DeliveryError(f"camera {self.name}: {step.path}: timed out", code=2) from None
        except httpx.ConnectError:
            raise DeliveryError(f"camera {self.name}: {step.path}: cannot connect", code=1) from None
        except httpx.HTTPError as e:
            raise DeliveryError(f"camera {self.name}: {step.path}: {type(e).__name__}", code=2) from None
        if not 200 <= resp.status_code < 300:
            code = 5 if resp.status_code in (401, 403) else 3
            raise DeliveryError(
                f"camera {self.name}: {step.path}: HTTP {resp.status_code} {resp.reason_phrase}",
                code=code,
            )
        if resp.text.lstrip().lower().startswith("error"):  # foscam: 200 with "error: ..."
            raise DeliveryError(f"camera {self.name}: {step.path}: {resp.text.strip()[:80]}", code=3)
