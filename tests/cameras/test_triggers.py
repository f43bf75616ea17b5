"""Trigger routing from camera names to configured names, with edges and resync marks."""

from __future__ import annotations

from recorderd.cameras.triggers import Change, TriggerMap, matches, wanted


def test_routing() -> None:
    assert matches("motion", "motion:3")
    assert matches("motion:1", "motion:1")
    assert not matches("motion:1", "motion:2")
    assert not matches("motion:1", "motion")
    assert not matches("input:1", "input:10")
    assert wanted(["motion:1", "input:2"], "input")
    assert not wanted(["motion:1"], "input")


def test_any_window_feeds_motion_and_only_changes_come_out() -> None:
    m = TriggerMap(["motion", "motion:1"])
    assert m.sample("motion:0", False) == []
    assert m.sample("motion:0", True) == [Change("motion", True, False)]
    assert m.sample("motion:0", True) == []
    assert m.sample("motion:1", True) == [Change("motion:1", True, False)]  # motion already on
    assert m.sample("motion:0", False) == []
    assert m.sample("motion:1", False, resync=True) == [
        Change("motion", False, True),
        Change("motion:1", False, True),
    ]
    assert not m.is_on("motion")


def test_unconfigured_sources_are_ignored() -> None:
    m = TriggerMap(["input:1"])
    assert m.sample("input:2", True) == []
    assert m.sample("motion:0", True) == []
    assert m.sample("input:1", True) == [Change("input:1", True, False)]
