"""From an incident event and the camera's `actions` list to outbox rows.

Rules:
- "mqtt" entries: one row for target "mqtt" (kind "mqtt") per event, armed or not (MQTT reports
  every incident), first of the event's rows; skipped when the outbox has no "mqtt" sender.
- An event whose `armed` is false starts no other action.
- An ActionRule's `triggers` filter the event's trigger ("motion" also matches "motion:<window>");
  its `schedule`, then the target's own `schedule`, must hold at the event's time.
- email: every event, one row per camera and interval (min_interval: coalesced, see mail.py).
- http: every event, one row each.
- ftp: on start the event's snapshots (or one from the snapshot source), then one more every
  `snapshot_interval` until the end event (at most `max_follow`); on end the finished clip.
- output:N / preset:N: on start only, a row for the camera's own linkage target `camera:<name>`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import trio

from recorderd.actions.link import DEFAULT_PULSES
from recorderd.actions.outbox import Attachment, Coalesce, Outbox
from recorderd.actions.render import fields, ftp_directory, ftp_name, render
from recorderd.config.model import ActionRule, CameraConfig, Config, EmailTarget, FtpTarget, HttpTarget
from recorderd.core.events import IncidentEvent
from recorderd.schedule.engine import compile_schedule
from recorderd.schedule.spec import ScheduleSpec

log = logging.getLogger("recorderd.actions")

ScheduleCheck = Callable[[ScheduleSpec, ZoneInfo, datetime], bool]
SnapshotSource = Callable[[str], Awaitable[bytes | None]]
LINK_EXPIRE = 60.0  # a relay pulse or a preset move minutes late is worse than none
MQTT_TARGET = "mqtt"
MQTT_EXPIRE = 86400.0


def link_target(camera: str) -> str:
    """The outbox target of a camera's own relay and PTZ actions."""
    return f"camera:{camera}"


def trigger_matches(trigger: str, wanted: list[str]) -> bool:
    return any(trigger == w or (w == "motion" and trigger.startswith("motion:")) for w in wanted)


def default_schedule_check() -> ScheduleCheck:
    """compile_schedule(spec, zone).armed(at), compiled once per spec and zone."""
    cache: dict[tuple[str, str], Any] = {}

    def check(spec: ScheduleSpec, zone: ZoneInfo, at: datetime) -> bool:
        # by value: an id() could be reused by another spec once a reload frees the old config
        key = (repr(spec), str(zone))
        if key not in cache:
            try:
                cache[key] = compile_schedule(spec, zone)
            except Exception as e:  # never lose an alarm to a schedule we cannot read
                log.warning("actions: schedule not usable (%s); the action runs regardless", e)
                cache[key] = None
        compiled = cache[key]
        return True if compiled is None else bool(compiled.armed(at))

    return check


@dataclass(frozen=True)
class _Entry:
    name: str
    triggers: list[str] | None
    schedule: ScheduleSpec | None
    pulses: list[tuple[int, int]] | None = None


class Dispatcher:
    def __init__(
        self,
        config: Config,
        outbox: Outbox,
        *,
        schedule_check: ScheduleCheck | None = None,
        snapshot_source: SnapshotSource | None = None,
        wall: Callable[[], float] = time.time,
        max_follow: float = 3600.0,
    ) -> None:
        self.config = config
        self.outbox = outbox
        self.schedule_check = schedule_check or default_schedule_check()
        self.snapshot_source = snapshot_source
        self.wall = wall
        self.max_follow = max_follow
        self._nursery: trio.Nursery | None = None
        self._follows: dict[tuple[str, str, str], trio.CancelScope] = {}

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Hosts the periodic snapshot uploads; runs until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._nursery = None

    def _entries(self, cam: CameraConfig) -> list[_Entry]:
        out = []
        for a in cam.action_list(self.config.mqtt is not None):
            if isinstance(a, ActionRule):
                out.append(_Entry(a.target, a.triggers, a.schedule, a.pulse_pairs()))
            else:
                out.append(_Entry(a, None, None))
        return out

    def _holds(self, spec: ScheduleSpec | None, cam: CameraConfig, event: IncidentEvent) -> bool:
        if spec is None or spec == "always":
            return True
        if spec == "never":
            return False
        if spec == "camera":
            return event.armed
        return self.schedule_check(spec, cam.zone(self.config.daemon.timezone), event.time)

    async def dispatch(self, event: IncidentEvent) -> list[int]:
        """Enqueue the rows this event calls for; returns their ids (committed when this returns)."""
        cam = self.config.cameras.get(event.camera)
        if cam is None:
            log.warning("actions: event for unknown camera %s dropped", event.camera)
            return []
        if event.type == "end":
            self._stop_follows(event)
        entries = self._entries(cam)
        ids: list[int] = []
        if MQTT_TARGET in self.outbox.senders:
            # first: the event every subscriber waits for should not queue behind mail and FTP rows
            for entry in entries:
                if entry.name == MQTT_TARGET and self._wanted(entry, cam, event):
                    ids.append(
                        await self.outbox.enqueue(MQTT_TARGET, "mqtt", _payload(event), expire=MQTT_EXPIRE)
                    )
                    break
        if not event.armed:
            return ids
        for entry in entries:
            if entry.name == MQTT_TARGET:
                continue
            if entry.triggers and not trigger_matches(event.trigger, entry.triggers):
                continue
            if not self._holds(entry.schedule, cam, event):
                continue
            if entry.name.startswith(("output:", "preset:")):
                if event.type == "start":
                    ids.append(await self._link(entry.name, event, entry.pulses))
                continue
            target = self.config.targets.get(entry.name)
            if target is None or not self._holds(target.schedule, cam, event):
                continue
            if isinstance(target, EmailTarget):
                ids.append(await self._email(entry.name, target, event))
            elif isinstance(target, HttpTarget):
                ids.append(
                    await self.outbox.enqueue(entry.name, "http", _payload(event), expire=target.expire)
                )
            else:
                ids += await self._ftp(entry.name, target, event)
        return ids

    def _wanted(self, entry: _Entry, cam: CameraConfig, event: IncidentEvent) -> bool:
        if entry.triggers and not trigger_matches(event.trigger, entry.triggers):
            return False
        return self._holds(entry.schedule, cam, event)

    async def _link(self, action: str, event: IncidentEvent, pulses: list[tuple[int, int]] | None) -> int:
        what, _, number = action.partition(":")
        op: dict[str, Any] = {"preset": int(number)}
        if what == "output":
            op = {"output": int(number), "pulses": [list(p) for p in pulses or DEFAULT_PULSES]}
        payload = {**_payload(event), "op": op}
        return await self.outbox.enqueue(link_target(event.camera), "link", payload, expire=LINK_EXPIRE)

    async def _email(self, name: str, t: EmailTarget, event: IncidentEvent) -> int:
        stamp = event.time.strftime("%Y%m%d_%H%M%S")
        atts = [
            Attachment(f"{event.camera}_{stamp}_{i}.jpg", data=j) for i, j in enumerate(event.snapshots, 1)
        ]
        co = Coalesce(f"{name}/{event.camera}", t.min_interval) if t.min_interval > 0 else None
        return await self.outbox.enqueue(
            name, "email", _payload(event), atts if t.attach_snapshots else (), expire=t.expire, coalesce=co
        )

    async def _ftp(self, name: str, t: FtpTarget, event: IncidentEvent) -> list[int]:
        ids: list[int] = []
        if event.type == "start" and "snapshot" in t.upload:
            frames = list(event.snapshots)
            if not frames and self.snapshot_source is not None:
                frame = await self.snapshot_source(event.camera)
                frames = [frame] if frame else []
            for i, jpeg in enumerate(frames, 1):
                ids.append(
                    await self._ftp_file(
                        name, t, event, event.time, ".jpg", Attachment("snapshot", data=jpeg), i
                    )
                )
            if t.snapshot_interval and self.snapshot_source is not None:
                self._start_follow(name, t, event)
        if event.type == "end" and "clip" in t.upload and event.recording:
            ext = Path(event.recording).suffix or ".mkv"
            clip = Attachment(Path(event.recording).name, path=event.recording)
            ids.append(await self._ftp_file(name, t, event, event.time, ext, clip, None))
        return ids

    async def _ftp_file(
        self,
        name: str,
        t: FtpTarget,
        event: IncidentEvent,
        when: datetime,
        ext: str,
        source: Attachment,
        index: int | None,
    ) -> int:
        seq = None
        if t.naming == "sequence":
            seq = await self.outbox.next_sequence(f"{name}/{event.camera}/{ext}", t.sequence_max)
        values = fields(event.to_dict())
        directory = ftp_directory(t.directory, values)
        base = ftp_name(
            t.naming,
            render(t.base_name, values) or event.camera,
            ext,
            when,
            sequence=seq,
            sequence_max=t.sequence_max,
            index=index,
        )
        remote = f"{directory}/{base}" if directory else base
        item = "clip" if source.path else "snapshot"
        payload = {**_payload(event), "item": item, "remote": remote}
        return await self.outbox.enqueue(name, "ftp", payload, [source], expire=t.expire)

    def _start_follow(self, name: str, t: FtpTarget, event: IncidentEvent) -> None:
        if self._nursery is None:
            log.debug("actions: dispatcher not running; no periodic snapshots for %s", event.camera)
            return
        key = (name, event.camera, event.id)
        if key in self._follows:
            return
        scope = trio.CancelScope()
        self._follows[key] = scope
        self._nursery.start_soon(self._follow, name, t, event, scope, key)

    def _stop_follows(self, event: IncidentEvent) -> None:
        for key, scope in list(self._follows.items()):
            if key[1] == event.camera and key[2] == event.id:
                scope.cancel()

    async def _follow(
        self,
        name: str,
        t: FtpTarget,
        event: IncidentEvent,
        scope: trio.CancelScope,
        key: tuple[str, str, str],
    ) -> None:
        assert t.snapshot_interval is not None and self.snapshot_source is not None
        zone = event.time.tzinfo
        try:
            with scope, trio.move_on_after(self.max_follow):
                while True:
                    await trio.sleep(t.snapshot_interval)
                    frame = await self.snapshot_source(event.camera)
                    if not frame:
                        continue
                    now = datetime.fromtimestamp(self.wall(), zone)
                    await self._ftp_file(
                        name, t, event, now, ".jpg", Attachment("snapshot", data=frame), None
                    )
        finally:
            self._follows.pop(key, None)


def _payload(event: IncidentEvent) -> dict[str, Any]:
    return {"events": [event.to_dict()]}
