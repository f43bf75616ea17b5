"""Hypothesis strategies building multipart camera streams with the deviations real cameras show."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from recorderd.protocol.multipart import MultipartEvent, MultipartReader

SOI, EOI = b"\xff\xd8", b"\xff\xd9"


@dataclass(frozen=True)
class Built:
    """A generated stream, the boundary to declare, and the parts a correct reader must return."""

    data: bytes
    declared: str
    bodies: list[bytes]  # expected bodies, in order
    mimes: list[str]
    junk: bool  # the stream starts with garbage (one PartDropped expected)
    cut: bool  # the stream ends inside a part (one Truncated expected)


def run(boundary: str | None, chunks: list[bytes], max_part_size: int = 1 << 20) -> list[MultipartEvent]:
    """All events of a reader fed `chunks`, then closed."""
    r = MultipartReader(boundary, max_part_size=max_part_size)
    out: list[MultipartEvent] = []
    for c in chunks:
        out += r.feed(c)
    return out + r.close()


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """Split `data` at the given positions (any order, duplicates and out-of-range ignored)."""
    pos = sorted({c for c in cuts if 0 < c < len(data)})
    out, last = [], 0
    for c in pos:
        out.append(data[last:c])
        last = c
    out.append(data[last:])
    return out


_TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+_,./:=?"
tokens = st.one_of(
    st.sampled_from(["myboundary", "video boundary", "ioboundary", "mdb", "AaBo3x"]),
    st.text(_TOKEN_CHARS, min_size=1, max_size=12),
    st.tuples(
        st.text(_TOKEN_CHARS, min_size=1, max_size=6), st.text(_TOKEN_CHARS, min_size=1, max_size=6)
    ).map(lambda t: f"{t[0]} {t[1]}"),
)
text_line = st.text("abcdefghijklmnopqrstuvwxyz0123456789=;:_ \\/", min_size=0, max_size=40).map(
    lambda s: s.encode()
)


@st.composite
def text_bodies(draw: st.DrawFn, nl: bytes) -> bytes:
    lines = draw(st.lists(text_line, min_size=0, max_size=5))
    last = draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789;", min_size=1, max_size=20)).encode()
    return nl.join([*lines, last])  # ends with a non-blank character, may hold blank lines


@st.composite
def jpeg_bodies(draw: st.DrawFn) -> bytes:
    # no line starting with a dash inside: such bytes could be a delimiter line
    return SOI + draw(st.binary(min_size=0, max_size=300).filter(lambda b: b"\n-" not in b)) + EOI


@st.composite
def streams(draw: st.DrawFn) -> Built:
    core = draw(tokens)
    style = draw(st.sampled_from(["plain", "dashed-decl", "quoted", "dlink", "rfc"]))
    if style == "plain":
        declared, delim = core, f"--{core}"
    elif style == "dashed-decl":  # boundary=--myboundary delimited by --myboundary
        declared, delim = f"--{core}", f"--{core}"
    elif style == "quoted":
        declared, delim = f'"{core}"', f"--{core}"
    elif style == "dlink":  # boundary=--video boundary-- delimited by the same
        declared, delim = f"--{core}--", f"--{core}--"
    else:  # RFC: boundary=--x delimited by ----x
        declared, delim = f"--{core}", f"----{core}"
    nl = draw(st.sampled_from([b"\r\n", b"\n"]))
    dl = delim.encode() + nl
    out = bytearray()
    pre = draw(st.sampled_from(["none", "blank", "junk", "headers-first"]))
    if pre == "blank":
        out += nl * draw(st.integers(1, 3))
    elif pre == "junk":
        out += b"HTTP junk " + draw(text_line) + nl
    bodies: list[bytes] = []
    mimes: list[str] = []
    n = draw(st.integers(0, 4))
    tail = draw(st.sampled_from(["none", "delim", "cut"]))
    for i in range(n):
        if not (i == 0 and pre == "headers-first"):
            out += dl
            if draw(st.integers(0, 5)) == 0:
                out += dl  # repeated boundary line
        kind = draw(st.sampled_from(["text", "jpeg", "jpeg"]))
        body = draw(text_bodies(nl)) if kind == "text" else draw(jpeg_bodies())
        mime = "text/plain" if kind == "text" else "image/jpeg"
        cl_mode = draw(st.sampled_from(["right", "right", "nospace", "absent", "toolarge", "toosmall"]))
        if i == n - 1 and tail == "none":
            cl_mode = "right"  # without a delimiter after it, only a counted part is complete
        if kind == "text" and cl_mode == "toosmall" and len(body) < 2:
            cl_mode = "absent"
        headers = [f"Content-Type: {mime}" + (";size=1" if draw(st.booleans()) else "")]
        if cl_mode == "right":
            headers.append(f"Content-Length: {len(body)}")
        elif cl_mode == "nospace":
            headers.append(f"Content-Length:{len(body)}")
        elif cl_mode == "toolarge":
            headers.append(f"Content-Length: {len(body) + 5000}")
        elif cl_mode == "toosmall":
            headers.append(f"Content-Length: {len(body) // 2}")
        if draw(st.booleans()):
            headers.append("Date: 2008-10-01 10:39:46 IO_00000000_PT_120_045")
        if draw(st.booleans()):
            headers.reverse()
        out += nl.join(h.encode() for h in headers) + nl + nl
        trailer = draw(st.sampled_from([b"\r\n", b"\r\n\r\n", b"\n", nl]))
        out += body + trailer
        bodies.append(_expected_body(body, trailer, kind, cl_mode))
        mimes.append(mime)
    if tail == "delim":
        out += dl
    elif tail == "cut":
        # a part cut off mid-body: it must come out as Truncated, never as a Part
        out += dl + b"Content-Type: image/jpeg" + nl + b"Content-Length: 999" + nl + nl + SOI + b"abc"
    return Built(bytes(out), declared, bodies, mimes, pre == "junk", tail == "cut")


def _expected_body(body: bytes, trailer: bytes, kind: str, cl_mode: str) -> bytes:
    if cl_mode in ("right", "nospace") or kind == "jpeg":
        return body  # counted exactly, or a JPEG cut after its EOI
    # scanned: the one line break before the delimiter belongs to the delimiter
    raw = body + trailer
    return raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
