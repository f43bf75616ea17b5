"""The incident state machine, fed explicit times: debounce, hold-off, merging, gates, timeouts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorderd.cameras.incident import (
    ArmingChanged,
    Closed,
    IncidentMachine,
    Joined,
    Opened,
    Output,
)
from recorderd.core.events import Override


def starts(out: list[Output]) -> list[Opened]:
    return [o for o in out if isinstance(o, Opened)]


def ends(out: list[Output]) -> list[Closed]:
    return [o for o in out if isinstance(o, Closed)]


def test_single_trigger_start_and_end() -> None:
    m = IncidentMachine()
    assert m.trigger(10.0, "motion", True) == [Opened(1, "motion", 10.0)]
    assert m.trigger(11.0, "motion", True) == []  # repeats are harmless
    assert m.trigger(15.0, "motion", False) == [Closed(1, 15.0, "ended", ("motion",))]
    assert m.trigger(16.0, "motion", False) == []
    assert not m.incident_open


def test_overlapping_triggers_merge_into_one_incident() -> None:
    m = IncidentMachine()
    out = m.trigger(1.0, "motion", True)
    out += m.trigger(2.0, "input:1", True)
    out += m.trigger(3.0, "motion", False)
    out += m.trigger(4.0, "motion", True)  # back on while input:1 holds the incident open
    out += m.trigger(5.0, "input:1", False)
    out += m.trigger(6.0, "motion", False)
    assert out == [
        Opened(1, "motion", 1.0),
        Joined(1, "input:1", 2.0),
        Closed(1, 6.0, "ended", ("motion", "input:1")),
    ]


def test_min_on_debounce_drops_short_blips_and_dates_the_start_at_the_edge() -> None:
    m = IncidentMachine(min_on=2.0)
    assert m.trigger(1.0, "motion", True) == []
    assert m.next_deadline() == 3.0
    assert m.trigger(2.5, "motion", False) == []  # a blip: never an incident
    assert m.next_deadline() is None
    assert m.trigger(10.0, "motion", True) == []
    assert m.advance(11.9) == []
    assert m.advance(12.5) == [Opened(1, "motion", 10.0)]
    assert m.trigger(20.0, "motion", False) == [Closed(1, 20.0, "ended", ("motion",))]


def test_debouncing_trigger_joins_when_another_confirms() -> None:
    m = IncidentMachine(min_on=2.0)
    m.trigger(1.0, "motion", True)
    m.trigger(2.0, "input:1", True)
    out = m.advance(3.0)
    assert out == [Opened(1, "motion", 1.0), Joined(1, "input:1", 3.0)]
    assert m.trigger(4.0, "motion", False) == []
    assert ends(m.trigger(5.0, "input:1", False)) == [Closed(1, 5.0, "ended", ("motion", "input:1"))]


def test_input_advances_timers_first_in_time_order() -> None:
    m = IncidentMachine(min_on=1.0, alarm_timeout=5.0)
    m.trigger(0.0, "motion", True)
    out = m.trigger(100.0, "input:1", True)  # confirm at 1, timeout at 5, then the new start
    assert out == [
        Opened(1, "motion", 0.0),
        Closed(1, 5.0, "timeout", ("motion",)),
    ]
    assert m.next_deadline() == 101.0


def test_hold_off_ignores_starts_until_the_trigger_goes_off() -> None:
    m = IncidentMachine(hold_off=10.0)
    m.trigger(0.0, "motion", True)
    m.trigger(1.0, "motion", False)
    assert m.trigger(5.0, "motion", True) == []  # in hold-off: latched
    assert m.trigger(20.0, "motion", True) == []  # still the same latched "on"
    assert m.trigger(21.0, "motion", False) == []  # its end is not an incident end
    assert starts(m.trigger(22.0, "motion", True)) == [Opened(2, "motion", 22.0)]


def test_alarm_timeout_expires_an_alarm_whose_off_never_came() -> None:
    m = IncidentMachine(alarm_timeout=300.0)
    m.trigger(0.0, "input:1", True)
    assert m.next_deadline() == 300.0
    assert m.advance(300.0) == [Closed(1, 300.0, "timeout", ("input:1",))]
    assert m.active("input:1")
    assert m.trigger(400.0, "input:1", True) == []  # still on: latched, no new incident
    assert m.trigger(500.0, "input:1", False) == []
    assert starts(m.trigger(600.0, "input:1", True)) == [Opened(2, "input:1", 600.0)]


def test_timeout_of_one_member_keeps_the_incident_while_another_counts() -> None:
    m = IncidentMachine(alarm_timeout=10.0)
    m.trigger(0.0, "a", True)
    m.trigger(5.0, "b", True)
    assert m.advance(10.0) == []  # a expired, b still counts
    assert m.advance(15.0) == [Closed(1, 15.0, "timeout", ("a", "b"))]


def test_disarmed_by_schedule_no_incident_and_arming_never_fires() -> None:
    m = IncidentMachine(schedule_armed=False)
    assert not m.armed
    assert m.trigger(1.0, "motion", True) == []
    assert m.set_schedule(2.0, True) == [ArmingChanged(True, 2.0)]
    assert m.trigger(3.0, "motion", True) == []  # still the latched "on"
    assert m.trigger(4.0, "motion", False) == []
    assert starts(m.trigger(5.0, "motion", True)) == [Opened(1, "motion", 5.0)]


def test_disarm_ends_the_open_incident() -> None:
    m = IncidentMachine()
    m.trigger(1.0, "motion", True)
    assert m.set_schedule(2.0, False) == [
        ArmingChanged(False, 2.0),
        Closed(1, 2.0, "disarmed", ("motion",)),
    ]
    assert m.trigger(3.0, "motion", False) == []


def test_disarm_cancels_a_debouncing_start() -> None:
    m = IncidentMachine(min_on=5.0)
    m.trigger(1.0, "motion", True)
    m.set_schedule(2.0, False)
    assert m.next_deadline() is None
    m.set_schedule(3.0, True)
    assert m.advance(100.0) == []


def test_override_beats_schedule_and_privacy_beats_override() -> None:
    m = IncidentMachine(schedule_armed=False)
    assert m.set_override(1.0, Override.ON) == [ArmingChanged(True, 1.0)]
    assert starts(m.trigger(2.0, "motion", True)) == [Opened(1, "motion", 2.0)]
    out = m.set_privacy(3.0, True)
    assert out == [ArmingChanged(False, 3.0), Closed(1, 3.0, "privacy", ("motion",))]
    m.trigger(4.0, "motion", False)
    assert m.trigger(5.0, "motion", True) == []
    assert m.set_privacy(6.0, False) == [ArmingChanged(True, 6.0)]
    m.trigger(7.0, "motion", False)
    assert m.set_override(8.0, Override.OFF) == [ArmingChanged(False, 8.0)]
    assert m.trigger(9.0, "motion", True) == []
    m.trigger(9.5, "motion", False)
    assert m.set_override(10.0, Override.AUTO) == []  # schedule is off: still disarmed
    assert m.set_schedule(11.0, True) == [ArmingChanged(True, 11.0)]


def test_override_off_ends_incident_as_disarmed() -> None:
    m = IncidentMachine()
    m.trigger(1.0, "motion", True)
    assert ends(m.set_override(2.0, Override.OFF)) == [Closed(1, 2.0, "disarmed", ("motion",))]


def test_resync_never_starts_but_ends() -> None:
    m = IncidentMachine()
    assert m.trigger(1.0, "input:1", True, resync=True) == []  # on at connect: a baseline
    assert m.trigger(2.0, "input:1", False) == []
    m.trigger(3.0, "input:1", True)
    assert m.trigger(4.0, "input:1", True, resync=True) == []  # reconnected, still on: continues
    assert m.incident_open
    assert ends(m.trigger(5.0, "input:1", False, resync=True)) == [Closed(1, 5.0, "ended", ("input:1",))]


def test_close_ends_open_incident() -> None:
    m = IncidentMachine()
    m.trigger(1.0, "motion", True)
    assert m.close(2.0) == [Closed(1, 2.0, "stopped", ("motion",))]
    assert m.close(3.0) == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("ON", Override.ON),
        ("off", Override.OFF),
        ("Auto", Override.AUTO),
        ("true", Override.ON),
        ("0", Override.OFF),
    ],
)
def test_override_parse(text: str, want: Override) -> None:
    assert Override.parse(text) == want


def test_override_parse_rejects() -> None:
    with pytest.raises(ValueError, match="expected on, off or auto"):
        Override.parse("maybe")


# -- properties over random input sequences ---------------------------------------------------

_TRIGGERS = ("motion", "input:1", "input:2")
_step = st.one_of(
    st.tuples(st.just("t"), st.sampled_from(_TRIGGERS), st.booleans(), st.booleans()),
    st.tuples(st.just("s"), st.booleans()),
    st.tuples(st.just("p"), st.booleans()),
    st.tuples(st.just("o"), st.sampled_from(list(Override))),
    st.tuples(st.just("a")),
)


@settings(max_examples=400, deadline=None)
@given(
    steps=st.lists(st.tuples(st.floats(0.0, 5.0), _step), max_size=60),
    min_on=st.sampled_from([0.0, 0.5, 2.0]),
    hold_off=st.sampled_from([0.0, 1.0, 3.0]),
    alarm_timeout=st.sampled_from([1.0, 4.0, 300.0]),
)
def test_properties(
    steps: list[tuple[float, tuple[object, ...]]], min_on: float, hold_off: float, alarm_timeout: float
) -> None:
    m = IncidentMachine(min_on=min_on, hold_off=hold_off, alarm_timeout=alarm_timeout)
    now = 0.0
    out: list[Output] = []
    for dt, step in steps:
        now += dt
        kind = step[0]
        if kind == "t":
            _, name, on, resync = step
            assert isinstance(name, str) and isinstance(on, bool) and isinstance(resync, bool)
            got = m.advance(now)  # timers first, so what follows is this sample's own doing
            armed = m.armed
            mine = m.trigger(now, name, on, resync=resync)
            got += mine
            if resync or not armed or not on:
                # a resync sample, a start while disarmed or an "off" never starts or joins anything
                assert not [o for o in mine if isinstance(o, Opened | Joined)]
        elif kind == "s":
            got = m.set_schedule(now, bool(step[1]))
        elif kind == "p":
            got = m.set_privacy(now, bool(step[1]))
        elif kind == "o":
            assert isinstance(step[1], Override)
            got = m.set_override(now, step[1])
        else:
            got = m.advance(now)
        out += got
    out += m.close(now + 10_000)
    # incidents alternate start ... end, numbered 1, 2, 3 ..., with times that never go back
    open_n: int | None = None
    last_end = float("-inf")
    n = 0
    for o in out:
        if isinstance(o, Opened):
            assert open_n is None
            n += 1
            assert o.number == n
            assert o.at >= last_end + hold_off - 1e-9
            open_n = o.number
            start = o.at
        elif isinstance(o, Joined):
            assert open_n == o.number
        elif isinstance(o, Closed):
            assert open_n == o.number
            assert o.at >= start
            assert o.triggers and len(set(o.triggers)) == len(o.triggers)
            open_n = None
            last_end = o.at
    assert open_n is None
    assert m.next_deadline() is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 5.0), st.sampled_from(_TRIGGERS), st.booleans()), max_size=40))
def test_never_an_incident_while_disarmed(steps: list[tuple[float, str, bool]]) -> None:
    m = IncidentMachine(schedule_armed=False)
    now = 0.0
    for dt, name, on in steps:
        now += dt
        assert m.trigger(now, name, on) == []
    assert m.advance(now + 1e6) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 5.0), st.sampled_from(_TRIGGERS), st.booleans()), max_size=40))
def test_resync_samples_alone_never_start(steps: list[tuple[float, str, bool]]) -> None:
    m = IncidentMachine()
    now = 0.0
    for dt, name, on in steps:
        now += dt
        assert starts(m.trigger(now, name, on, resync=True)) == []


def test_forced_trigger_counts_while_disarmed_but_not_in_privacy() -> None:
    m = IncidentMachine(schedule_armed=False, min_on=5.0)
    assert m.trigger(1.0, "manual", True, force=True) == [Opened(1, "manual", 1.0)]
    assert ends(m.trigger(2.0, "manual", False)) == [Closed(1, 2.0, "ended", ("manual",))]
    m.set_privacy(3.0, True)
    assert m.trigger(4.0, "manual", True, force=True) == []


def test_min_off_merges_chatter_and_dates_the_end_at_the_edge() -> None:
    m = IncidentMachine(min_off=2.0)
    out = m.trigger(1.0, "motion", True)
    for t in range(1, 50):  # on/off every 0.5 s: one incident
        out += m.trigger(1.0 + t * 0.5, "motion", t % 2 == 0)
    assert starts(out) == [Opened(1, "motion", 1.0)] and ends(out) == []
    assert not m.active("motion") and m.incident_open  # off, but its incident holds for min_off
    assert m.advance(27.4) == []
    assert m.advance(27.5) == [Closed(1, 25.5, "ended", ("motion",))]


def test_a_storm_becomes_one_flapping_incident_that_ends_when_calm() -> None:
    m = IncidentMachine(max_incidents=3, incident_window=60.0, flap_calm=30.0)
    out: list[Output] = []
    t = 0.0
    for _ in range(10_000):  # 1000 flips a second
        out += m.trigger(t, "motion", True)
        out += m.trigger(t + 0.0005, "motion", False)
        t += 0.001
    opened = starts(out)
    assert [o.flapping for o in opened] == [False, False, False, True]
    assert len(ends(out)) == 3 and m.flapping and m.incident_open
    assert m.next_deadline() == pytest.approx(t - 0.001 + 30.0)
    out = m.advance(t + 29.0)
    assert out == []
    out = m.trigger(t + 29.5, "motion", True)  # the storm goes on: no new incident, calm restarts
    out += m.trigger(t + 29.6, "motion", False)
    assert out == [] and m.advance(t + 59.0) == []
    (closed,) = m.advance(t + 60.0)
    assert isinstance(closed, Closed) and closed.flapping and closed.at == pytest.approx(t + 29.6)
    assert not m.flapping
    # an hour later the camera is quiet again: a normal incident
    assert starts(m.trigger(t + 3600, "motion", True)) == [Opened(5, "motion", t + 3600)]


def test_forced_flapping_coalesces() -> None:
    m = IncidentMachine(flap_calm=5.0)
    m.force_flapping = True
    assert m.trigger(0.0, "motion", True) == [Opened(1, "motion", 0.0, True)]
    assert m.trigger(1.0, "motion", False) == []
    assert m.trigger(2.0, "input:1", True) == [Joined(1, "input:1", 2.0)]
    assert m.trigger(3.0, "input:1", False) == []
    assert m.advance(8.0) == [Closed(1, 3.0, "ended", ("motion", "input:1"), True)]
