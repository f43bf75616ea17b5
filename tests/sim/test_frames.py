"""The frames the simulator sends: real JPEGs, unique per frame, and recoverable byte for byte."""

from __future__ import annotations

import io
import itertools
import re
import statistics

import httpx
import trio
from PIL import Image

from recorderd.sim import SimCameraConfig, SimConfig, Simulator, open_simulator
from recorderd.sim.card import card_frames
from tests.support.simreaders import StreamReader, auth_for, next_part

COM = re.compile(rb"\xff\xfe..recorderd-sim camera=(\S+) seq=(\d+) wall=(\d+\.\d+)", re.S)


def test_card_frames_are_real_jpegs_of_about_22kb() -> None:
    frames = card_frames(640, 480, 100, 60, 10.0)
    sizes = [len(frames.jpeg(i)) for i in range(len(frames))]
    assert 15_000 < statistics.mean(sizes) < 30_000
    assert len(set(frames.heads[i] + frames.tails[i] for i in range(len(frames)))) == 100
    im = Image.open(io.BytesIO(frames.jpeg(7, b"comment")))
    im.load()
    assert im.size == (640, 480) and im.format == "JPEG"


async def test_sent_frames_are_byte_identical_to_frame_bytes(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    cam = sim["vapix"]
    got: list[bytes] = []
    async with (
        client.stream("GET", cam.video_url, auth=auth_for(cam)) as a,
        client.stream("GET", cam.video_url, auth=auth_for(cam)) as b,
    ):
        ra, rb = StreamReader(a), StreamReader(b)
        with trio.fail_after(10):
            for _ in range(12):
                got.append((await next_part(ra, b"--myboundary")).body)
            other = (await next_part(rb, b"--myboundary")).body
    seqs = []
    for jpeg in got:
        m = COM.search(jpeg)
        assert m and m.group(1) == b"vapix"
        seq = int(m.group(2))
        assert jpeg == cam.frame_bytes(seq)
        info = cam.frame(seq)
        assert f"{info.wall:.6f}".encode() == m.group(3)
        seqs.append(seq)
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    video = [s for s in cam.streams if s.kind == "video"]
    assert seqs == video[0].seqs[: len(seqs)] or seqs == video[1].seqs[: len(seqs)]
    m = COM.search(other)
    assert m and other == cam.frame_bytes(int(m.group(2)))  # the other stream: the same bytes per seq
    # 10 fps from one ticker: frames 100 ms apart
    monos = [cam.frame(s).mono for s in seqs]
    gaps = [b - a for a, b in itertools.pairwise(monos)]
    assert 0.08 < statistics.median(gaps) < 0.12
    assert cam.frames_sent >= 13 and set(seqs) <= set(cam.sent_seqs())


async def test_snapshot_is_the_current_frame(sim: Simulator, client: httpx.AsyncClient) -> None:
    cam = sim["openapi"]
    r = await client.get(cam.snapshot_url, auth=auth_for(cam))
    m = COM.search(r.content)
    assert r.headers["content-type"] == "image/jpeg" and m and m.group(1) == b"openapi"
    Image.open(io.BytesIO(r.content)).load()


async def test_many_cameras_share_one_ticker() -> None:
    cfg = SimConfig(
        cameras={
            f"c{i}": SimCameraConfig(dialect="mjpeg", width=160, height=120, frames=5) for i in range(20)
        }
    )
    async with open_simulator(cfg) as sim, httpx.AsyncClient() as client:
        assert len(sim.tickers) == 1 and len(next(iter(sim.tickers.values())).cameras) == 20
        async with client.stream("GET", sim["c7"].video_url) as resp:
            with trio.fail_after(5):
                part = await next_part(StreamReader(resp), b"--myboundary")
        assert Image.open(io.BytesIO(part.body)).size == (160, 120)


def test_seq_runs_and_frame_log_stay_small() -> None:
    from recorderd.sim.logs import FrameLog, SeqRuns

    runs = SeqRuns()
    for q in [*range(5, 1000), *range(1002, 2000)]:
        runs.append(q)
    assert runs.runs() == [(5, 999), (1002, 1999)] and len(runs) == 1993
    assert list(runs)[:3] == [5, 6, 7] and 1000 not in runs and 1500 in runs
    log = FrameLog(1000)
    for q in range(5000):
        log.add(q, q / 10, 1e9 + q / 10)
    assert len(log) <= 1000 and log.get(4999) == (499.9, 1e9 + 499.9)
    import pytest

    with pytest.raises(KeyError):
        log.get(10)
