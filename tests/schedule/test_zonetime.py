"""The zone timelines agree with zoneinfo: offsets at many instants and every change found."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from recorderd.schedule.zonetime import US, ZoneTimeline

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC")


@pytest.mark.parametrize("name", ZONES)
def test_offsets_and_transitions_match_zoneinfo(name: str) -> None:
    zone = ZoneInfo(name)
    tl = ZoneTimeline(zone)
    rng = random.Random(name)
    lo = int(datetime(1960, 1, 1, tzinfo=UTC).timestamp())
    hi = int(datetime(2045, 1, 1, tzinfo=UTC).timestamp())
    for _ in range(3000):
        sec = rng.randrange(lo, hi)
        want = datetime.fromtimestamp(sec, zone).utcoffset()
        assert want is not None and tl.offset_s(sec * US + rng.randrange(US)) == want.total_seconds()
    # walk the changes from 1980 to 2030 and check each against zoneinfo at the second around it
    t0 = t = int(datetime(1980, 1, 1, tzinfo=UTC).timestamp()) * US
    end = int(datetime(2030, 1, 1, tzinfo=UTC).timestamp()) * US
    found = 0
    while (nxt := tl.next_transition(t, end)) is not None:
        s = nxt // US
        before = datetime.fromtimestamp(s - 1, zone).utcoffset()
        after = datetime.fromtimestamp(s, zone).utcoffset()
        assert before != after, datetime.fromtimestamp(s, zone)
        assert tl.prev_transition(t, nxt + US // 2) == nxt
        assert tl.prev_transition(nxt + 1, nxt + 10 * US) is None
        t = nxt
        found += 1
    # an independent count: step 3 hours with zoneinfo
    scanned = 0
    sec, prev = t0 // US, datetime.fromtimestamp(t0 // US, zone).utcoffset()
    while sec < end // US:
        sec += 3 * 3600
        off = datetime.fromtimestamp(sec, zone).utcoffset()
        scanned += off != prev
        prev = off
    assert found == scanned
    assert found >= {"UTC": 0, "Asia/Kathmandu": 1}.get(name, 98)
