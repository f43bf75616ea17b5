"""The recording state machine, without I/O: clips, the ring buffer, max, privacy, continuous cuts."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from recorderd.recording.frames import ClipEnd, ClipStart, Frame, Privacy
from recorderd.recording.machine import Action, Close, Join, Open, RecordMachine, Write

WALL0 = 1_750_000_000.0  # epoch seconds at mono 0 (a multiple of 60 plus 40)


class Files:
    """Carries out a machine's actions on lists instead of files."""

    def __init__(self) -> None:
        self.files: list[list[Frame]] = []
        self.meta: list[Open] = []
        self.joins: list[list[str]] = []
        self.closes: list[str] = []
        self.open = False

    def apply(self, actions: list[Action]) -> None:
        for a in actions:
            if isinstance(a, Open):
                assert not self.open
                self.open = True
                self.files.append([])
                self.meta.append(a)
                self.joins.append([])
                assert a.first.kind == "video"
            elif isinstance(a, Write):
                assert self.open
                self.files[-1].append(a.frame)
            elif isinstance(a, Close):
                assert self.open
                self.open = False
                self.closes.append(a.why)
            elif isinstance(a, Join):
                assert self.open
                self.joins[-1].append(a.incident)


def vframe(t: float, n: int = 100) -> Frame:
    return Frame(b"v%.3f" % t + bytes(n), "video", t, WALL0 + t)


def aframe(t: float) -> Frame:
    return Frame(b"a%.3f" % t, "audio", t, WALL0 + t)


def run_event(
    m: RecordMachine, until: float, events: dict[float, list[object]], fps: int = 10
) -> tuple[Files, list[Frame]]:
    out, fed = Files(), []
    for i in range(int(until * fps)):
        t = i / fps
        for ev in events.get(round(t, 3), []):
            if isinstance(ev, ClipStart):
                out.apply(m.incident_start(ev))
            elif isinstance(ev, ClipEnd):
                out.apply(m.incident_end(ev))
            elif isinstance(ev, Privacy):
                out.apply(m.privacy(ev))
        f = vframe(t)
        fed.append(f)
        out.apply(m.frame(f))
    return out, fed


def start(iid: str, t: float, trigger: str = "motion") -> ClipStart:
    return ClipStart(iid, trigger, t, WALL0 + t)


def end(iid: str, t: float) -> ClipEnd:
    return ClipEnd(iid, t, WALL0 + t)


def test_pre_incident_post() -> None:
    m = RecordMachine("event", pre=5, post=10)
    out, fed = run_event(m, 40, {10.0: [start("a", 10)], 15.0: [end("a", 15)]})
    (clip,) = out.files
    assert clip[0].mono == 5.0 and clip[-1].mono == 25.0  # at least pre before, post after
    assert clip == [f for f in fed if 5.0 <= f.mono <= 25.0]
    assert out.meta[0].reason == "motion" and out.meta[0].incident == "a" and out.closes == ["post"]


def test_late_announced_incident_still_gets_full_pre() -> None:
    # debounce: the start (at 10) is announced at 11.5; the ring keeps pre + lead seconds
    m = RecordMachine("event", pre=5, post=2)
    out, _ = run_event(m, 30, {11.5: [start("a", 10)], 12.0: [end("a", 12)]})
    assert out.files[0][0].mono == 5.0


def test_incident_in_post_time_extends_the_clip() -> None:
    m = RecordMachine("event", pre=2, post=5)
    events: dict[float, list[object]] = {
        10.0: [start("a", 10)],
        12.0: [end("a", 12)],
        15.0: [start("b", 15, "input:1")],
        16.0: [end("b", 16)],
    }
    out, _ = run_event(m, 40, events)
    (clip,) = out.files
    assert clip[0].mono == 8.0 and clip[-1].mono == 21.0
    assert out.joins == [["b"]]


def test_two_clips_share_no_frame() -> None:
    m = RecordMachine("event", pre=5, post=3)
    events: dict[float, list[object]] = {
        10.0: [start("a", 10)],
        11.0: [end("a", 11)],
        16.0: [start("b", 16)],
        17.0: [end("b", 17)],
    }
    out, _ = run_event(m, 30, events)
    first, second = out.files
    assert first[-1].mono == 14.0 and second[0].mono == 14.1  # the ring holds only what was not written
    assert second[-1].mono == 20.0


def test_max_cuts_into_follow_on_files_without_loss() -> None:
    m = RecordMachine("event", pre=5, post=5, max=20)
    out, fed = run_event(m, 70, {10.0: [start("a", 10)], 50.0: [end("a", 50)]})
    assert [len(f) for f in out.files] == [200, 200, 101]
    assert out.closes == ["max", "max", "post"]
    assert [f for clip in out.files for f in clip] == [f for f in fed if 5.0 <= f.mono <= 55.0]
    assert {o.incident for o in out.meta} == {"a"}


def test_max_reached_in_post_time_ends_the_clip() -> None:
    m = RecordMachine("event", pre=5, post=30, max=20)
    out, _ = run_event(m, 70, {10.0: [start("a", 10)], 12.0: [end("a", 12)]})
    assert [len(f) for f in out.files] == [200] and out.closes == ["max"]


def test_ring_bounded_by_bytes() -> None:
    m = RecordMachine("event", pre=5, pre_bytes=1000)
    for i in range(100):
        m.frame(vframe(i / 10, n=200))
        assert m.ring_bytes <= 1000
    assert len(m.ring) == 4


def test_privacy_closes_and_suppresses() -> None:
    m = RecordMachine("event", pre=5, post=5)
    events: dict[float, list[object]] = {
        10.0: [start("a", 10)],
        12.0: [Privacy(True, 12, WALL0 + 12)],
        13.0: [start("ignored", 13)],
        20.0: [Privacy(False, 20, WALL0 + 20)],
        25.0: [end("a", 25)],
    }
    out, _ = run_event(m, 40, events)
    first, second = out.files
    assert first[-1].mono == 11.9 and out.closes == ["privacy", "post"]
    assert second[0].mono == 20.0 and second[-1].mono == 30.0  # still active after privacy: recorded again
    assert out.meta[1].incident == "a"


def test_leading_audio_dropped_file_starts_with_video() -> None:
    m = RecordMachine("event", pre=1, post=1)
    for f in (aframe(0.95), vframe(1.0), aframe(1.01)):
        m.frame(f)
    out = Files()
    out.apply(m.incident_start(start("a", 1.5)))
    assert [f.kind for f in out.files[0]] == ["video", "audio"] and m.dropped_audio == 1
    m2 = RecordMachine("event", pre=1, post=1)
    m2.frame(aframe(0.5))
    m2.frame(vframe(0.6))
    out2 = Files()
    out2.apply(m2.incident_start(start("a", 0.7)))
    assert m2.dropped_audio == 1


def test_ticks_close_when_frames_stop() -> None:
    m = RecordMachine("event", pre=1, post=2, grace=0.5)
    out = Files()
    m.frame(vframe(0.0))
    out.apply(m.incident_start(start("a", 0.1)))
    out.apply(m.incident_end(end("a", 0.2)))
    out.apply(m.tick(2.5, WALL0 + 2.5))
    assert out.open
    out.apply(m.tick(2.8, WALL0 + 2.8))
    assert not out.open and out.closes == ["post"] and m.clip is None
    c = RecordMachine("continuous", segment=60, grace=1)
    c.frame(vframe(0.0))  # wall 40 past a minute: the segment ends at mono 20
    assert c.tick(20.5, WALL0 + 20.5) == []
    assert c.tick(21.0, WALL0 + 21.0) == [Close("segment")]


def test_continuous_five_segments_no_gap_no_overlap() -> None:
    m = RecordMachine("continuous", segment=60, zone=ZoneInfo("Europe/Berlin"))
    out, fed = Files(), []
    t = 0.0
    while t < 300.0:  # 25 fps with an audio block every 30 ms, interleaved
        fed.append(vframe(t))
        out.apply(m.frame(fed[-1]))
        for k in range(1, 4):
            if (a := t + k * 0.0133) < t + 0.04:
                fed.append(aframe(a))
                out.apply(m.frame(fed[-1]))
        t = round(t + 0.04, 6)
    out.apply(m.shutdown())
    assert len(out.files) == 6  # 20 s + 4 x 60 s + 40 s (mono 0 is 40 s past the minute)
    assert [f for file in out.files for f in file] == fed
    for file in out.files:
        videos = [f for f in file if f.kind == "video"]
        start_, end_ = m.segment_bounds(videos[0].wall)
        assert all(start_ <= f.wall < end_ for f in videos) and start_ % 60 == 0
    assert sum(1 for file in out.files for f in file if f.kind == "video") == 7500


def test_segments_follow_local_time() -> None:
    m = RecordMachine("continuous", segment=3600, zone=ZoneInfo("Asia/Kolkata"))  # UTC+05:30
    s, e = m.segment_bounds(WALL0)
    assert (s + 5.5 * 3600) % 3600 == 0 and e - s == 3600 and s <= WALL0 < e


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["v", "a", "start", "end", "priv", "tick"]),
            st.floats(0.0, 3.0),
            st.integers(0, 3),
        ),
        max_size=200,
    ),
    st.sampled_from(["event", "continuous"]),
)
def test_every_frame_at_most_once_in_order(steps: list[tuple[str, float, int]], mode: str) -> None:
    m = RecordMachine(mode, pre=1, post=2, max=5, segment=4)  # type: ignore[arg-type]
    out, fed, t = Files(), [], 0.0
    for kind, dt, k in steps:
        t += dt
        if kind == "v" or kind == "a":
            f = vframe(t) if kind == "v" else aframe(t)
            fed.append(f)
            fast = m.only_writes(f)  # the recorder's shortcut says exactly what frame() does
            acts = m.frame(f)
            assert fast == (acts == [Write(f)]), (fast, acts)
            out.apply(acts)
        elif kind == "start":
            out.apply(m.incident_start(start(str(k), t - dt / 2)))
        elif kind == "end":
            out.apply(m.incident_end(end(str(k), t)))
        elif kind == "priv":
            out.apply(m.privacy(Privacy(k % 2 == 0, t, WALL0 + t)))
        else:
            out.apply(m.tick(t, WALL0 + t))
    out.apply(m.shutdown())
    written = [f for file in out.files for f in file]
    assert len({id(f) for f in written}) == len(written)
    pos = {id(f): i for i, f in enumerate(fed)}
    assert [pos[id(f)] for f in written] == sorted(pos[id(f)] for f in written)
    assert not out.open
