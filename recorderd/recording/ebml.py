"""EBML, the binary format under Matroska: variable-length integers and elements, encode and read.

Pure functions over bytes. Element IDs are written as their full marker-carrying bytes (e.g.
0x1A45DFA3); sizes as minimal-length vints unless a fixed length is asked for (to patch later).
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from typing import NamedTuple

Buf = bytes | bytearray | memoryview | mmap.mmap  # what the readers take
UNKNOWN_SIZE = -1
_UNKNOWN = {n: (1 << (7 * n)) - 1 for n in range(1, 9)}  # all value bits set: "size unknown"


def id_bytes(eid: int) -> bytes:
    return eid.to_bytes((eid.bit_length() + 7) // 8, "big")


def size_vint(n: int, length: int = 0) -> bytes:
    """A size as a vint; `length` forces a width (1..8); n == UNKNOWN_SIZE gives 'unknown'."""
    if n == UNKNOWN_SIZE:
        length = length or 8
        return ((1 << (7 * length)) - 1 | 1 << (7 * length)).to_bytes(length, "big")
    if length == 0:
        length = 1
        while n >= _UNKNOWN[length]:  # all-ones is reserved for unknown
            length += 1
    elif n >= _UNKNOWN[length]:
        raise ValueError(f"{n} does not fit a {length}-byte vint")
    return (n | 1 << (7 * length)).to_bytes(length, "big")


def element(eid: int, payload: bytes) -> bytes:
    return id_bytes(eid) + size_vint(len(payload)) + payload


def uint(eid: int, v: int) -> bytes:
    return element(eid, v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big"))


def uint_fixed(eid: int, v: int, width: int = 8) -> bytes:
    return element(eid, v.to_bytes(width, "big"))


def sint(eid: int, v: int) -> bytes:
    return element(eid, v.to_bytes(8, "big", signed=True))


def float64(eid: int, v: float) -> bytes:
    return element(eid, struct.pack(">d", v))


def string(eid: int, v: str) -> bytes:
    return element(eid, v.encode("utf-8"))


def master(eid: int, *children: bytes) -> bytes:
    return element(eid, b"".join(children))


def void(total: int) -> bytes:
    """A Void element of exactly `total` bytes (>= 2), to reserve or blank out space."""
    if total < 2:
        raise ValueError("a Void needs at least 2 bytes")
    if total - 2 < 0x7F:
        return b"\xec" + size_vint(total - 2, 1) + bytes(total - 2)
    return b"\xec" + size_vint(total - 9, 8) + bytes(total - 9)


class Element(NamedTuple):
    id: int
    pos: int  # offset of the ID
    data: int  # offset of the payload
    size: int  # payload size, or UNKNOWN_SIZE

    @property
    def end(self) -> int:
        return self.data + self.size


class Truncated(Exception):
    """The bytes end inside an element header or payload."""


def read_id(buf: Buf, pos: int) -> tuple[int, int]:
    if pos >= len(buf):
        raise Truncated(pos)
    b = buf[pos]
    length = 1 if b & 0x80 else 2 if b & 0x40 else 3 if b & 0x20 else 4 if b & 0x10 else 0
    if length == 0:
        raise ValueError(f"bad element ID at {pos}")
    if pos + length > len(buf):
        raise Truncated(pos)
    return int.from_bytes(buf[pos : pos + length], "big"), pos + length


def read_size(buf: Buf, pos: int) -> tuple[int, int]:
    if pos >= len(buf):
        raise Truncated(pos)
    b = buf[pos]
    length = 1
    while length <= 8 and not b & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError(f"bad size at {pos}")
    if pos + length > len(buf):
        raise Truncated(pos)
    v = int.from_bytes(buf[pos : pos + length], "big") & ((1 << (7 * length)) - 1)
    return (UNKNOWN_SIZE if v == _UNKNOWN[length] else v), pos + length


def read_element(buf: Buf, pos: int) -> Element:
    eid, p = read_id(buf, pos)
    size, p = read_size(buf, p)
    return Element(eid, pos, p, size)


def children(buf: Buf, start: int, end: int) -> Iterator[Element]:
    """The elements in buf[start:end]; raises Truncated if one runs past `end`."""
    pos = start
    while pos < end:
        el = read_element(buf, pos)
        if el.size == UNKNOWN_SIZE or el.end > end:
            raise Truncated(pos)
        yield el
        pos = el.end


def as_uint(buf: Buf, el: Element) -> int:
    return int.from_bytes(buf[el.data : el.end], "big")


def as_sint(buf: Buf, el: Element) -> int:
    return int.from_bytes(buf[el.data : el.end], "big", signed=True)


def as_float(buf: Buf, el: Element) -> float:
    raw = bytes(buf[el.data : el.end])
    return float(struct.unpack(">d" if len(raw) == 8 else ">f", raw)[0]) if raw else 0.0


def as_str(buf: Buf, el: Element) -> str:
    return bytes(buf[el.data : el.end]).rstrip(b"\0").decode("utf-8", "replace")
