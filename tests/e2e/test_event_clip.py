"""Issue 7, proof 1: an incident with pre = 5 s and post = 10 s, simulated camera → real daemon.

One file; its first frame was sent at least 5 s before the trigger and its last at least 10 s after
the incident's end; every frame is byte-identical to one the camera sent, none missing or repeated;
ffprobe reads MJPEG video and mu-law audio, with the duration the camera's own clock gives.
"""

from __future__ import annotations

import time
from pathlib import Path

import trio

from recorderd.core import events as ev
from recorderd.recording.index import Index
from recorderd.recording.layout import recordings_root
from tests.support.e2eharness import E2E, mid_interval, raw_audio, seqs_of
from tests.support.ffprobe import ffprobe, packets
from tests.support.simharness import rig
from tests.support.wait import wait_until

FPS = 5.0  # a slow rate keeps the test light; pre/post are the 5 s and 10 s
PRE, POST, HOLD = 5.0, 10.0, 2.0


async def test_event_clip_pre_post_identical_frames_and_audio(tmp_path: Path) -> None:
    sims = {"cam": {"dialect": "vapix", "fps": FPS, "audio": "mulaw"}}
    cams = {
        "cam": {
            "triggers": ["motion"],
            "audio": True,
            "record": {"mode": "event", "pre": f"{PRE:g}s", "post": f"{POST:g}s"},
        }
    }
    async with rig(tmp_path, sims, cams, **E2E) as r:
        cam = r.sim["cam"]
        assert r.daemon.index is not None
        index = r.daemon.index
        await r.watch.next(ev.Connected, connected=True, timeout=20)
        with trio.fail_after(10):
            await cam.wait_until(lambda: bool(cam.open_streams("video")) and bool(cam.open_streams("audio")))
        video, audio = cam.open_streams("video")[0], cam.open_streams("audio")[0]
        # the pre-trigger ring must be able to hold `pre`: let the stream carry pre + 1 s first
        with trio.fail_after(PRE + 10):
            await cam.wait_until(lambda: video.parts >= (PRE + 1) * FPS)
        await mid_interval(cam, FPS)
        on = await cam.set_trigger("motion", True)
        start = await r.watch.next(ev.IncidentEvent, type="start", timeout=5)
        await trio.sleep(HOLD)  # the incident's length, not a wait for something
        await mid_interval(cam, FPS)
        off = await cam.set_trigger("motion", False)
        end = await r.watch.next(ev.IncidentEvent, type="end", timeout=5)
        t_end = time.monotonic()

        def closed() -> bool:
            return any(row.complete for row in index.list_recordings("cam"))

        await wait_until(closed, POST + 15, "the clip to be closed", 0.1)
        closed_after = time.monotonic() - t_end
        assert video.closed is None and audio.closed is None, "a stream was reconnected meanwhile"
        sent = video.seqs  # every frame sent whole on the daemon's video stream so far

    with Index.open(r.state) as ix:
        rows = ix.list_recordings()
        incidents = ix.list_incidents()
    assert [i.id for i in incidents] == [start.id] and incidents[0].end is not None
    assert len(rows) == 1, rows  # one incident, one file
    row = rows[0]
    assert row.complete and row.incident == start.id and row.reason == "motion"
    assert sorted(p.name for p in recordings_root(r.state).rglob("*") if p.is_file()) == [row.path.name]

    # video: byte-identical frames, a run of consecutive frames of the stream (none lost, none twice)
    pk = packets(row.path, "v")
    seqs = seqs_of(cam, pk, sent)
    i = sent.index(seqs[0])
    assert seqs == sent[i : i + len(seqs)], "frames missing, repeated or out of order"
    assert row.frames == len(seqs)
    first, last = cam.frame(seqs[0]), cam.frame(seqs[-1])
    lead = on.mono - first.mono  # on the camera's own clock
    trail = last.mono - off.mono
    assert lead >= PRE, f"first frame only {lead:.3f}s before the trigger"
    assert trail >= POST, f"last frame only {trail:.3f}s after the incident's end"
    assert lead < PRE + 2 / FPS and trail < POST + 2 / FPS  # and not much more than asked

    # timestamps: the file's span is the camera's span (arrival jitter only)
    span = last.mono - first.mono
    file_span = (pk[-1].pts - pk[0].pts) / 1000
    assert pk[0].pts == 0 and abs(file_span - span) < 0.25, (file_span, span)

    # ffprobe: video and audio, the right codecs and duration
    info = ffprobe(row.path)
    streams = {s["codec_type"]: s for s in info["streams"]}
    v, a = streams["video"], streams["audio"]
    assert v["codec_name"] == "mjpeg" and (v["width"], v["height"]) == (160, 120)
    assert int(v["nb_read_packets"]) == len(pk)
    assert a["codec_name"] == "pcm_mulaw" and int(a["sample_rate"]) == 8000 and int(a["channels"]) == 1
    duration = float(info["format"]["duration"])
    assert abs(duration - (span + 1 / FPS)) < 0.3, (duration, span)

    # audio: a gapless run of what the camera sent, as long as the video
    coded = raw_audio(row.path)
    payload = cam.audio_payload(audio.id)
    assert coded and coded in payload
    audio_s = len(coded) / 8000
    assert abs(audio_s - duration) < 0.5, (audio_s, duration)
    print(
        f"\nclip: {len(seqs)} frames (seq {seqs[0]}..{seqs[-1]}), first frame {lead:.3f}s before the "
        f"trigger, last {trail:.3f}s after the end; file {duration:.3f}s, audio {audio_s:.3f}s; "
        f"incident {(end.time - start.time).total_seconds():.3f}s; closed {closed_after:.2f}s after the end"
    )
