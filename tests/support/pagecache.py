"""Which pages of a file are in the page cache, as mincore(2) tells for a mapping of it (mapping
faults nothing in, so this reads the cache without changing it). Linux only."""

from __future__ import annotations

import ctypes
import mmap
import os
from pathlib import Path

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]


def resident(path: Path) -> list[bool]:
    """One flag per page of the file: True if that page is cached."""
    size = path.stat().st_size
    if size == 0:
        return []
    pages = -(-size // mmap.PAGESIZE)
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = _libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap failed")
        try:
            vec = (ctypes.c_ubyte * pages)()
            if _libc.mincore(addr, size, vec) != 0:
                raise OSError(ctypes.get_errno(), "mincore failed")
            return [bool(b & 1) for b in vec]
        finally:
            _libc.munmap(addr, size)
    finally:
        os.close(fd)


def drops_on_advice(directory: Path) -> bool:
    """Whether this filesystem lets fsynced pages go on POSIX_FADV_DONTNEED (tmpfs keeps them)."""
    probe = directory / ".pagecache-probe"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"\0" * (16 * mmap.PAGESIZE))
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    try:
        return not any(resident(probe))
    finally:
        probe.unlink()
