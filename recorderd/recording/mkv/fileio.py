"""The file side: `MkvFile` writes a muxer's chunks and closes the file; `scan_file`/`read_file`
memory-map a file for the pure reader. Blocking calls: run them in a worker thread."""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from recorderd.recording.ebml import Buf
from recorderd.recording.mkv.mux import Chunk, Muxer
from recorderd.recording.mkv.read import Block, Scan, read_blocks, scan

# the most buffers one writev takes; a longer chunk is written in groups
_IOV_MAX = 1024 if not hasattr(os, "sysconf") else max(16, os.sysconf("SC_IOV_MAX"))

_T = TypeVar("_T")

# Video once on disk is seldom read back soon, so its pages go back to the kernel after each fsync:
# a recorder writing 200 cameras (~44 MB/s) around the clock would otherwise fill the page cache,
# evicting what the rest of the machine uses, and every cluster would land on a page the kernel must
# first find (reclaim; on this VM a page the host must first back, docs/performance.md, "The page cache").
# Playback of a recent file reads it from disk. Whole pages only: a partly written last page is kept,
# or the next append would read it back from disk first.
_PAGE = mmap.PAGESIZE
HEAD_KEPT = 64 * 1024  # kept cached while the file is written: finish() patches the header in place


def drop_cached(fd: int, start: int, end: int) -> None:
    """Tell the kernel the whole pages in [start, end) of an fsynced file are not needed soon."""
    first = -(-start // _PAGE) * _PAGE
    last = end // _PAGE * _PAGE
    if last <= first or not hasattr(os, "posix_fadvise"):
        return
    with contextlib.suppress(OSError):  # advice only: where refused, the pages stay; nothing is lost
        os.posix_fadvise(fd, first, last - first, os.POSIX_FADV_DONTNEED)


def _with_file(path: Path, fn: Callable[[Buf], _T]) -> _T:
    """fn over the file's bytes, memory-mapped (files may be hundreds of MB)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return fn(b"")
        with mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as mm, memoryview(mm) as mv:
            return fn(mv)


def scan_file(path: Path) -> Scan:
    return _with_file(path, scan)


def read_file(path: Path) -> tuple[Scan, list[Block]]:
    return _with_file(path, read_blocks)


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def writev_all(fd: int, parts: Chunk) -> None:
    i = 0
    while i < len(parts):
        group = parts[i : i + _IOV_MAX]
        n = os.writev(fd, group)
        for p in group:
            i += 1
            if n >= len(p):
                n -= len(p)
            else:  # a short write: finish this buffer, then go on from the next
                write_all(fd, memoryview(p)[n:])
                break


def pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


class MkvFile:
    """A file being written: the fd, the muxer, and how many bytes are surely on disk.

    Blocking (write, fsync): call its methods from a worker thread, one at a time.
    """

    def __init__(self, path: Path, muxer: Muxer) -> None:
        self.path = path
        self.muxer = muxer
        self.written = 0
        self._trailer: tuple[bytes, list[tuple[int, bytes]]] | None = None
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)

    def write(self, chunk: bytes | Chunk) -> None:
        """Append a chunk from the muxer; on an error the file is cut back to where it was."""
        try:
            if isinstance(chunk, bytes):
                write_all(self.fd, chunk)
                size = len(chunk)
            else:
                writev_all(self.fd, chunk)
                size = sum(map(len, chunk))
        except OSError:
            os.ftruncate(self.fd, self.written)
            os.lseek(self.fd, self.written, os.SEEK_SET)
            raise
        self.written += size

    def sync(self) -> None:
        os.fsync(self.fd)
        drop_cached(self.fd, HEAD_KEPT, self.written)

    def finish(self, tags: Mapping[str, str] | None = None) -> None:
        """Append the last cluster and the trailer, patch Duration/SeekHead/size; fsync twice.

        Safe to call again after it raised (e.g. ENOSPC): the trailer is built once and the
        failed append was cut back, so a retry writes the same bytes at the same place.
        """
        if self._trailer is None:
            self._trailer = self.muxer.finish(tags)
        tail, patches = self._trailer
        if self.written < self.muxer.pos:
            self.write(tail)
        os.fsync(self.fd)
        for offset, data in patches:
            pwrite_all(self.fd, data, offset)
        os.fsync(self.fd)
        drop_cached(self.fd, 0, self.muxer.pos + _PAGE)  # the last page too: nothing is appended now

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
