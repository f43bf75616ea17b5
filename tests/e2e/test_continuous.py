"""Issue 7, proof 2: continuous mode over more than 5 segments, simulated camera → real daemon.

The frames in the files are exactly the frames the camera sent on the daemon's video stream, by
sequence number: each once, in order, none missing between two files (the stream is cut at the end
and the daemon stopped only once it has received every whole frame, so the count is exact, first
and last partial segments included). Each file after the first starts with the first frame of its
wall-clock segment; the audio of all files together is one gapless run of what the camera sent.
`recorderd recordings export` over the run gives one file with the same frames and audio.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import trio

from recorderd.core import events as ev
from recorderd.recording.index import Index
from tests.support.daemonharness import toml
from tests.support.e2eharness import E2E, raw_audio, seqs_of
from tests.support.ffprobe import ffprobe, packets
from tests.support.simharness import rig
from tests.support.wait import wait_until

FPS = 5.0
SEGMENT = 2.0
FULL = 5  # whole segments at least (plus the partial first and last)


async def test_continuous_segments_hold_every_frame_once(tmp_path: Path) -> None:
    sims = {"cam": {"dialect": "vapix", "fps": FPS, "audio": "mulaw"}}
    cams = {"cam": {"audio": True, "record": {"mode": "continuous", "segment": f"{SEGMENT:g}s"}}}
    async with rig(tmp_path, sims, cams, **E2E) as r:
        cam = r.sim["cam"]
        assert r.daemon.index is not None and r.daemon.engine is not None
        index, stats = r.daemon.index, r.daemon.engine.cameras["cam"].stats
        await r.watch.next(ev.Connected, connected=True, timeout=20)
        with trio.fail_after(10):
            await cam.wait_until(lambda: bool(cam.open_streams("video")) and bool(cam.open_streams("audio")))
        video, audio = cam.open_streams("video")[0], cam.open_streams("audio")[0]

        def closed_files() -> int:
            return sum(row.complete for row in index.list_recordings("cam"))

        await wait_until(
            lambda: closed_files() >= FULL + 1, (FULL + 2) * SEGMENT + 15, f"{FULL + 1} closed segments", 0.1
        )
        # the end of the run: the camera cuts its streams mid-frame and refuses to reconnect, so
        # what it sent whole is final; stop once the daemon has received all of it
        cam.set_faults(refuse=True, close_after=0)
        with trio.fail_after(5):
            await cam.wait_until(lambda: video.closed is not None and audio.closed is not None)
        await wait_until(lambda: stats.frames == video.parts, 5, "the daemon to receive every frame sent")
        assert [s.id for s in cam.streams if s.kind == "video"] == [video.id], "the daemon reconnected"
        sent = video.seqs
    assert len(sent) == stats.frames

    with Index.open(r.state) as ix:
        rows = ix.list_recordings("cam")
    assert len(rows) >= FULL + 2 and all(row.complete and row.reason == "continuous" for row in rows)
    got: list[int] = []
    coded = b""
    bounds = []
    for row in rows:
        pk = packets(row.path, "v")
        seqs = seqs_of(cam, pk, sent)
        assert row.frames == len(seqs)
        if got:  # no gap, no overlap: this file goes on at the very next frame
            assert seqs[0] == got[-1] + 1, (row.path.name, got[-1], seqs[0])
        got += seqs
        coded += raw_audio(row.path)
        start = row.start.timestamp()
        bounds.append(
            (start, start + pk[-1].pts / 1000, len(seqs), float(ffprobe(row.path)["format"]["duration"]))
        )
    assert got == sent, f"{len(got)} frames in the files, {len(sent)} sent"

    # segments: a cut at each wall-clock multiple of SEGMENT, at the first frame after it
    for (_s0, last0, _n0, _d0), (s1, _l1, _n1, _d1) in pairwise(bounds):
        edge = (s1 // SEGMENT) * SEGMENT
        # with the seqs running on: the first frame after; a file times its frames in whole
        # milliseconds, so a frame that came just before the edge may read up to 1 ms after it
        assert last0 < edge + 0.001 and edge <= s1, (last0, edge, s1)
    for _s, _l, n, d in bounds[1:-1]:  # the whole segments
        assert abs(n - SEGMENT * FPS) <= 1 and abs(d - SEGMENT) < 0.5, (n, d)

    # audio: all files together are one gapless run of the camera's audio
    payload = cam.audio_payload(audio.id)
    assert coded and coded in payload

    # `recorderd recordings export` over the whole run: one file, the same frames and audio
    config, out = tmp_path / "recorderd.toml", tmp_path / "export.mkv"
    config.write_text(toml(r.raw))
    first, last = rows[0].start, rows[-1].end
    assert last is not None
    cmd = ["recordings", "export", "-c", str(config), "--camera", "cam"]
    cmd += ["--from", first.isoformat(), "--to", (last + timedelta(seconds=1)).isoformat(), str(out)]
    done = await trio.run_process([sys.executable, "-m", "recorderd", *cmd], capture_stderr=True, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert seqs_of(cam, packets(out, "v"), sent) == sent
    assert raw_audio(out) == coded
    print(
        f"\n{len(rows)} files ({len(rows) - 2} whole {SEGMENT:g}s segments), {len(got)} frames = "
        f"{len(sent)} sent (seq {sent[0]}..{sent[-1]}), frames per file {[b[2] for b in bounds]}, "
        f"audio {len(coded) / 8000:.2f}s of {len(payload) / 8000:.2f}s sent"
    )
