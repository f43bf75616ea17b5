"""ffmpeg and ffprobe, independent clients, decode the simulated MJPEG streams and the mu-law tone."""

from __future__ import annotations

import json
import math
import shutil
import struct

import pytest
import trio

from recorderd.sim import SimCamera, Simulator

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
DIALECTS = ["ipcamcgi", "openapi", "vapix", "foscam", "move", "mjpeg"]


def ffmpeg_url(cam: SimCamera, url: str) -> str:
    if cam.auth.mode == "query":
        return f"{url}?user={cam.username}&pwd={cam.password}"
    if cam.auth.mode in ("basic", "digest"):  # ffmpeg answers Basic and Digest challenges
        return url.replace("http://", f"http://{cam.username}:{cam.password}@")
    return url


async def run(cmd: list[str], timeout: float = 30) -> bytes:
    with trio.fail_after(timeout):
        done = await trio.run_process(cmd, capture_stdout=True, capture_stderr=True, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return bytes(done.stdout)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_ffmpeg_decodes_the_stream(sim: Simulator, dialect: str) -> None:
    cam = sim[dialect]
    url = ffmpeg_url(cam, cam.video_url)
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-xerror", "-f", "mpjpeg", "-i", url]
    cmd += ["-frames:v", "5", "-f", "framemd5", "-"]
    out = await run(cmd)
    frames = [line for line in out.decode().splitlines() if line and not line.startswith("#")]
    assert len(frames) == 5
    assert len({line.split(",")[-1] for line in frames}) == 5  # five different pictures


async def test_ffprobe_reads_the_stream(sim: Simulator) -> None:
    cam = sim["vapix"]
    cmd = ["ffprobe", "-v", "error", "-f", "mpjpeg", "-show_entries", "stream=codec_name,width,height"]
    cmd += ["-of", "json", ffmpeg_url(cam, cam.video_url)]
    info = json.loads(await run(cmd))
    assert info["streams"][0] == {"codec_name": "mjpeg", "width": 640, "height": 480}


def power(samples: list[int], hz: float, rate: int = 8000) -> float:
    """Goertzel: the signal's power at one frequency."""
    k = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    return s1 * s1 + s2 * s2 - k * s1 * s2


@pytest.mark.parametrize("dialect", ["vapix", "openapi", "mjpeg"])
async def test_ffmpeg_decodes_the_mulaw_tone(sim: Simulator, dialect: str) -> None:
    cam = sim[dialect]
    assert cam.audio_url
    url = ffmpeg_url(cam, cam.audio_url + ("?httptype=singlepart" if dialect != "mjpeg" else ""))
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "mulaw",
        "-ar",
        "8000",
        "-ac",
        "1",
    ]
    cmd += ["-i", url, "-t", "0.5", "-f", "s16le", "-"]
    pcm = await run(cmd)
    samples = list(struct.unpack(f"<{len(pcm) // 2}h", pcm))
    assert len(samples) >= 3900
    tone = power(samples, 1000)
    assert tone > 50 * max(power(samples, f) for f in (300, 700, 1500, 2500))
    rms = math.sqrt(sum(x * x for x in samples) / len(samples))
    assert 0.3 * 32767 / math.sqrt(2) * 0.9 < rms < 0.3 * 32767 / math.sqrt(2) * 1.1


async def test_ffmpeg_decodes_g726_and_payload_is_known() -> None:
    from recorderd.sim import SimCameraConfig, SimConfig, open_simulator

    cfg = SimConfig(cameras={"g": SimCameraConfig(dialect="vapix", auth="none", audio="g726", tone_hz=500)})
    async with open_simulator(cfg) as sim:
        cam = sim["g"]
        assert cam.audio_url
        # VAPIX: audio/32KADPCM is G.726 32 kbit/s; codes packed AAL2 order (ffmpeg: g726)
        cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "g726", "-code_size", "4"]
        cmd += ["-sample_rate", "8000", "-i", cam.audio_url, "-t", "1.5", "-f", "s16le", "-"]
        pcm = await run(cmd)
        samples = list(struct.unpack(f"<{len(pcm) // 2}h", pcm))[800:]  # past the decoder's start-up
        assert len(samples) >= 10000  # over a loop restart (every second)
        assert power(samples, 500) > 1000 * max(power(samples, f) for f in (300, 700, 1500, 2500))
        with trio.fail_after(5):
            await cam.wait_until(lambda: not cam.open_streams("audio"))
        stream = next(s for s in cam.streams if s.kind == "audio")
        assert len(cam.audio_payload(stream.id)) == stream.parts * 240 > 0
