"""Where the delimiter goes: after each part, as the documents draw it, unless a fault moves it.

With the delimiter after the part, a reader knows the part is complete as soon as it is sent; with
it before (the `leading_delimiter` fault), only when the next part starts.
"""

from __future__ import annotations

from recorderd.sim.config import Faults
from recorderd.sim.framing import make_framing

LINES = ["Content-Type: text/plain"]
BODY = b"group=0;level=28;threshold=45;\r\n"


def test_documents_layout_ends_each_part_with_the_delimiter() -> None:
    f = make_framing("mdb", "plain", Faults())
    assert f.preamble == b"--mdb\r\n"  # VAPIX: "--mdb" opens the stream
    assert f.part(BODY, LINES) == b"Content-Type: text/plain\r\n\r\n" + BODY + b"\r\n--mdb\r\n"


def test_leading_delimiter_fault() -> None:
    f = make_framing("mdb", "plain", Faults(leading_delimiter=True))
    assert f.preamble == b""
    assert f.part(BODY, LINES) == b"--mdb\r\nContent-Type: text/plain\r\n\r\n" + BODY + b"\r\n"


def test_headers_first_fault_has_no_opening_delimiter() -> None:
    f = make_framing("mdb", "plain", Faults(headers_first=True))
    assert f.preamble == b""
    assert f.part(BODY, LINES).endswith(b"\r\n--mdb\r\n")


def test_repeated_boundary_in_both_places() -> None:
    f = make_framing("mdb", "plain", Faults(repeat_boundary=True))
    assert f.preamble == b"--mdb\r\n--mdb\r\n"
    assert f.part(BODY, LINES).endswith(b"--mdb\r\n--mdb\r\n")
