"""Property tests: any chunking gives the same events; generated streams give back their parts."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorderd.protocol.multipart import Part, PartDropped, Truncated, parse_boundary
from tests.support.protocol_streams import Built, chunked, run, streams

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(streams(), st.lists(st.integers(0, 4000), max_size=12), st.booleans())
def test_any_chunking_gives_the_parts_of_the_whole_buffer(b: Built, cuts: list[int], learn: bool) -> None:
    boundary = None if learn else b.declared
    whole = run(boundary, [b.data])
    assert run(boundary, chunked(b.data, cuts)) == whole
    assert run(boundary, [b.data[i : i + 1] for i in range(len(b.data))]) == whole


@SETTINGS
@given(streams(), st.booleans())
def test_generated_streams_give_back_their_parts(b: Built, learn: bool) -> None:
    events = run(None if learn else b.declared, [b.data])
    parts = [e for e in events if isinstance(e, Part)]
    assert [p.body for p in parts] == b.bodies
    assert [p.mime for p in parts] == b.mimes
    dropped = [e for e in events if isinstance(e, PartDropped)]
    assert len(dropped) == (1 if b.junk else 0)
    truncated = [e for e in events if isinstance(e, Truncated)]
    assert len(truncated) == (1 if b.cut else 0)
    if b.cut:
        assert events[-1] == truncated[0]


@SETTINGS
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=8), st.sampled_from(["b", None]))
def test_garbage_any_chunking_same_events(data: bytes, cuts: list[int], boundary: str | None) -> None:
    assert run(boundary, chunked(data, cuts), max_part_size=64) == run(boundary, [data], max_part_size=64)


def test_parse_boundary_variants() -> None:
    assert parse_boundary("multipart/x-mixed-replace;boundary=myboundary") == "myboundary"
    assert parse_boundary("multipart/x-mixed-replace; boundary=--myboundary") == "--myboundary"
    assert parse_boundary('multipart/x-mixed-replace; boundary="my boundary"') == "my boundary"
    assert parse_boundary("multipart/x-mixed-replace;boundary = --video boundary--") == "--video boundary--"
    assert parse_boundary("multipart/x-mixed-replace;\r\n boundary=--ioboundary") == "--ioboundary"
    assert parse_boundary("Multipart/X-Mixed-Replace; BOUNDARY=abc; charset=x") == "abc"
    assert parse_boundary("image/jpeg") is None
    assert parse_boundary("multipart/x-mixed-replace; boundary=") is None
