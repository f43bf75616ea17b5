"""Export a camera's time range: Matroska by our own remuxer (frames as recorded), MP4 by ffmpeg
(H.264 + AAC, which every player opens) where ffmpeg is installed.

Files are made in `<state_dir>/exports/`, sent, then deleted; at most MAX_EXPORTS run at once.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Literal

import trio

from recorderd.recording.export import ExportError, export
from recorderd.recording.index import Index

log = logging.getLogger("recorderd.web")

ExportFormat = Literal["mkv", "mp4"]
MAX_EXPORTS = 2  # bound: exports running at once (each reads its files and writes one)
MAX_RANGE_S = 24 * 3600.0  # bound: length of one export
MP4_TIMEOUT = 600.0


def mp4_available() -> bool:
    return shutil.which("ffmpeg") is not None


class Exporter:
    def __init__(self, index: Index, state_dir: Path) -> None:
        self.index = index
        self.dir = state_dir / "exports"
        self._slots = trio.Semaphore(MAX_EXPORTS)
        self._swept = False

    async def make(self, camera: str, start: datetime, end: datetime, fmt: ExportFormat) -> Path:
        """The export's file (the caller deletes it once sent); ExportError says why not."""
        if not start < end:
            raise ExportError("the range is empty: its end is not after its start")
        if (end - start).total_seconds() > MAX_RANGE_S:
            raise ExportError(f"at most {MAX_RANGE_S / 3600:g} h per export")
        if fmt == "mp4" and not mp4_available():
            raise ExportError("MP4 export needs ffmpeg, which is not installed on this server")
        async with self._slots:
            if not self._swept:  # what a stop or crash left in the middle of an export
                self._swept = True
                await trio.to_thread.run_sync(lambda: shutil.rmtree(self.dir, ignore_errors=True))
            await trio.to_thread.run_sync(lambda: self.dir.mkdir(parents=True, exist_ok=True))
            work = Path(await trio.to_thread.run_sync(lambda: tempfile.mkdtemp(dir=self.dir)))
            mkv = work / f"{camera}-{start:%Y%m%dT%H%M%S}.mkv"
            try:
                await trio.to_thread.run_sync(export, self.index, camera, start, end, mkv)
                if fmt != "mp4":
                    return mkv
                mp4 = mkv.with_suffix(".mp4")
                await self._mp4(mkv, mp4)
                mkv.unlink()
                return mp4
            except BaseException:
                await trio.to_thread.run_sync(lambda: shutil.rmtree(work, ignore_errors=True))
                raise

    async def _mp4(self, mkv: Path, mp4: Path) -> None:
        args = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(mkv), "-map", "0:v", "-map", "0:a?"]
        args += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
        args += ["-movflags", "+faststart", "-y", str(mp4)]
        with trio.move_on_after(MP4_TIMEOUT) as scope:
            r = await trio.run_process(args, capture_stdout=True, capture_stderr=True, check=False)
        if scope.cancelled_caught:
            raise ExportError(f"ffmpeg took longer than {MP4_TIMEOUT:g}s")
        if r.returncode != 0:
            why = r.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise ExportError(f"ffmpeg failed: {why[0]}")

    @staticmethod
    def remove(path: Path) -> None:
        shutil.rmtree(path.parent, ignore_errors=True)
