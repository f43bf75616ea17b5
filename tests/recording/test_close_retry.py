"""Closing a file resumes where a full disk stopped it: the retry after pruning does not start over.

Here the index write, the last step of a close, fails once with ENOSPC after the file was already
finished, closed and renamed; the second call must complete the row without touching the file again.
"""

from __future__ import annotations

import errno
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recorderd.recording.index import Index
from recorderd.recording.layout import recordings_root
from recorderd.recording.mkv import Muxer
from recorderd.recording.recorder import _close_file, _Current, _open_file
from tests.support.ffprobe import ffprobe
from tests.support.synth import make_jpegs


class _FullOnce(Index):
    failed = False

    def finish_recording(self, *args: object, **kw: object) -> None:
        if not self.failed:
            self.failed = True
            raise OSError(errno.ENOSPC, "No space left on device")
        super().finish_recording(*args, **kw)  # type: ignore[arg-type]


def test_close_resumes_after_disk_full_at_the_index(tmp_path: Path) -> None:
    start = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    with _FullOnce.open(tmp_path) as index:
        assert isinstance(index, _FullOnce)
        muxer = Muxer(origin_wall=start.timestamp(), audio=None, tags={"camera": "cam"})
        f, row = _open_file(index, recordings_root(tmp_path), "cam", start, muxer, "continuous", None)
        cur = _Current(f, f.path, row, "cam", start, 0.0, "continuous", [], [], 0.0)
        for i, jpeg in enumerate(make_jpegs(12)):
            chunk = muxer.add_video(i * 100, jpeg)
            if chunk:
                f.write(chunk)
        with pytest.raises(OSError):
            _close_file(index, cur)
        final = _close_file(index, cur)  # before the fix: finish() again on a closed fd
        assert final is not None and final.exists() and not f.path.exists()
        (rec,) = index.list_recordings("cam")
        assert rec.complete and rec.frames == 12 and Path(rec.path) == final
    assert ffprobe(final)["streams"][0]["codec_name"] == "mjpeg"
