"""Edge detection: repeated samples become start/end transitions, never two starts in a row."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from recorderd.protocol.dialects import openapi
from recorderd.protocol.events import Edge, EdgeDetector
from recorderd.protocol.events import TriggerSample as S


def test_repeated_levels_give_one_start_and_one_end() -> None:
    d = EdgeDetector()
    parts = [
        "group=0;level=28;threshold=45;",
        "group=0;level=54;threshold=45;",
        "group=0;level=60;threshold=45;",
        "group=0;level=49;threshold=45;",
        "group=0;level=45;threshold=45;",
        "group=0;level=10;threshold=45;",
    ]
    edges = [e for p in parts for e in d.update(openapi.parse_motion(p))]
    assert edges == [
        Edge("motion:0", True, 54, 45),
        Edge("motion", True, 54, 45),
        Edge("motion:0", False, 45, 45),
        Edge("motion", False, 45, 45),
    ]


def test_first_sample_active_starts_inactive_is_silent() -> None:
    d = EdgeDetector()
    assert d.update([S("input:1", False)]) == []
    assert d.update([S("motion", True, 9, 1)]) == [Edge("motion", True, 9, 1)]
    assert d.active == frozenset({"motion"})


def test_reconnect_never_fires_by_itself() -> None:
    d = EdgeDetector()
    d.update([S("motion", True), S("input:1", False), S("tamper", True)])
    d.reset()
    assert d.unconfirmed() == frozenset({"motion", "input:1", "tamper"})
    # still active after the reconnect: no second start; still inactive: nothing
    assert d.update([S("motion", True), S("input:1", False)]) == []
    # tamper was not re-reported by the post-connect state query: it ends now
    assert d.end_unconfirmed() == [Edge("tamper", False)]
    assert d.update([S("tamper", True)]) == [Edge("tamper", True)]


def test_trigger_that_ended_during_the_outage_ends_on_first_sample() -> None:
    d = EdgeDetector()
    d.update([S("input:2", True)])
    d.reset()
    assert d.update([S("input:2", False)]) == [Edge("input:2", False)]


def test_end_all() -> None:
    d = EdgeDetector()
    d.update([S("b", True), S("a", True), S("c", False)])
    assert d.end_all() == [Edge("a", False), Edge("b", False)]
    assert d.active == frozenset()
    assert d.update([S("c", False)]) == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["motion", "input:1", "face"]), st.booleans()),
            st.just("reset"),
            st.just("end_unconfirmed"),
        ),
        max_size=60,
    )
)
def test_edges_alternate_per_trigger(ops: list[tuple[str, bool] | str]) -> None:
    d = EdgeDetector()
    edges: list[Edge] = []
    for op in ops:
        if op == "reset":
            d.reset()
        elif op == "end_unconfirmed":
            edges += d.end_unconfirmed()
        else:
            assert isinstance(op, tuple)
            edges += d.update([S(op[0], op[1])])
    for trigger in ("motion", "input:1", "face"):
        states = [e.active for e in edges if e.trigger == trigger]
        assert states == [i % 2 == 0 for i in range(len(states))]  # start, end, start, ...
    assert d.active == {
        t
        for t in ("motion", "input:1", "face")
        if [e for e in edges if e.trigger == t][-1:] == [Edge(t, True)]
    }
