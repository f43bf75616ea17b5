"""The trio shell around the recording state machine: one CameraRecorder per camera.

It consumes the camera's channel of RecorderInput, runs the pure RecordMachine, and carries out its
actions. Per frame it only muxes in memory; file work (create, one write per cluster,
fsync, rename, index rows) runs in worker threads, so the event loop never blocks on the disk.

The daemon's cameras send through a RecorderInlet: while the recorder's task is idle, a frame is
run through the machine and the muxer right in the sender's task, and the recorder's task is woken
only for what needs I/O (a whole cluster, an open, a close), about once a second instead of at
every frame. Anything that comes while the task is busy goes through the channel, so the order of
inputs is kept (bench/bench_engine.py measures the difference).

Durability, per file:
  create .mkv.part, fsync it and its directory, then the index row (end NULL, complete 0);
  clusters are appended whole, fsynced every `sync_interval`;
  on close: last cluster + Cues (+ Tags), fsync, patch Duration/SeekHead/size, fsync, rename to
  .mkv, fsync the directory, then the row is completed.
A write that fails for a full disk prunes (Storage.prune) and retries once; if it fails again the
cluster is dropped (counted) and recording goes on with the next one.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar, cast

import trio

from recorderd.config.model import Config, RecordConfig
from recorderd.core.clock import SYSTEM_CLOCK, Clock
from recorderd.recording.batch import ThreadBatch
from recorderd.recording.frames import (
    AudioFormat,
    ClipEnd,
    ClipStart,
    Frame,
    Privacy,
    RecorderInput,
)
from recorderd.recording.index import Index
from recorderd.recording.layout import (
    free_final,
    fsync_dir,
    make_dirs,
    new_path,
    part_of,
    recordings_root,
)
from recorderd.recording.machine import Action, Close, Join, Open, RecordMachine, Write
from recorderd.recording.mkv import Chunk, MkvFile, Muxer
from recorderd.recording.recovery import RecoveryReport, close_out, recover
from recorderd.recording.retention import Storage, is_disk_full

log = logging.getLogger("recorderd.recording")

_T = TypeVar("_T")
RETRY_OPEN = 5.0  # after a failed open, the next try waits this long
FULL_RETRIES = 3  # a write that hits a full disk: prune and retry this often
RETRY_WRITE = 1.0  # after a file had to be given up (its header could not be written)
# bound: incident ids and trigger names a clip's tags name (a storm joins thousands to one clip);
# the rest of the incidents are counted ("+N more")
MAX_TAGGED = 16


@dataclass(slots=True)
class RecorderStats:
    files: int = 0  # closed files
    frames: int = 0  # video frames written
    audio_blocks: int = 0
    bytes: int = 0
    dropped: int = 0  # frames lost to write errors (full disk after pruning, I/O errors)
    errors: int = 0


@dataclass(slots=True)
class _Current:
    """The file being written."""

    file: MkvFile
    part: Path
    row: int | None
    camera: str
    start: datetime
    origin_mono: float
    reason: str
    incidents: list[str]
    triggers: list[str]
    synced_at: float
    final: Path | None = None  # set once renamed: a retry of the close resumes after that step
    untagged: int = 0  # incidents joined beyond MAX_TAGGED (counted, not named)

    @property
    def muxer(self) -> Muxer:
        return self.file.muxer

    def tags(self) -> dict[str, str]:
        return {
            "camera": self.camera,
            "reason": self.reason,
            "trigger": ",".join(self.triggers),
            "incident": ",".join(self.incidents) + (f",+{self.untagged} more" if self.untagged else ""),
            "date_recorded": self.start.isoformat(),
        }

    def join(self, incident: str, trigger: str) -> None:
        if incident not in self.incidents:
            if len(self.incidents) < MAX_TAGGED:
                self.incidents.append(incident)
            else:
                self.untagged += 1
        if trigger not in self.triggers and len(self.triggers) < MAX_TAGGED:
            self.triggers.append(trigger)


def _open_file(
    index: Index, root: Path, camera: str, start: datetime, muxer: Muxer, reason: str, incident: str | None
) -> tuple[MkvFile, int]:
    final = new_path(root, camera, start, reason)
    make_dirs(root, final.parent)
    f = MkvFile(part_of(final), muxer)
    try:
        f.sync()
        fsync_dir(final.parent)
        row = index.add_recording(camera, f.path, start, None, 0, 0, reason, incident, complete=False)
    except BaseException:
        f.close()
        f.path.unlink(missing_ok=True)
        raise
    return f, row


def _close_file(index: Index, cur: _Current) -> Path | None:
    """Finish, rename and index the file (in this order); None if it held no video (deleted)."""
    f = cur.file
    if cur.muxer.video_frames == 0 and cur.muxer.pending_since is None:
        f.close()
        f.path.unlink(missing_ok=True)
        fsync_dir(f.path.parent)
        index.remove_recording(f.path)
        return None
    # Each step may hit a full disk; _io prunes and calls this again, so every step resumes.
    if cur.final is None:
        if f.fd >= 0:  # closed: finished by an earlier attempt
            f.finish(cur.tags())  # on an error the fd stays open: a retry writes the same trailer
            f.close()
        final = free_final(f.path)
        os.rename(f.path, final)
        cur.final = final
    final = cur.final
    fsync_dir(final.parent)
    end = datetime.fromtimestamp(cur.start.timestamp() + cur.muxer.duration_ms / 1000, cur.start.tzinfo)
    size = cur.muxer.pos
    if cur.row is None:
        index.add_recording(
            cur.camera,
            final,
            cur.start,
            end,
            cur.muxer.video_frames,
            size,
            cur.reason,
            cur.incidents[0] if cur.incidents else None,
            complete=True,
        )
    else:
        index.finish_recording(
            cur.row, path=final, end=end, frames=cur.muxer.video_frames, bytes=size, complete=True
        )
    return final


def _abandon(index: Index, cur: _Current) -> None:
    cur.file.close()
    cur.file.path.unlink(missing_ok=True)
    try:
        fsync_dir(cur.file.path.parent)
        index.remove_recording(cur.file.path)
    except (OSError, sqlite3.Error):
        pass  # recovery drops the row of a vanished file


def _mux(cur: _Current, f: Frame) -> Chunk | None:
    """The frame into the open file's muxer (memory only); a whole cluster when one is done."""
    ms = (f.mono - cur.origin_mono) * 1000.0
    mux = cur.file.muxer
    return mux.add_video(round(ms), f.data) if f.kind == "video" else mux.add_audio(ms, f.data)


@dataclass(slots=True)
class _Work:
    """What a frame muxed in the sender's task left for the recorder's task: a whole cluster of
    `cur` to write, then actions to carry out (in this order)."""

    cur: _Current | None
    chunk: Chunk | None
    acts: list[Action]


class CameraRecorder:
    """Records one camera. `await nursery.start(rec.run, receive_channel)`."""

    def __init__(
        self,
        camera: str,
        cfg: RecordConfig,
        *,
        root: Path,
        index: Index,
        zone: tzinfo,
        storage: Storage | None = None,
        audio: AudioFormat | None = None,
        tick: float = 0.5,
        lead: float = 2.0,
        sync_interval: float = 10.0,
        idle_grace: float = 2.0,
        batch: ThreadBatch | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.camera = camera
        self.clock = clock
        self.root = root
        self.index = index
        self.zone = zone
        self.storage = storage
        self.batch = batch  # cluster writes share worker-thread hops with the other cameras
        self.audio = audio
        self.tick = tick
        self.idle_grace = idle_grace  # while frames come, they tick: the task's timer waits longer
        self.sync_interval = sync_interval
        self.machine = RecordMachine(
            cfg.mode,
            pre=cfg.pre,
            post=cfg.post,
            max=cfg.max,
            segment=cfg.segment,
            pre_bytes=cfg.pre_bytes,
            zone=zone,
            lead=lead,
        )
        self.stats = RecorderStats()
        self.closed: deque[Path] = deque(maxlen=1000)  # the latest files closed, in order
        self._cur: _Current | None = None
        self._reopen: Open | None = None  # an Open that failed: retried at a later video frame
        self._retry_at = 0.0
        self._wall_offset: float | None = None  # wall - mono of the latest frame: ticks in frame time
        self._next_tick = -math.inf
        self._last_frame = -math.inf  # mono of the latest frame
        # True only while the task waits with nothing queued or in hand: then a RecorderInlet may
        # mux a frame in the sender's task (mux_now) without breaking the order of inputs.
        self.idle = False
        self.done = trio.Event()  # set when `run` has returned (its channel ended, files closed)

    @property
    def current(self) -> Path | None:
        """The .part file being written, if any."""
        return self._cur.part if self._cur else None

    def status(self) -> dict[str, Any]:
        return {
            "mode": self.machine.mode,
            "recording": str(self._cur.part) if self._cur else None,
            "files": self.stats.files,
            "frames": self.stats.frames,
            "bytes": self.stats.bytes,
            "dropped": self.stats.dropped,
            "errors": self.stats.errors,
        }

    async def run(
        self,
        inputs: trio.MemoryReceiveChannel[RecorderInput | _Work],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        task_status.started()
        try:
            await self._loop(inputs)
        finally:
            self.idle = False
            with trio.CancelScope(shield=True), trio.move_on_after(30):
                try:
                    await self._drain(inputs)  # a stop must not drop what the engine already sent
                finally:
                    inputs.close()
                    await self._apply(self.machine.shutdown())
                    if self._cur is not None:  # the machine had lost track (e.g. after an error)
                        await self._close("shutdown")
            self.done.set()

    async def _drain(self, inputs: trio.MemoryReceiveChannel[RecorderInput | _Work]) -> None:
        """Work off the messages queued at a stop (a cancel comes between two wake-ups). Only
        those queued now: a sender that goes on while the file is closed cannot hold us up."""
        for _ in range(inputs.statistics().current_buffer_used):
            try:
                msg = inputs.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                return
            await self._handle(msg)

    async def _loop(self, inputs: trio.MemoryReceiveChannel[RecorderInput | _Work]) -> None:
        # Wait on the channel, not on a timer: a message wakes the task for the price of a
        # reschedule, while a timer wake-up (a deadline delivered as Cancelled, plus the VM's timer)
        # costs far more (docs/recording.md). Frames tick the machine themselves (mux_now), so the deadline fires only
        # once frames stop (then every `tick`). Once awake, everything queued is worked off before
        # the next wait, and ticks come only after that, so queued frames are never cut off.
        # Decisions use the frames' own times; clusters are built in memory and written whole.
        self._next_tick = trio.current_time() + self.tick
        while True:
            msg: RecorderInput | _Work | None = None
            now = trio.current_time()
            flowing = now - self._last_frame < self.tick
            # idle only with nothing queued: a message already taken would be overtaken otherwise
            self.idle = inputs.statistics().current_buffer_used == 0
            with trio.move_on_at(self._next_tick + (self.idle_grace if flowing else 0.0)):
                try:
                    msg = await inputs.receive()
                except trio.EndOfChannel:
                    return
                finally:
                    self.idle = False
            if msg is None:  # woken by the deadline: a sender may have queued work meanwhile,
                try:  # which comes before the tick
                    msg = inputs.receive_nowait()
                except trio.WouldBlock:
                    pass
                except trio.EndOfChannel:
                    return
            n = 0
            while msg is not None:
                await self._handle(msg)
                n += 1
                if n % 256 == 0:  # a long backlog: let the others run in between
                    await trio.lowlevel.checkpoint()
                try:
                    msg = inputs.receive_nowait()
                except trio.WouldBlock:
                    msg = None
                except trio.EndOfChannel:
                    return
            now = trio.current_time()
            if now >= self._next_tick:
                self._next_tick = now + self.tick
                await self._on_tick(now)

    def mux_now(self, f: Frame) -> _Work | None:
        """Run a frame through the machine and, if it only goes into the open file, into the
        muxer (memory only). What is left for the task (a whole cluster to write, other actions,
        a tick's actions) comes back; None if nothing. Synchronous: the sender's task may call it
        while the recorder is idle (RecorderInlet), the recorder's task does for queued frames."""
        mono = f.mono
        self._last_frame = mono
        self._wall_offset = f.wall - mono
        work = None
        cur = self._cur
        if cur is not None and self.machine.only_writes(f):  # the common case, with no actions built
            chunk = _mux(cur, f)
            if chunk:
                work = _Work(cur, chunk, [])
        else:
            acts = self.machine.frame(f)
            if acts:
                if len(acts) == 1 and type(acts[0]) is Write and cur is not None:
                    chunk = _mux(cur, f)
                    if chunk:
                        work = _Work(cur, chunk, [])
                else:
                    work = _Work(None, None, acts)
        if mono >= self._next_tick:  # frames keep coming: they tick the machine
            self._next_tick = mono + self.tick
            more = self.machine.tick(mono, f.wall)
            if more:
                if work is None:
                    work = _Work(None, None, more)
                else:
                    work.acts = [*work.acts, *more]
        return work

    async def _do(self, w: _Work) -> None:
        if w.chunk:
            if w.cur is self._cur:  # it is: only this task opens and closes files, in order
                await self._write(w.chunk)
            else:  # so this cannot happen; if it did, it must not go unnoticed
                self.stats.errors += 1
                log.error("%s: a cluster built for a file no longer open was dropped", self.camera)
        if w.acts:
            await self._apply(w.acts)

    async def _handle(self, msg: RecorderInput | _Work) -> None:
        m = self.machine
        if type(msg) is Frame:
            work = self.mux_now(msg)
            if work is not None:
                await self._do(work)
            return
        if isinstance(msg, _Work):
            await self._do(msg)
            return
        if isinstance(msg, ClipStart):
            acts = m.incident_start(msg)
        elif isinstance(msg, ClipEnd):
            acts = m.incident_end(msg)
        elif isinstance(msg, Privacy):
            acts = m.privacy(msg)
        elif isinstance(msg, AudioFormat):
            acts = []
            if msg != self.audio:
                self.audio = msg
                if self._cur is not None and self._cur.muxer.audio != msg:
                    acts = m.split()  # a file holds one audio format: the next one takes the new
        else:
            return
        if acts:
            await self._apply(acts)

    async def _on_tick(self, now: float) -> None:
        off = self._wall_offset
        await self._apply(self.machine.tick(now, now + off if off is not None else self.clock.wall()))
        cur = self._cur
        if cur is not None:
            since = cur.muxer.pending_since
            if since is not None and (now - cur.origin_mono) * 1000 - since >= cur.muxer.cluster_ms:
                await self._write(cur.muxer.flush_chunk())  # frames stopped: do not hold them in memory

    async def _apply(self, actions: list[Action]) -> None:
        for a in actions:
            if type(a) is Write:
                await self._frame(a.frame)
            elif type(a) is Open:
                await self._open(a)
            elif type(a) is Close:
                self._reopen = None
                await self._close(a.why)
            elif type(a) is Join:
                cur = self._cur
                if cur is not None:
                    cur.join(a.incident, a.trigger)

    async def _frame(self, f: Frame) -> None:
        cur = self._cur
        if cur is None:
            if self._reopen is None or f.kind != "video" or f.mono < self._retry_at:
                self.stats.dropped += 1
                return
            await self._open(Open(self._reopen.reason, self._reopen.incident, f))
            if (cur := self._cur) is None:
                self.stats.dropped += 1
                return
        chunk = _mux(cur, f)
        if chunk:
            await self._write(chunk)

    async def _io(self, fn: Callable[..., _T], *args: Any, batched: bool = False) -> _T:
        """fn(*args) in a worker thread (`batched`: in the service's ThreadBatch, with the other
        cameras' calls); on a full disk: prune the oldest, then again (up to FULL_RETRIES times,
        while pruning frees something). Shielded: the muxer and the machine have already moved
        on, so a cancel here (a stop) must not drop the cluster or the close; it takes effect at
        the loop's next wait."""
        run: Callable[..., Awaitable[Any]] = trio.to_thread.run_sync
        if batched and self.batch is not None:
            run = self.batch.run_sync
        with trio.CancelScope(shield=True):
            result: _T = await self._io_retry(run, fn, *args)
        return result

    async def _io_retry(self, run: Callable[..., Awaitable[Any]], fn: Callable[..., _T], *args: Any) -> _T:
        for _ in range(FULL_RETRIES):
            try:
                return cast(_T, await run(fn, *args))
            except (OSError, sqlite3.OperationalError) as e:
                if not is_disk_full(e) or self.storage is None:
                    raise
                freed = await self.storage.prune(urgent=True)
                log.warning("%s: disk full; pruned %d bytes, retrying", self.camera, freed)
                if freed == 0:
                    raise
        return cast(_T, await run(fn, *args))

    async def _open(self, a: Open) -> None:
        if self._cur is not None:
            await self._close("split")
        first = a.first
        start = datetime.fromtimestamp(first.wall, self.zone)
        incidents = [a.incident] if a.incident else []
        triggers = [a.reason] if a.reason != "continuous" else []
        tags = {
            "camera": self.camera,
            "reason": a.reason,
            "trigger": ",".join(triggers),
            "incident": ",".join(incidents),
            "date_recorded": start.isoformat(),
        }
        muxer = Muxer(
            origin_wall=first.wall,
            audio=self.audio,
            tags=tags,
            title=f"{self.camera} {a.reason} {start:%Y-%m-%d %H:%M:%S}",
        )
        try:
            f, row = await self._io(
                _open_file, self.index, self.root, self.camera, start, muxer, a.reason, a.incident
            )
        except (OSError, sqlite3.Error) as e:
            self.stats.errors += 1
            log.error(
                "%s: cannot open a recording: %s; retrying in %gs",
                self.camera,
                getattr(e, "strerror", None) or e,
                RETRY_OPEN,
            )
            self._reopen = a
            self._retry_at = first.mono + RETRY_OPEN
            return
        self._reopen = None
        self._cur = _Current(
            f, f.path, row, self.camera, start, first.mono, a.reason, incidents, triggers, first.mono
        )
        if self.storage is not None:
            self.storage.active[f.path] = 0
        log.info("%s: recording %s", self.camera, f.path)

    async def _write(self, chunk: bytes | Chunk) -> None:
        cur = self._cur
        if cur is None or not chunk:
            return
        sync = trio.current_time() - cur.synced_at >= self.sync_interval
        try:
            await self._io(self._write_sync, cur.file, chunk, sync, batched=True)
        except OSError as e:
            self.stats.errors += 1
            lost = cur.muxer.video_frames
            if cur.muxer.discard_last():
                lost -= cur.muxer.video_frames
                self.stats.dropped += lost
                log.error(
                    "%s: write failed (%s): %d frames dropped, recording goes on",
                    self.camera,
                    e.strerror or e,
                    lost,
                )
                return
            # the header itself could not be written: give the file up, start another later
            log.error(
                "%s: cannot write %s (%s); retrying in %gs",
                self.camera,
                cur.part,
                e.strerror or e,
                RETRY_WRITE,
            )
            self._drop_current()
            await trio.to_thread.run_sync(_abandon, self.index, cur)
            self._reopen = Open(
                cur.reason, cur.incidents[0] if cur.incidents else None, Frame(b"", "video", 0, 0)
            )
            self._retry_at = trio.current_time() + RETRY_WRITE
            return
        if sync:
            cur.synced_at = trio.current_time()
        if self.storage is not None:
            self.storage.active[cur.part] = cur.muxer.pos

    @staticmethod
    def _write_sync(f: MkvFile, chunk: bytes | Chunk, sync: bool) -> None:
        f.write(chunk)
        if sync:
            f.sync()

    def _drop_current(self) -> None:
        cur, self._cur = self._cur, None
        if cur is not None and self.storage is not None:
            self.storage.active.pop(cur.part, None)

    async def _close(self, why: str) -> None:
        cur = self._cur
        if cur is None:
            return
        try:
            final = await self._io(_close_file, self.index, cur)
        except (OSError, sqlite3.Error) as e:
            self.stats.errors += 1
            cur.file.close()
            self._drop_current()
            err = getattr(e, "strerror", None) or e
            try:  # cut back to the last whole cluster and index it, as start-up recovery would
                final = await trio.to_thread.run_sync(close_out, self.index, cur.part, self.camera, self.zone)
            except (OSError, sqlite3.Error) as e2:
                log.error(
                    "%s: closing %s failed (%s, then %s); start-up recovery will repair it",
                    self.camera,
                    cur.part,
                    err,
                    getattr(e2, "strerror", None) or e2,
                )
                return
            log.error(
                "%s: closing %s failed (%s); cut back to its last whole cluster", self.camera, cur.part, why
            )
            if final is not None:
                self.closed.append(final)
            return
        self._drop_current()
        if final is None:
            return
        self.closed.append(final)
        self.stats.files += 1
        self.stats.frames += cur.muxer.video_frames
        self.stats.audio_blocks += cur.muxer.audio_blocks
        self.stats.bytes += cur.muxer.pos
        log.info("%s: closed %s (%s, %d frames)", self.camera, final, why, cur.muxer.video_frames)


class RecorderInlet:
    """The camera's end of its recorder, as RecordingService.recorder_for hands it out: a memory
    channel's send side (send_nowait, close, statistics), with a fast path. A frame that comes while
    the recorder's task is idle is muxed here, in the sender's task (CameraRecorder.mux_now), and
    only what needs I/O goes through the channel; so the recorder's task wakes about once per
    cluster, not at every frame. While the task is busy, everything queues behind what it holds."""

    __slots__ = ("_closed", "_rec", "_send")

    def __init__(self, rec: CameraRecorder, send: trio.MemorySendChannel[RecorderInput | _Work]) -> None:
        self._rec = rec
        self._send = send
        self._closed = False

    def send_nowait(self, value: RecorderInput, /) -> None:
        """A frame while the recorder is idle: muxed here, and only what needs I/O is queued;
        anything else is queued (this runs once per frame)."""
        rec = self._rec
        if rec.idle and type(value) is Frame and not self._closed:
            work = rec.mux_now(value)
            if work is not None:
                rec.idle = False
                self._send.send_nowait(work)  # never blocks: the buffer is empty while idle
            return
        rec.idle = False  # the task is woken, or about to be: what follows queues behind
        self._send.send_nowait(value)

    async def send(self, value: RecorderInput, /) -> None:
        """send_nowait that waits while the channel is full (drills: tests/support/feeder.py)."""
        if self._rec.idle and type(value) is Frame and not self._closed:
            self.send_nowait(value)  # muxed here: never blocks
            await trio.lowlevel.checkpoint()  # a checkpoint, as a channel's send is
        else:
            self._rec.idle = False  # the task is woken, or about to be: what follows queues behind
            await self._send.send(value)

    def close(self) -> None:
        self._closed = True
        self._send.close()

    async def __aenter__(self) -> RecorderInlet:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def statistics(self) -> trio.MemoryChannelStatistics:
        return self._send.statistics()


class RecordingService:
    """The recorder of the daemon: recovery at start, retention, and one CameraRecorder per camera.

    rec = RecordingService(cfg, index)
    report = await nursery.start(rec.run)   # recovery done; retention running
    daemon.recorder_for = rec.recorder_for  # the engine gets each camera's channel
    """

    def __init__(
        self, cfg: Config, index: Index, *, channel_size: int = 512, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.cfg = cfg
        self.clock = clock
        self.index = index
        self.root = recordings_root(cfg.daemon.state_dir)
        self.storage = Storage(index, cfg.storage, self.root)
        self.batch = ThreadBatch()
        self.recorders: dict[str, CameraRecorder] = {}
        self.channel_size = channel_size
        self._nursery: trio.Nursery | None = None

    def zone_for(self, camera: str) -> tzinfo:
        cam = self.cfg.cameras.get(camera)
        from zoneinfo import ZoneInfo

        return cam.zone(self.cfg.daemon.timezone) if cam else ZoneInfo(self.cfg.daemon.timezone)

    async def run(self, *, task_status: trio.TaskStatus[RecoveryReport] = trio.TASK_STATUS_IGNORED) -> None:
        report = await trio.to_thread.run_sync(recover, self.index, self.root, self.zone_for)
        log.info("recording recovery: %s", report.summary())
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await nursery.start(self.storage.run)
            await nursery.start(self.batch.run)
            task_status.started(report)

    def status(self) -> dict[str, Any]:
        """Per camera: mode, file being written, files/frames/bytes so far, drops; and retention."""
        return {
            "cameras": {name: rec.status() for name, rec in self.recorders.items()},
            "retention": {"deleted": self.storage.deleted, "freed": self.storage.freed},
        }

    def recorder_for(self, camera: str) -> RecorderInlet | None:
        """A new inlet whose CameraRecorder runs in this service; None if mode is off."""
        cam = self.cfg.cameras.get(camera)
        if cam is None or cam.record.mode == "off" or self._nursery is None:
            return None
        send, recv = trio.open_memory_channel[RecorderInput | _Work](self.channel_size)
        rec = CameraRecorder(
            camera,
            cam.record,
            root=self.root,
            index=self.index,
            zone=self.zone_for(camera),
            storage=self.storage,
            batch=self.batch,
            audio=AudioFormat() if cam.audio else None,
            lead=max(2.0, float(cam.min_on) + 1.0),
            clock=self.clock,
        )
        self.recorders[camera] = rec
        self._nursery.start_soon(rec.run, recv, name=f"recorder {camera}")
        return RecorderInlet(rec, send)
