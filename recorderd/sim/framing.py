"""multipart/x-mixed-replace framing, as the documents draw it and as real cameras bend it.

A `Framing` is fixed per stream when it opens (from the camera's dialect and its faults at that
moment): the Content-Type declaration, the delimiter line, the preamble, and how each part is laid
out. `part()` builds one part's bytes; the video path builds each frame's part once per tick per
framing, and every stream with that framing sends the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recorderd.sim.config import BoundaryStyle, ContentLength, Faults

CRLF = b"\r\n"
LENGTH = "\0length"  # placeholder header line: Content-Length of the body


@dataclass(frozen=True)
class Framing:
    content_type: str  # the response's Content-Type value
    delimiter: bytes  # the line between parts, without its line end
    preamble: bytes  # sent once after the response head
    nl: bytes  # line end of part headers
    headers_first: bool  # delimiter after each part (as the documents draw it) instead of before it
    repeat_boundary: bool
    extra_crlf: bool
    content_length: ContentLength
    cl_nospace: bool
    type_size: bool

    def part(self, body: bytes, lines: Sequence[str], trailer: bytes = CRLF) -> bytes:
        """One part: delimiter, header lines, blank line, body, trailer (the dialect's CRLF or two).

        The header line LENGTH stands for Content-Length, which the faults may drop or falsify.
        """
        out: list[str] = []
        for line in lines:
            if line == LENGTH:
                if self.content_length == "missing":
                    continue
                n = len(body) + {"exact": 0, "short": -100, "long": 100}[self.content_length]
                out.append(f"Content-Length{':' if self.cl_nospace else ': '}{max(0, n)}")
            elif self.type_size and line.lower().startswith("content-type") and "image/" in line:
                out.append(f"{line};size={len(body)}")
            else:
                out.append(line)
        nl = self.nl
        headers = nl.join(x.encode("latin-1") for x in out) + nl + nl
        delim = self.delimiter + CRLF
        if self.repeat_boundary:
            delim += delim
        gap = CRLF * 2 if self.extra_crlf else b""
        if self.headers_first:
            return headers + body + trailer + delim + gap
        return gap + delim + headers + body + trailer


def make_framing(
    token: str,
    style: BoundaryStyle,
    faults: Faults,
    *,
    space_after_semicolon: bool = False,
    leading: bool = False,
) -> Framing:
    """The framing for a stream whose document says `token` in `style` (plain or dashed), bent by faults.

    plain:  boundary=myboundary      delimited by --myboundary
    dashed: boundary=--myboundary    delimited by --myboundary (IPCamCGI, Open API/VAPIX audio; real cameras)
    quoted: boundary="myboundary"    spaces: boundary = myboundary
    """
    token = faults.boundary_token or token
    style = style if faults.boundary == "default" else faults.boundary
    semi = "; " if space_after_semicolon or style == "spaces" else ";"
    declared = {
        "plain": f"boundary={token}",
        "dashed": f"boundary=--{token}",
        "quoted": f'boundary="{token}"',
        "spaces": f"boundary = {token}",
    }[style]
    preamble = {"none": b"", "blank_lines": CRLF * 3, "junk": b"\x00junk before the first part\r\n"}[
        faults.preamble
    ]
    delimiter = f"--{token}".encode()
    # `leading`: the document draws the delimiter before each part (MOVE eventdata.cgi)
    trailing = not (faults.leading_delimiter or leading)
    if trailing and not faults.headers_first:
        # The documents' layout: one delimiter opens the stream, then each part ends with one, so a
        # part is complete as soon as it is sent.
        preamble += (delimiter + CRLF) * (2 if faults.repeat_boundary else 1)
    return Framing(
        content_type=f"multipart/x-mixed-replace{semi}{declared}",
        delimiter=delimiter,
        preamble=preamble,
        nl=b"\n" if faults.bare_lf else CRLF,
        headers_first=trailing,
        repeat_boundary=faults.repeat_boundary,
        extra_crlf=faults.extra_crlf,
        content_length=faults.content_length,
        cl_nospace=faults.content_length_nospace,
        type_size=faults.content_type_size,
    )
