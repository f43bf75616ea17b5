"""Incremental, sans-IO reader for `multipart/x-mixed-replace` camera streams.

Fed arbitrary chunks, `MultipartReader.feed` returns the events it could complete: `Part`,
`PartDropped` (oversize or garbage; the reader has resynchronised) and, from `close()`, `Truncated`.
Every decision depends only on the bytes, never on where chunks were cut, so any chunking of a
stream yields the same events (tests/protocol/test_multipart_props.py proves it).

Fast path: a part with a Content-Length is counted, not scanned. Its bytes are kept as memoryviews of
the caller's chunks and joined once, so the body is copied exactly once. The length is trusted only if
(after optional blank lines) a delimiter line follows, and for image/jpeg only if the body starts with
SOI and ends with EOI; otherwise the part is re-read by scanning for the next delimiter line with
`bytes.find`. Memory is bounded by `max_part_size` plus one chunk. The rules are in docs/protocol.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recorderd.protocol.errors import ProtocolError

__all__ = [
    "MultipartEvent",
    "MultipartReader",
    "Part",
    "PartDropped",
    "Truncated",
    "normalize_boundary",
    "parse_boundary",
]


@dataclass(slots=True)  # not frozen: one is made per part, and a frozen one costs 3x to make
class Part:
    """One complete part: header names lower-case, values stripped (latin-1 decoded)."""

    headers: dict[str, str]
    body: bytes

    @property
    def mime(self) -> str:
        """The Content-Type without parameters, lower-case (`image/jpeg;size=1` -> `image/jpeg`)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True, slots=True)
class PartDropped:
    """Bytes skipped (oversize part, garbage, corrupt JPEG); the reader resynchronised after them."""

    reason: str
    size: int


@dataclass(frozen=True, slots=True)
class Truncated:
    """The stream ended inside a part: `size` bytes of it (headers included) were never completed."""

    size: int


MultipartEvent = Part | PartDropped | Truncated

# --- boundary ------------------------------------------------------------------------------------

_BOUNDARY_PARAM = re.compile(r"""(?i)(?:^|;)\s*boundary\s*=\s*(?:"([^"]*)"|([^;]*))""")


def parse_boundary(content_type: str) -> str | None:
    """The boundary parameter of a Content-Type, unquoted and stripped, or None.

    Accepts `boundary=x`, `boundary = x`, `boundary="x"`, values with spaces (`--video boundary--`)
    and folded headers. Leading dashes are kept; `normalize_boundary` removes them for matching.
    """
    m = _BOUNDARY_PARAM.search(content_type.replace("\r", " ").replace("\n", " "))
    if m is None:
        return None
    value = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
    return value or None


def normalize_boundary(boundary: str | bytes) -> bytes | None:
    """The part of a boundary that delimiter lines must contain: without surrounding dashes/space.

    `--myboundary`, `"myboundary"` and `myboundary` give `myboundary`; `--video boundary--` gives
    `video boundary`.
    None when nothing is left (a boundary of dashes only cannot be told from a dash line).
    """
    raw = boundary.encode("latin-1", "replace") if isinstance(boundary, str) else boundary
    core = raw.strip(b" \t\r\n").strip(b'"').strip(b"-").strip(b" \t")
    return core or None


# --- line predicates -------------------------------------------------------------------------------

# A header line: a token name, optional blanks, ':' and a value without control characters.
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*:[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*)")
# A delimiter learned from the stream: 2 to 16 dashes, then printable ASCII (spaces inside).
_CANDIDATE = re.compile(rb"-{2,16}[\x21-\x2c\x2e-\x7e][\x20-\x7e]{0,196}")
_BLANK = re.compile(rb"[ \t\r\n]*")
# a few bytes a camera (or its web server) may put before the first delimiter on its line: a UTF-8
# or UTF-16 byte-order mark, NULs, other control bytes; skipped, so the first part is not lost
_LEAD_JUNK = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\xef\xbb\xbf\xfe\xff]{1,8}")
_NEVER = re.compile(rb"(?!)")
# A line that may teach the boundary (_is_delim with no boundary yet): _CANDIDATE, then blanks,
# the whole line shorter than 256 bytes; not `--"` (nothing left once normalised).
_CANDIDATE_MAX = 256
_CANDIDATE_BODY = (
    rb"(?=[^\n]{0,255}%s)(?!-+\"+[ \t\r]*%s)-{2,16}[\x21-\x2c\x2e-\x7e][\x20-\x7e]{0,196}[ \t\r]*%s"
)
_CANDIDATE_AT = re.compile(_CANDIDATE_BODY % (rb"\n", rb"\n", rb"\n"))
_CANDIDATE_AT_END = re.compile(_CANDIDATE_BODY % ((rb"(?:\n|\Z)",) * 3))
_CANDIDATE_NL = re.compile(rb"\n" + _CANDIDATE_BODY % (rb"\n", rb"\n", rb"\n"))
_CANDIDATE_NL_END = re.compile(rb"\n" + _CANDIDATE_BODY % ((rb"(?:\n|\Z)",) * 3))

_MAX_DASHES = 16  # dashes before the boundary on a delimiter line; more is not a delimiter
_LINE_TAIL = 64  # bytes allowed after the boundary on its line (dashes, blanks, CR)
_MAX_LINE = 8192  # a header line longer than this is body, not a header
_MAX_HEADERS = 16384  # a header block longer than this is garbage
_MAX_GAP = 64  # blank bytes allowed between a Content-Length body and the next delimiter
_SPLICE = 1024  # carried-over bytes are completed with at most this much of a new chunk first
_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
_JPEG = ("image/jpeg", "image/jpg", "image/pjpeg")

# states (_AFTER: a part was taken at its Content-Length by `held()`; its delimiter line is next)
_PRE, _HDR, _BODY, _VERIFY, _SCAN, _DISCARD, _AFTER = range(7)

Buffer = bytes | bytearray


def _line_of(w: Buffer, a: int, b: int) -> Buffer:
    """w[a:b] without the line break that ends it."""
    return w[a : b - 1] if b > a and w[b - 1] == 10 else w[a:b]


def _copy(w: Buffer, a: int, b: int) -> bytes:
    """bytes of w[a:b], copied once."""
    if isinstance(w, bytes):
        return w[a:b]
    with memoryview(w) as mv:
        return bytes(mv[a:b])


class MultipartReader:
    """Incremental multipart/x-mixed-replace parser (sans-IO).

    `boundary` is the Content-Type's boundary parameter (with or without leading `--`); None means
    learn it from the first delimiter-looking line (`--token`) the stream shows.
    """

    def __init__(self, boundary: str | None = None, *, max_part_size: int = 4 * 1024 * 1024) -> None:
        if max_part_size < 1:
            raise ValueError("max_part_size must be positive")
        self._core: bytes | None = None
        self._fast = b""  # CRLF + `--boundary` + CRLF, the common trailer of a part
        if boundary:
            self._set_core(normalize_boundary(boundary))
        self._max = max_part_size
        self._buf = bytearray()
        self._state = _PRE
        self._closed = False
        # relative to the first unconsumed byte, so they survive re-buffering
        self._scan = 0  # where to resume searching for a delimiter
        self._lo_ok = True  # is the first unconsumed byte at the start of a line?
        # the part being read
        self._headers: dict[str, str] = {}
        self._mime = ""
        self._hdr_len = 0
        self._remaining = 0
        self._pieces: list[memoryview | bytes | bytearray] = []
        self._body = b""
        self._dropped = 0
        self._reason = ""
        # the header block of the last part when its last line is Content-Length: a camera repeats
        # it byte for byte but for the length, so the next part's headers are one prefix match
        self._tpl: bytes = b""
        self._tpl_headers: dict[str, str] = {}

    def _set_core(self, core: bytes | None) -> None:
        self._core = core
        self._fast = b"\r\n--" + core + b"\r\n" if core else b""
        self._line = self._line_end = self._after_nl = self._after_nl_end = _NEVER
        if core:
            # A delimiter line, matched in C so that near misses (the boundary inside a body, a
            # line with a wrong tail, 17 dashes) cost no Python per hit: 1..16 dashes, the boundary,
            # a tail of dashes then blanks, the line's end within _LINE_TAIL bytes of the boundary.
            line = rb"-{1,%d}" % _MAX_DASHES + re.escape(core) + rb"(?=[- \t\r]{0,%d}" % (_LINE_TAIL - 1)
            self._line = re.compile(line + rb"\n)-*[ \t\r]*\n")
            self._line_end = re.compile(line + rb"(?:\n|\Z))-*[ \t\r]*(?:\n|\Z)")
            self._after_nl = re.compile(rb"\n" + line + rb"\n)-*[ \t\r]*\n")
            self._after_nl_end = re.compile(rb"\n" + line + rb"(?:\n|\Z))-*[ \t\r]*(?:\n|\Z)")

    @property
    def boundary(self) -> bytes | None:
        """The normalized boundary in use (declared or learned), None while unknown."""
        return self._core

    # --- public --------------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> list[MultipartEvent]:
        """Consume `data`; return the events it completes (possibly none: need more)."""
        if self._closed:
            raise ProtocolError("multipart: feed() after close()")
        if not data:
            return []
        if not isinstance(data, bytes):
            data = bytes(data)  # we keep views of chunks: the caller may reuse its buffer
        out: list[MultipartEvent] = []
        buf = self._buf
        fast = self._fast
        if buf and self._state == _VERIFY and fast.startswith(buf) and data.startswith(fast[len(buf) :]):
            # The usual trailer cut between chunks (a camera that sends `--boundary` with the next
            # frame): same result as verifying buf + data, without copying data.
            self._emit(out)
            skip = len(fast) - len(buf)
            buf.clear()
            w, p = self._run(data, skip, out, False)
        elif not buf:
            w, p = self._run(data, 0, out, False)
        elif len(data) > _SPLICE and self._state in (_HDR, _BODY, _VERIFY, _AFTER):
            # Finish the small carried-over piece with the head of the chunk, then go on in the
            # chunk itself, so a part body in it is not copied into our buffer first.
            l0 = len(buf)
            buf += memoryview(data)[:_SPLICE]
            w, p = self._run(buf, 0, out, False)
            if w is buf and p >= l0:
                buf.clear()
                w, p = self._run(data, p - l0, out, False)
            else:
                assert isinstance(w, bytearray)
                w += memoryview(data)[_SPLICE:]
                w, p = self._run(w, p, out, False)
        else:
            buf += data
            w, p = self._run(buf, 0, out, False)
        self._keep(w, p)
        return out

    def held(self) -> list[MultipartEvent]:
        """The part whose Content-Length body is complete while its end is not yet confirmed by a
        delimiter line (only line breaks followed it so far), taken now; [] if there is none.

        A camera that sends the delimiter *before* each part (MOBOTIX MOVE eventdata.cgi as its
        document draws it, Axis video as captured) sends it only with the next part, so `feed`
        alone would hold an event until the next one. Unlike `feed`, the result depends on where
        the stream paused: the shell asks after a read of a stream whose parts must not wait (events).
        The next bytes must be the delimiter line (after optional blank lines); anything else up to
        it is dropped as a PartDropped (the Content-Length was short and the camera paused after it).
        """
        if self._closed or self._state != _VERIFY or _BLANK.fullmatch(self._buf) is None:
            return []
        out: list[MultipartEvent] = []
        self._emit(out)
        self._state = _AFTER
        return out

    def close(self) -> list[MultipartEvent]:
        """End of stream: complete what the bytes allow, report the rest as Truncated/PartDropped."""
        if self._closed:
            return []
        out: list[MultipartEvent] = []
        w: Buffer = self._buf
        p = 0
        while True:
            if self._state == _BODY:
                # The Content-Length is never reached: it may be wrong, so look for delimiters
                # in what did arrive before calling the rest truncated.
                w = bytearray(b"".join(self._pieces)) + w[p:]
                p = 0
                self._pieces = []
                self._state = _SCAN
                self._scan = 0
                self._lo_ok = True
            w, p = self._run(w, p, out, True)
            if self._state != _BODY:
                break
        rest = len(w) - p
        state = self._state
        if state == _DISCARD:
            out.append(PartDropped(self._reason, self._dropped + rest))
        elif state == _SCAN:
            out.append(Truncated(self._hdr_len + rest))
        elif rest and _BLANK.fullmatch(w, p) is None:
            out.append(Truncated(rest))
        self._closed = True
        self._buf = bytearray()
        self._pieces = []
        self._body = b""
        return out

    # --- machinery -----------------------------------------------------------------------------

    def _keep(self, w: Buffer, p: int) -> None:
        if p >= len(w):
            if w is self._buf:
                w.clear()
            else:
                self._buf = bytearray()
        elif isinstance(w, bytearray):
            del w[:p]
            self._buf = w
        else:
            self._buf = bytearray(memoryview(w)[p:])

    def _run(self, w: Buffer, p: int, out: list[MultipartEvent], final: bool) -> tuple[Buffer, int]:
        """Advance through `w` from `p`; return the (possibly replaced) buffer and consumed offset."""
        while True:
            state = self._state
            if state == _BODY:
                np = self._st_body(w, p)
                if self._state == _SCAN:  # corrupt JPEG: re-read by scanning, body back in a buffer
                    w, np = self._rebuffer(w, np)
            elif state == _VERIFY:
                np = self._st_verify(w, p, out, final)
                if self._state == _SCAN:
                    w, np = self._rebuffer(w, np)
            elif state == _HDR:
                if p >= len(w) and not final:
                    return w, p  # a chunk that ended with a part: nothing of the next one yet
                np = self._fast_part(w, p, out)
                if np == -1:
                    np = self._st_headers(w, p, out, final)
            elif state == _SCAN:
                np = self._st_scan(w, p, out, final)
            elif state == _DISCARD:
                np = self._st_discard(w, p, out, final)
            elif state == _AFTER:
                np = self._st_after(w, p, final)
            else:
                np = self._st_preamble(w, p, final)
            if np == p and self._state == state:
                return w, p
            p = np

    def _rebuffer(self, w: Buffer, p: int) -> tuple[Buffer, int]:
        nb = bytearray(self._body)
        nb += memoryview(w)[p:]
        self._body = b""
        self._scan = 0
        self._lo_ok = True
        return nb, 0

    # a complete line (without its LF) is a delimiter line?
    def _is_delim(self, line: bytes | bytearray) -> bool:
        t = line.rstrip(b" \t\r")
        core = self._core
        if core is None:
            if _CANDIDATE.fullmatch(t) is None:
                return False
            learned = normalize_boundary(bytes(t))
            if learned is None:
                return False
            self._set_core(learned)
            return True
        s = t.lstrip(b"-")
        dashes = len(t) - len(s)
        if not 1 <= dashes <= _MAX_DASHES or not s.startswith(core):
            return False
        return not s[len(core) :].strip(b"-")

    def _find_delim(self, w: Buffer, lo: int, start: int, final: bool) -> tuple[int, int, int]:
        """Search a delimiter line beginning at or after `start` (region starts at `lo`).

        Returns (line_start, after_line, resume): line_start -1 when none yet, and `resume` is
        where a later search must start so that nothing is missed or found twice: no delimiter
        line begins before it.
        """
        core = self._core
        if core is None:
            return self._find_candidate(w, lo, start, final)
        line, after_nl = (self._line_end, self._after_nl_end) if final else (self._line, self._after_nl)
        if start == lo and self._lo_ok:
            m = line.match(w, lo)
            if m is not None:
                return lo, m.end(), m.end()
        m = after_nl.search(w, max(lo, start - 1))
        if m is not None:
            return m.start() + 1, m.end(), m.end()
        if final:  # nothing more comes: no line begins before the end
            return -1, -1, max(start, len(w))
        # lines that may still complete: only those beginning in the last full line's length
        return -1, -1, max(start, len(w) - (_MAX_DASHES + len(core) + _LINE_TAIL) + 1)

    def _find_candidate(self, w: Buffer, lo: int, start: int, final: bool) -> tuple[int, int, int]:
        # Boundary still unknown: the first line `--<printable>` teaches it (see _is_delim). Lines
        # of that shape are found in C (_CANDIDATE_LINE), so garbage full of `\n--` costs no
        # Python per line; `_is_delim` confirms the one found and learns from it.
        n = len(w)
        if start == lo and self._lo_ok:
            m = (_CANDIDATE_AT_END if final else _CANDIDATE_AT).match(w, lo)
            if m is not None and self._is_delim(_line_of(w, lo, m.end())):
                return lo, m.end(), m.end()
        at = max(lo, start - 1)
        pattern = _CANDIDATE_NL_END if final else _CANDIDATE_NL
        while (m := pattern.search(w, at)) is not None:
            h = m.start() + 1
            if self._is_delim(_line_of(w, h, m.end())):
                return h, m.end(), m.end()
            at = h  # not normalisable (`--"`): go on after it
        return -1, -1, max(start, n if final else n - _CANDIDATE_MAX + 1)

    # --- states --------------------------------------------------------------------------------

    def _st_preamble(self, w: Buffer, p: int, final: bool) -> int:
        n = len(w)
        q = _BLANK.match(w, p).end()  # type: ignore[union-attr]  # `*` always matches
        self._lo_ok = True  # blank lines (and blanks) before the first delimiter are harmless
        if q == n:
            return q
        p = q
        e = w.find(b"\n", p, p + _MAX_LINE)
        if e == -1:
            if n - p < _MAX_LINE and not final:
                return p
            line, after = w[p : min(n, p + _MAX_LINE)], n
        else:
            line, after = w[p:e], e + 1
        if self._is_delim(line):
            self._begin_part()
            return after
        junk = _LEAD_JUNK.match(line)
        if junk is not None and self._is_delim(line[junk.end() :]):
            self._begin_part()
            return after
        if _HEADER.fullmatch(line.rstrip(b"\r")):
            self._begin_part()  # the stream starts with a part's headers (D-Link)
            return p
        self._discard("garbage before the first boundary", 0)
        return p

    def _st_after(self, w: Buffer, p: int, final: bool) -> int:
        """After a part taken by `held()`: blank lines, then its delimiter line; else the rest of a
        part whose Content-Length was short, dropped up to the next delimiter line."""
        n = len(w)
        q = _BLANK.match(w, p).end()  # type: ignore[union-attr]  # `*` always matches
        if q == n:
            return q
        limit = self._delim_line_max()
        e = w.find(b"\n", q, q + limit)
        if e != -1 and self._is_delim(w[q:e]):
            self._begin_part()
            return e + 1
        if e == -1 and not final and n - q < limit:
            return q  # the line is not complete yet
        if e == -1 and final and (self._is_delim(w[q:n]) or self._is_delim_prefix(w[q:n])):
            self._begin_part()  # the stream ended with (a cut) delimiter line
            return n
        self._discard("bytes after a part taken at its Content-Length", 0)
        self._lo_ok = True
        return q

    def _begin_part(self) -> None:
        self._state = _HDR
        self._headers = {}

    def _discard(self, reason: str, size: int) -> None:
        self._state = _DISCARD
        self._reason = reason
        self._dropped = size
        self._scan = 0

    def _fast_part(self, w: Buffer, p: int, out: list[MultipartEvent]) -> int:
        """Headers and, when possible, the whole part at `p` in one step; -1: take the line loop.

        Taken only for CRLF header lines that all parse (none starting with `-`, which could be a
        delimiter). A part completes here if its Content-Length body is all present, is followed by
        exactly CRLF `--boundary` CRLF, and, for JPEG, starts with SOI and ends with EOI; the
        general states give the same result on such input, this only skips their steps.
        """
        tpl = self._tpl
        if tpl and w.startswith(tpl, p):
            # the learned block: Content-Length's digits and the blank line are all that differ
            d = p + len(tpl)
            e = w.find(b"\r\n\r\n", d, d + 14)
            digits = w[d:e]
            if e > d and digits.isdigit():
                headers = dict(self._tpl_headers)
                cl = headers["content-length"] = digits.decode("ascii")
                return self._fast_body(w, p, e + 4, headers, cl, out)
        e = w.find(b"\r\n\r\n", p, p + _SPLICE)
        if e <= p:
            return -1
        headers = {}
        lines = w[p:e].split(b"\r\n")
        for line in lines:
            m = _HEADER.fullmatch(line)
            if m is None or line.startswith(b"-"):
                return -1
            headers[m.group(1).decode("ascii").lower()] = m.group(2).decode("latin-1").strip()
        cl = headers.get("content-length", "")
        last = m  # the last line's match (the loop returned on any line that did not match)
        if last is not None and last.group(1).lower() == b"content-length" and cl.isdigit():
            self._tpl = bytes(w[p : e - len(lines[-1]) + last.start(2)])
            self._tpl_headers = dict(headers)
        else:
            self._tpl = b""
        return self._fast_body(w, p, e + 4, headers, cl, out)

    def _fast_body(
        self, w: Buffer, p: int, b: int, headers: dict[str, str], cl: str, out: list[MultipartEvent]
    ) -> int:
        fast = self._fast
        if fast and cl.isascii() and cl.isdigit() and len(cl) <= 12:
            end = b + int(cl)
            if end - b <= self._max and w.startswith(fast, end):
                body = w[b:end] if isinstance(w, bytes) else _copy(w, b, end)
                if body.startswith(_SOI) and body.endswith(_EOI):
                    out.append(Part(headers, body))
                    return end + len(fast)
                mime = headers.get("content-type", "").split(";", 1)[0].strip().lower()
                if mime not in _JPEG:
                    out.append(Part(headers, body))
                    return end + len(fast)
        return self._start_body(w, p, b, headers)

    def _st_headers(self, w: Buffer, p: int, out: list[MultipartEvent], final: bool) -> int:
        n = len(w)
        headers: dict[str, str] = {}
        q = p
        while True:
            e = w.find(b"\n", q, q + _MAX_LINE)
            if e == -1:
                if n - q < _MAX_LINE and not final:
                    return p  # need the rest of the line
                if n - q < _MAX_LINE:  # end of stream inside the headers
                    line = w[q:n]
                    if not headers and (not line.strip() or self._is_delim(line)):
                        return n
                    return p  # close() reports it as Truncated
                return self._start_body(w, p, q, headers)  # a huge line: body without blank line
            line = w[q:e]
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line.strip(b" \t"):
                if not headers:
                    # Blank lines between a delimiter and the headers (cameras' extra CRLFs): skip
                    # them. Every dialect's parts carry headers, and a part that has none still
                    # starts its body at the first line that is not a header.
                    p = q = e + 1
                    continue
                return self._start_body(w, p, e + 1, headers)
            m = None if line.startswith(b"-") else _HEADER.fullmatch(line)
            if m is None:
                if self._is_delim(line):  # repeated boundary line
                    if headers:
                        out.append(PartDropped("part without body", q - p))
                    self._headers = {}
                    return e + 1
                m = _HEADER.fullmatch(line)
            if m is None:
                return self._start_body(w, p, q, headers)  # no blank line after the headers
            headers[m.group(1).decode("ascii").lower()] = m.group(2).decode("latin-1").strip()
            q = e + 1
            if q - p > _MAX_HEADERS:
                self._discard("part headers too long", 0)
                self._lo_ok = True
                return p

    def _start_body(self, w: Buffer, p: int, b: int, headers: dict[str, str]) -> int:
        self._headers = headers
        self._hdr_len = b - p
        self._mime = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        cl = headers.get("content-length", "")
        if cl.isascii() and cl.isdigit() and len(cl) <= 12 and int(cl) <= self._max:
            self._state = _BODY
            self._remaining = int(cl)
            self._pieces = []
        else:
            self._state = _SCAN
            self._scan = 0
            self._lo_ok = True
        return b

    def _st_body(self, w: Buffer, p: int) -> int:
        rem = self._remaining
        avail = len(w) - p
        if not self._pieces and avail >= rem:
            body = _copy(w, p, p + rem)  # the whole body is here: one slice, one copy
            p += rem
        else:
            take = min(rem, avail)
            if take:
                if isinstance(w, bytes):
                    self._pieces.append(memoryview(w)[p : p + take])
                else:
                    self._pieces.append(w[p : p + take])  # our own buffer: copy the piece
                self._remaining = rem = rem - take
                p += take
            if rem:
                return p
            pieces = self._pieces
            self._pieces = []
            body = b"".join(pieces)
        self._body = body
        if self._mime in _JPEG and not (body.startswith(_SOI) and body.endswith(_EOI)):
            self._state = _SCAN  # Content-Length does not frame a JPEG: scan instead
            return p
        self._state = _VERIFY
        return p

    def _st_verify(self, w: Buffer, p: int, out: list[MultipartEvent], final: bool) -> int:
        fast = self._fast
        if fast and w.startswith(fast, p):  # the usual trailer: CRLF, delimiter line, CRLF
            self._emit(out)
            return p + len(fast)
        n = len(w)
        j = _BLANK.match(w, p, min(n, p + _MAX_GAP)).end()  # type: ignore[union-attr]
        if j - p >= _MAX_GAP:
            self._state = _SCAN
            return p
        if j == n:
            if not final:
                return p
            self._emit(out)  # the stream ended right after a complete Content-Length body
            return n
        limit = self._delim_line_max()
        e = w.find(b"\n", j, j + limit)
        if e == -1:
            if n - j < limit and not final:
                return p
            if n - j >= limit:
                self._state = _SCAN
                return p
            if self._is_delim(w[j:n]) or self._is_delim_prefix(w[j:n]):
                self._emit(out)  # complete body; a cut delimiter is reported by close()
                return n if self._is_delim(w[j:n]) else j
            self._state = _SCAN
            return p
        if self._is_delim(w[j:e]):
            self._emit(out)
            return e + 1
        self._state = _SCAN  # the Content-Length was wrong: find the real end by scanning
        return p

    def _delim_line_max(self) -> int:
        """The longest a delimiter line can be (a line longer than this is not one)."""
        return (len(self._core) if self._core else 200) + _MAX_DASHES + _LINE_TAIL

    def _is_delim_prefix(self, t: bytes | bytearray) -> bool:
        # a delimiter line cut by the end of the stream (only asked at close)
        s = t.lstrip(b"-")
        if not s:
            return True
        core = self._core
        return core is not None and 1 <= len(t) - len(s) <= _MAX_DASHES and core.startswith(s)

    def _emit(self, out: list[MultipartEvent]) -> None:
        out.append(Part(self._headers, self._body))
        self._body = b""
        self._headers = {}
        self._state = _HDR

    def _st_scan(self, w: Buffer, p: int, out: list[MultipartEvent], final: bool) -> int:
        ls, after, resume = self._find_delim(w, p, p + self._scan, final)
        if ls == -1:
            self._scan = resume - p
            # The body reaches at least to resume (a delimiter line cannot start earlier), so
            # this test does not depend on where chunks were cut.
            if resume - p > self._max:
                self._reason = "part larger than max_part_size"
                self._dropped = self._hdr_len
                self._state = _DISCARD
            return p
        self._state = _HDR
        self._headers, headers = {}, self._headers
        if ls - p > self._max:
            out.append(PartDropped("part larger than max_part_size", self._hdr_len + ls - p))
            return after
        end = ls
        if end > p and w[end - 1] == 10:  # the line break before a delimiter belongs to it
            end -= 2 if end - 1 > p and w[end - 2] == 13 else 1
        if self._mime in _JPEG:
            t = ls
            while t > p and w[t - 1] in (10, 13):
                t -= 1
            if t - p < 4 or w[t - 2] != 0xFF or w[t - 1] != 0xD9 or not w.startswith(_SOI, p):
                out.append(PartDropped("image/jpeg part without SOI/EOI", self._hdr_len + ls - p))
                return after
            end = t  # after EOI only line breaks (D-Link sends two CRLFs)
        out.append(Part(headers, _copy(w, p, end)))
        return after

    def _st_discard(self, w: Buffer, p: int, out: list[MultipartEvent], final: bool) -> int:
        ls, after, resume = self._find_delim(w, p, p + self._scan, final)
        if ls != -1:
            out.append(PartDropped(self._reason, self._dropped + ls - p))
            self._begin_part()
            self._lo_ok = True
            return after
        # Drop what cannot hold a delimiter line's start: everything before the resume point.
        keep_from = max(p, min(resume, len(w)))
        if keep_from > p:
            self._lo_ok = w[keep_from - 1] == 10
            self._dropped += keep_from - p
        self._scan = resume - keep_from
        return keep_from
