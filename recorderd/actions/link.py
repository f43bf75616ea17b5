"""Camera linkage: pulse an output relay or go to a PTZ preset, per dialect.

The per-dialect requests are pure (`recorderd.dialects.linkage`, found through the dialect registry); `LinkSender`
runs them through the camera engine's `CameraHttp` (recorderd.cameras.http), so linkage speaks to
a camera exactly as its streams do: the same auth modes (auto finds Digest, Basic or the Foscam CGI's
query auth and keeps it), credentials on every redirect hop, no secret in any message.

A relay must never be left energised: for dialects that switch the output on and off by separate
requests, the "off" is sent in a `finally`, shielded from cancellation and bounded by
`OFF_GRACE`, so an attempt timeout, a daemon shutdown or a failed "on" still ends with the output
inactive. The outbox gives an attempt `timeout_for(action)`: the pattern's waits plus
`request_timeout` per request, so a long pattern is never cut short by a fixed deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx
import trio

from recorderd.actions.outbox import Action, Attachment, DeliveryError, Sender
from recorderd.cameras.http import CameraError, CameraErrorKind, CameraHttp
from recorderd.config.model import CameraConfig
from recorderd.dialects.linkage import (
    DEFAULT_PULSES,
    LinkRequest,
    LinkStep,
    LinkUnsupported,
    Pulse,
    Wait,
    pattern_seconds,
    step_budget,
)
from recorderd.dialects.registry import output_steps, preset_steps, steps_for

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


# CameraError kinds as `recorderd test` result codes (results.HTTP_CODES)
_CODES: dict[CameraErrorKind, int] = {
    "auth": 5,
    "refused": 1,
    "network": 1,
    "timeout": 2,
    "reset": 2,
    "protocol": 2,
}


class LinkSender(Sender):
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
        self.request_timeout = float(cam.read_timeout if timeout is None else timeout)
        # the Sender protocol's fixed deadline, for one default pulse (the outbox asks timeout_for)
        self.timeout = pattern_seconds(DEFAULT_PULSES) + 2 * self.request_timeout + OFF_GRACE
        self.http = CameraHttp(
            client,
            name,
            cam.url or cam.video_url or "",
            username=cam.username,
            password=cam.secret(),
            auth=cam.auth,
            read_timeout=float(cam.read_timeout),
        )

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
        reached = True  # whether "on" may have got to the camera
        try:
            try:
                await self._request(pulse.on)
            except DeliveryError as e:
                reached = e.code != 1  # 1: no connection, nothing was switched
                raise
            await trio.sleep(pulse.seconds)
            ok = True
        finally:
            # also when cancelled (timeout, shutdown) or when "on" failed after reaching the camera
            if reached:
                await self._off(pulse.off, failing=not ok)

    async def _off(self, off: LinkRequest, *, failing: bool) -> None:
        error: str | None = None
        with trio.CancelScope(shield=True), trio.move_on_after(OFF_GRACE) as grace:
            try:
                await self._request(off)
            except DeliveryError as e:
                error = e.message
        if grace.cancelled_caught:
            error = f"camera {self.name}: GET /{off.path}: no answer within {OFF_GRACE:g}s"
        if error is None:
            return
        if not failing:  # a good pulse whose "off" failed: the attempt fails, the retry pulses again
            raise DeliveryError(f"{error} (switching the output off)", code=2)
        log.warning("%s; the output may still be on", error)  # the first failure is the one raised

    async def _request(self, step: LinkRequest) -> None:
        try:
            with trio.fail_after(self.request_timeout):
                body, _ctype = await self.http.get_text(step.path, dict(step.params), limit=64 * 1024)
        except trio.TooSlowError:
            raise DeliveryError(f"camera {self.name}: GET /{step.path}: timed out", code=2) from None
        except CameraError as e:  # its message names the path only, never the query (user=&pwd=)
            code = 5 if e.status in (401, 403) else 3 if e.status is not None else _CODES.get(e.kind, 2)
            raise DeliveryError(f"camera {self.name}: {e}", code=code) from None
        if body.lstrip().lower().startswith("error"):  # foscam: 200 with "error: ..."
            raise DeliveryError(f"camera {self.name}: GET /{step.path}: {body.strip()[:80]}", code=3)
