"""The multipart reader on the real Axis capture, the dialect documents' examples and known deviations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recorderd.protocol.errors import ProtocolError
from recorderd.protocol.multipart import (
    MultipartEvent,
    MultipartReader,
    Part,
    PartDropped,
    Truncated,
    normalize_boundary,
)
from tests.support.protocol_streams import EOI, SOI, run


def parts(events: list[MultipartEvent]) -> list[Part]:
    return [e for e in events if isinstance(e, Part)]


def every_split_same(boundary: str | None, data: bytes) -> list[MultipartEvent]:
    """Events of the whole buffer, asserted equal for every two-chunk split and 1-byte feeding."""
    whole = run(boundary, [data])
    for i in range(1, len(data)):
        assert run(boundary, [data[:i], data[i:]]) == whole, f"split at {i}"
    assert run(boundary, [data[i : i + 1] for i in range(len(data))]) == whole
    return whole


# --- the real Axis capture -------------------------------------------------------------------------


def axis_frames(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each frame, from its Content-Length (computed independently of the reader)."""
    return [
        (m.end(), m.end() + int(m.group(1)))
        for m in re.finditer(rb"Content-Length: (\d+)\r\n\r\n", data)
        if m.end() + int(m.group(1)) <= len(data)
    ]


def test_axis_capture_yields_its_frames_byte_identical(real: Path) -> None:
    data = (real / "axis-mjpeg-capture.mjpg").read_bytes()
    frames = axis_frames(data)
    assert len(frames) == 10
    for boundary in ("--myboundary", "myboundary", None):
        events = run(boundary, [data])
        assert [p.body for p in parts(events)] == [data[a:b] for a, b in frames]
        assert all(p.mime == "image/jpeg" for p in parts(events))
        # the capture ends right after frame 10's CRLF: nothing is truncated
        assert not [e for e in events if not isinstance(e, Part)]


def test_axis_capture_cut_reports_the_truncated_tail(real: Path) -> None:
    data = (real / "axis-mjpeg-capture.mjpg").read_bytes()
    frames = axis_frames(data)
    a10, _ = frames[9]
    for cut in (a10 - 30, a10 + 1, a10 + 7000, len(data) - 3):
        events = run("--myboundary", [data[:cut]])
        assert [p.body for p in parts(events)] == [data[a:b] for a, b in frames[:9]]
        header_start = data.rindex(b"--myboundary\r\n", 0, a10) + len(b"--myboundary\r\n")
        assert events[-1] == Truncated(cut - header_start)
    # cut inside the delimiter line after frame 9: frame 9 is complete, the cut line is the tail
    _, b9 = frames[8]
    events = run("--myboundary", [data[: b9 + 7]])
    assert len(parts(events)) == 9 and events[-1] == Truncated(5)


def test_axis_capture_any_split_near_boundaries(real: Path) -> None:
    data = (real / "axis-mjpeg-capture.mjpg").read_bytes()
    whole = run("--myboundary", [data])
    cuts = {c for a, b in axis_frames(data) for c in (*range(a - 90, a + 3), *range(b - 3, b + 20))}
    for c in sorted(cuts):
        assert run("--myboundary", [data[:c], data[c:]]) == whole, c
    for size in (1000, 4096, 65536):
        assert run("--myboundary", [data[i : i + size] for i in range(0, len(data), size)]) == whole


# --- the documents' examples --------------------------------------------------------------------------

IO_MONITOR = (  # VAPIX §5.5.1.1, with the leading blank lines and blank lines inside the parts
    b"\r\n\r\n\r\n--ioboundary\r\nContent-Type: text/plain\r\n\r\nIO0:/\n\r\n\r\n"
    b"--ioboundary\r\nContent-Type: text/plain\r\n\r\nIO0:H\n\r\n"
    b"--ioboundary\r\nContent-Type: text/plain\r\n\r\n\r\nIO0:\\\n\r\n\r\n"
    b"--ioboundary\r\nContent-Type: text/plain\r\n\r\n\r\n\r\n\r\n"
    b"--ioboundary\r\n"
)


def test_vapix_io_monitor() -> None:
    events = every_split_same("ioboundary", IO_MONITOR)
    assert [p.body for p in parts(events)] == [b"IO0:/\n\r\n", b"IO0:H\n", b"\r\nIO0:\\\n\r\n", b"\r\n\r\n"]
    assert len(events) == 4


EVENTDATA = (  # MOBOTIX MOVE eventdata.cgi?action=monitor: Content-Length stops before the blank lines
    b"--b\r\nContent-Type: text/plain\r\nContent-Length: 74\r\n\r\n"
    b"Motion:Enabled=1;Level=0;Sensitivity=80;Triggered=0;\r\n\r\nMotion1:Enabled=0;\r\n\r\n"
    b"--b\r\nContent-Type: text/plain\r\nContent-Length: 75\r\n\r\n"
    b"Motion:Enabled=1;Level=15;Sensitivity=80;Triggered=0;\r\nMotion1:Enabled=0;\r\n\r\n"
    b"--b\r\n"
)


def test_move_eventdata_content_length_before_blank_lines() -> None:
    events = every_split_same("b", EVENTDATA)
    assert [p.body for p in parts(events)] == [
        b"Motion:Enabled=1;Level=0;Sensitivity=80;Triggered=0;\r\n\r\nMotion1:Enabled=0;",
        b"Motion:Enabled=1;Level=15;Sensitivity=80;Triggered=0;\r\nMotion1:Enabled=0;\r\n",
    ]


def fed_with_held(chunks: list[bytes], boundary: str = "b") -> tuple[list[MultipartEvent], list[int]]:
    """Events of a reader asked for `held()` after every chunk (as the shell does for event
    streams), then closed; and how many Parts had come out after each chunk."""
    r = MultipartReader(boundary)
    out: list[MultipartEvent] = []
    counts = []
    for c in chunks:
        out += r.feed(c)
        out += r.held()
        counts.append(len(parts(out)))
    return out + r.close(), counts


def test_an_event_complete_by_its_content_length_is_taken_before_the_next_delimiter() -> None:
    """MOVE eventdata as its document draws it: the delimiter comes before each part, so the latest
    event is followed by nothing until the camera has something new to say."""
    first, second = EVENTDATA.split(b"--b\r\n")[1:3]
    events, counts = fed_with_held([b"--b\r\n" + first, b"--b\r\n" + second])
    assert counts == [1, 2]  # each event at once, not when the next one begins
    assert parts(events) == parts(run("b", [EVENTDATA]))
    assert [e for e in events if not isinstance(e, Part)] == []
    r = MultipartReader("b")
    assert r.feed(b"--b\r\n" + first) == []  # feed alone waits for the delimiter line


def test_held_gives_the_same_parts_at_every_split_when_lengths_are_right() -> None:
    whole = parts(run("b", [EVENTDATA]))
    for i in range(1, len(EVENTDATA)):
        events, _ = fed_with_held([EVENTDATA[:i], EVENTDATA[i:]])
        assert events == whole, f"split at {i}"
    events, _ = fed_with_held([EVENTDATA[i : i + 1] for i in range(len(EVENTDATA))])
    assert events == whole


def test_held_takes_jpeg_frames_of_a_leading_delimiter_stream_at_every_split() -> None:
    """Video whose frame headers carry trigger bits is read like events; Axis leads with the delimiter."""
    frames = [SOI + bytes(range(i, i + 200)) + EOI for i in range(3)]
    stream = b"".join(
        b"--b\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(f) + f + b"\r\n"
        for f in frames
    )
    for i in range(1, len(stream)):
        events, counts = fed_with_held([stream[:i], stream[i:]])
        assert [p.body for p in parts(events)] == frames and len(events) == 3, f"split at {i}"
        assert counts[-1] == 3  # the last frame too, with no delimiter after it


def test_held_waits_once_a_delimiter_or_more_body_has_begun() -> None:
    r = MultipartReader("b")
    assert r.feed(b"--b\r\nContent-Length: 5\r\n\r\nIO0:") == [] and r.held() == []  # body not complete
    assert r.feed(b"/\r\n--") == [] and r.held() == []  # a delimiter line has begun: feed decides
    assert [p.body for p in parts(r.feed(b"b\r\n"))] == [b"IO0:/"]
    assert r.held() == []


def test_a_short_content_length_taken_early_drops_the_rest_of_its_part() -> None:
    """The price of not waiting: a camera that declares too short a length and pauses right after
    it gives the part as declared; the rest, up to the next delimiter line, is dropped and said so."""
    head = b"--b\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n"
    events, counts = fed_with_held(
        [head + b"Motion:Lev", b"el=15;\r\n\r\n--b\r\n" + b"Content-Length: 3\r\n\r\nIO1"]
    )
    assert [p.body for p in parts(events)] == [b"Motion:Lev", b"IO1"] and counts == [1, 2]
    assert [type(e) for e in events] == [Part, PartDropped, Part]
    # without the pause, feed sees that no delimiter follows and reads the part whole
    assert [p.body for p in parts(run("b", [head + b"Motion:Level=15;\r\n\r\n--b\r\n"]))] == [
        b"Motion:Level=15;\r\n"  # scanned: the line break before the blank line stays
    ]


def test_a_stream_that_ends_after_a_held_part() -> None:
    r = MultipartReader("b")
    assert r.feed(b"--b\r\nContent-Length: 5\r\n\r\nIO0:/\r\n") == []
    assert [p.body for p in parts(r.held())] == [b"IO0:/"]
    assert r.feed(b"--b") == [] and r.close() == []  # a cut delimiter line loses nothing


def test_vapix_multipart_audio_part_without_blank_line() -> None:
    block = bytes(range(128, 248)) * 2  # 240 bytes of "audio", no line break inside
    data = (
        b"--myboundary\r\nContent-Type: audio/32KADPCM\r\n\r\n" + block + b"\r\n"
        b"--myboundary\r\nContent-Type: audio/32KADPCM\r\n" + block + b"\r\n--myboundary\r\n"
    )
    events = run("myboundary", [data])
    assert [(p.mime, p.body) for p in parts(events)] == [("audio/32kadpcm", block)] * 2


def dlink_jpeg(n: int) -> bytes:
    return SOI + bytes([n]) * 50 + EOI


def test_dlink_starts_with_headers_and_ends_frames_with_two_crlf() -> None:
    # IPCamCGI: boundary=--video boundary--; real D-Link streams start directly with part headers
    data = b""
    for i in range(3):
        j = dlink_jpeg(i)
        data += (
            b"Content-Length: %d\r\nDate: 11-17-2016 04:03:05 PM IO_00000000_PT_005_000\r\n"
            b"Content-Type: image/jpeg\r\n\r\n" % len(j) + j + b"\r\n\r\n--video boundary--\r\n"
        )
    for boundary in ("--video boundary--", None):
        events = every_split_same(boundary, data)
        assert [p.body for p in parts(events)] == [dlink_jpeg(i) for i in range(3)]
        assert parts(events)[0].headers["date"] == "11-17-2016 04:03:05 PM IO_00000000_PT_005_000"


def test_header_variants_bare_lf_and_repeated_boundaries() -> None:
    j = dlink_jpeg(7)
    data = (
        b"junk before\n\n--myboundary\n--myboundary\n"
        b"Content-Type: image/jpeg;size=%d\nContent-Length:%d\n\n" % (len(j), len(j)) + j + b"\n"
        b"--myboundary\nContent-type :text/plain\n\nline1\n\nline3\n--myboundary--\n"
    )
    events = every_split_same("--myboundary", data)
    assert events[0] == PartDropped("garbage before the first boundary", len(b"junk before\n\n"))
    ps = parts(events)
    assert [p.body for p in ps] == [j, b"line1\n\nline3"]
    assert ps[0].headers["content-length"] == str(len(j)) and ps[0].mime == "image/jpeg"
    assert ps[1].mime == "text/plain"


@pytest.mark.parametrize("junk", [b"\xef\xbb\xbf", b"\x00", b"\xfe\xff", b"\x00\x00\x1b"])
@pytest.mark.parametrize("boundary", ["myboundary", None])
def test_a_byte_order_mark_or_nul_before_the_first_delimiter_keeps_the_first_frame(
    junk: bytes, boundary: str | None
) -> None:
    j = dlink_jpeg(3)
    frame = b"--myboundary\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(j) + j + b"\r\n"
    events = every_split_same(boundary, junk + frame + frame + b"--myboundary--\r\n")
    assert events == parts(events)  # nothing dropped
    assert [p.body for p in parts(events)] == [j, j]


def test_junk_that_is_not_short_or_not_control_bytes_is_still_garbage() -> None:
    j = dlink_jpeg(3)
    frame = b"--b\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(j) + j + b"\r\n"
    for junk in (b"x", b"\x00" * 9):
        events = run("b", [junk + frame + frame])
        assert events[0] == PartDropped("garbage before the first boundary", len(junk + frame))
        assert [p.body for p in parts(events)] == [j]


def test_wrong_content_length_falls_back_to_scanning() -> None:
    j = dlink_jpeg(1)
    for cl in (len(j) - 10, len(j) + 3, len(j) + 100_000, 0):
        data = b"--b\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % cl + j + b"\r\n--b\r\n"
        data += b"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nok\r\n--b\r\n"
        events = every_split_same("b", data)
        assert [p.body for p in parts(events)] == [j, b"ok"], cl


def test_jpeg_without_soi_eoi_is_dropped_not_emitted() -> None:
    bad = b"\xff\xd8 not ending properly"
    data = b"--b\r\nContent-Type: image/jpeg\r\n\r\n" + bad + b"\r\n--b\r\n"
    data += b"Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(bad) + bad + b"\r\n--b\r\n"
    events = every_split_same("b", data)
    assert [type(e) for e in events] == [PartDropped, PartDropped]
    assert all(isinstance(e, PartDropped) and "SOI/EOI" in e.reason for e in events)


def test_oversize_part_dropped_and_resynchronised() -> None:
    big = b"x" * 5000
    data = b"--b\r\nContent-Type: text/plain\r\n\r\n" + big + b"\r\n--b\r\n"
    data += b"Content-Type: text/plain\r\nContent-Length: 6000\r\n\r\n" + big + b"\r\n--b\r\n"
    data += b"Content-Type: text/plain\r\n\r\nsmall\r\n--b\r\n"
    whole = run("b", [data], max_part_size=1000)
    assert [type(e) for e in whole] == [PartDropped, PartDropped, Part]
    # size: every byte from the part's headers up to its delimiter line (the CRLF before it included)
    hdr = len(b"Content-Type: text/plain\r\n\r\n")
    assert whole[0] == PartDropped("part larger than max_part_size", hdr + 5000 + 2)
    assert parts(whole)[0].body == b"small"
    for size in (1, 7, 100, 999, 4096):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        assert run("b", chunks, max_part_size=1000) == whole


def test_memory_is_bounded_on_an_endless_part() -> None:
    r = MultipartReader("b", max_part_size=10_000)
    r.feed(b"--b\r\nContent-Type: image/jpeg\r\n\r\n")
    for _ in range(200):
        r.feed(b"\xff" * 4096)
        assert len(r._buf) < 10_000 + 2 * 4096
    events = r.feed(b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nok\r\n--b\r\n")
    assert isinstance(events[0], PartDropped) and events[0].size > 200 * 4096
    assert parts(events)[0].body == b"ok"


def test_garbage_only_and_empty_streams() -> None:
    assert run("b", [b""]) == []
    assert run("b", [b"\r\n\r\n"]) == []
    assert run("b", [b"no boundary here\r\n"]) == [PartDropped("garbage before the first boundary", 18)]
    assert run(None, [b"\x00\x01binary"]) == [PartDropped("garbage before the first boundary", 8)]
    assert run("b", [b"--b\r\n"]) == []
    assert run("b", [b"--b\r\nContent-Type: text/plain\r\n"]) == [Truncated(26)]


def test_feed_after_close_raises_protocol_error() -> None:
    r = MultipartReader("b")
    r.close()
    with pytest.raises(ProtocolError):
        r.feed(b"--b\r\n")
    assert r.close() == []


def test_feed_accepts_bytearray_and_memoryview_without_keeping_them() -> None:
    j = dlink_jpeg(3)
    data = b"--b\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(j) + j
    r = MultipartReader("b")
    buf = bytearray(data)
    assert r.feed(buf) == []
    buf[:] = b"\x00" * len(buf)  # the caller reuses its buffer
    assert r.feed(memoryview(b"\r\n--b\r\n")) == [
        Part({"content-type": "image/jpeg", "content-length": "54"}, j)
    ]


def test_normalize_boundary() -> None:
    assert normalize_boundary("--myboundary") == b"myboundary"
    assert normalize_boundary('"--my boundary"') == b"my boundary"
    assert normalize_boundary("--video boundary--") == b"video boundary"
    assert normalize_boundary("----") is None


def test_blank_lines_between_delimiter_and_headers() -> None:
    """Extra CRLFs after each delimiter (the documents' layout, bent): the headers stay headers."""
    jpeg = SOI + b"frame" + EOI
    part = b"Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg) + jpeg
    text = b"Content-Type: text/plain\r\n\r\ngroup=0;level=1;threshold=2;\r\n"
    data = b"--b\r\n--b\r\n\r\n\r\n" + part + b"\r\n--b\r\n--b\r\n\r\n\r\n" + text + b"\r\n--b\r\n\r\n" + part
    got = parts(every_split_same("b", data))
    assert [p.headers.get("content-type") for p in got] == ["image/jpeg", "text/plain", "image/jpeg"]
    assert got[0].body == jpeg and got[2].body == jpeg
    assert got[1].body.startswith(b"group=0;")


def test_near_miss_delimiters_inside_a_body_are_body() -> None:
    """A body full of near misses (the boundary without a line start, with a wrong tail, after 17
    dashes; lines that look like a boundary to learn) is one part, byte for byte, however cut."""
    misses = (
        b"myboundary--myboundary\n--myboundaryX\n-----------------myboundary\n"
        b'--"\n---\n--myboundary' + b"-" * 70 + b"\n"
    ) * 500
    stream = b"--myboundary\r\nContent-Type: text/plain\r\n\r\n" + misses + b"\r\n--myboundary\r\n"
    for boundary in ("myboundary", None):
        for size in (1, 7, 4096, len(stream)):
            r = MultipartReader(boundary)
            events = [e for i in range(0, len(stream), size) for e in r.feed(stream[i : i + size])]
            events += r.close()
            assert [e.body for e in events if isinstance(e, Part)] == [misses], (boundary, size)
