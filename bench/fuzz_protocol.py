"""Fuzz every protocol parser: nothing raises but ProtocolError, chunking never changes the events,
memory stays bounded.

    python bench/fuzz_protocol.py --runs 1000000            # built-in structure-aware mutator
    python bench/fuzz_protocol.py --engine atheris --runs 1000000   # coverage-guided (pip install atheris)

The built-in engine is deterministic for a given --seed: it mutates a corpus of the dialect documents'
examples and the real captures (bit flips, insertions of protocol tokens, deletions, splices,
truncations). Each input drives the multipart reader (declared or learned boundary, small
max_part_size, whole buffer vs. chunked, buffer bound checked after every feed), both audio readers,
every dialect's text parser, parse_vars and parse_boundary, and the edge detector. A failing input
is written to fuzz-failure-<n>.bin and the script exits 1. tests/protocol runs a short version.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import random
import re
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "fixtures" / "real"

BOUNDARIES: list[str | None] = ["myboundary", "--myboundary", None, "b", "--video boundary--", "ioboundary"]
AUDIO_TYPES = [
    "audio/basic",
    "audio/32KADPCM",
    "audio/G723",
    "multipart/x-mixed-replace; boundary=myboundary",
]
TOKENS = [
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"--myboundary\r\n",
    b"--b\r\n",
    b"--video boundary--\r\n",
    b"Content-Length: ",
    b"Content-Length:37",
    b"Content-Type: image/jpeg\r\n",
    b"Content-Type: text/plain;size=9\r\n",
    b"\xff\xd8",
    b"\xff\xd9",
    b"0",
    b"99999999",
    b"-",
    b"IO0:/",
    b"IO0:\\",
    b"group=0;level=50;threshold=45;",
    b"var x='",
    b"'",
    b'"',
    b";",
    b"=",
    b"root.",
    b"# Error: ",
    b"IO:Status=",
    b"Motion:Enabled=1;Triggered=1;",
    b"Date: 11-17-2016 04:03:05 PM IO_00000000_PT_005_000\r\n",
    b"\x00",
    b"\xe9",
]


def corpus() -> list[bytes]:
    """Small, representative inputs: the documents' examples and cut-down real captures."""
    axis = (REAL / "axis-mjpeg-capture.mjpg").read_bytes()
    small = []
    for m in re.finditer(rb"Content-Length: (\d+)\r\n\r\n", axis[:40000]):
        body = axis[m.end() : m.end() + 120] + b"\xff\xd9"
        small.append(
            b"--myboundary\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
    return [
        b"\r\n".join(small) + b"\r\n--myboundary\r\n",
        b"\r\n\r\n--ioboundary\r\nContent-Type: text/plain\r\n\r\nIO0:/\n\r\n\r\n--ioboundary\r\n"
        b"Content-Type: text/plain\r\n\r\n\r\nIO0:\\\n\r\n--ioboundary\r\n",
        b"--mdb\r\nContent-Type:text/plain\r\n\r\ngroup=0;level=28;threshold=45;\r\n"
        b"group=1;level=43;threshold=25;\r\n--mdb\r\n",
        b"--b\r\nContent-Type: text/plain\r\nContent-Length: 74\r\n\r\n"
        b"Motion:Enabled=1;Level=0;Sensitivity=80;Triggered=0;\r\n\r\nMotion1:Enabled=0;\r\n\r\n--b\r\n"
        b"IO:Status=00000100000000;\r\nT0:Enabled=1;Triggered=1;\r\nFace:Enabled=1;H264_Face=2 0.5_0.4;\r\n",
        b"Content-Length: 6\r\nDate: 11-17-2016 04:03:05 PM IO_01000000_PT_005_000\r\n"
        b"Content-Type: image/jpeg\r\n\r\n\xff\xd8ab\xff\xd9\r\n\r\n--video boundary--\r\n",
        b"--myboundary\r\nContent-Type: audio/32KADPCM\r\n\r\n" + bytes(range(240)) + b"\r\n--myboundary\r\n",
        (REAL / "foscam-netwave-get_params.txt").read_bytes()[:600],
        (REAL / "foscam-netwave-get_status.txt").read_bytes(),
        b"ok.\n",
        b"error: illegal param\r\n",
        (REAL / "axis-p5512-fw5.51.7-param-list.txt").read_bytes()[:700],
        b"Event.E0.Name=MyEvent\n# Error: bad\nroot.Motion.M3.Top=500\ninput1=active\n",
        b"Trigger1= 0&Trigger2= 1&ImageUpload= 0&ImageEmail= 0&CurrentTime= 2008-10-01 15:37:53",
        b'multipart/x-mixed-replace; boundary="--video boundary--"',
    ]


def mutate(rng: random.Random, pool: list[bytes]) -> bytes:
    data = bytearray(rng.choice(pool))
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        pos = rng.randint(0, len(data))
        if op == 0 and data:
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[pos:pos] = rng.choice(TOKENS)
        elif op == 2 and data:
            del data[pos : pos + rng.randint(1, 64)]
        elif op == 3:
            other = rng.choice(pool)
            a = rng.randint(0, len(other))
            data[pos:pos] = other[a : a + rng.randint(1, 400)]
        elif op == 4:
            del data[pos:]
        elif op == 5:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            seg = data[pos : pos + rng.randint(1, 200)]
            data[pos:pos] = seg * rng.randint(1, 3)
    head = bytes(rng.randrange(256) for _ in range(4))
    return head + bytes(data[:6000])


def make_target() -> Callable[[bytes], None]:
    """The per-input check; imports here so atheris can instrument them."""
    from recorderd.protocol import multipart as mp
    from recorderd.protocol.audio import open_audio_reader
    from recorderd.protocol.dialects import foscam, ipcamcgi, move, openapi, paramcgi
    from recorderd.protocol.errors import ProtocolError
    from recorderd.protocol.events import EdgeDetector, TriggerSample

    buffer_cap = max(mp._MAX_HEADERS + mp._MAX_LINE, 0) + 2 * mp._SPLICE

    def events(boundary: str | None, chunks: list[bytes], cap: int) -> list[mp.MultipartEvent]:
        r = mp.MultipartReader(boundary, max_part_size=cap)
        out: list[mp.MultipartEvent] = []
        for c in chunks:
            out += r.feed(c)
            if len(r._buf) > max(cap, buffer_cap) + len(c):
                raise AssertionError(f"buffer {len(r._buf)} exceeds bound for max_part_size {cap}")
        out += r.close()
        for e in out:
            if isinstance(e, mp.Part) and len(e.body) > cap:
                raise AssertionError("part larger than max_part_size emitted")
        return out

    def target(data: bytes) -> None:
        if len(data) < 4:
            return
        mode, capb, seed, atype = data[0], data[1], data[2], data[3]
        body = data[4:]
        boundary = BOUNDARIES[mode % len(BOUNDARIES)]
        cap = 32 + capb * 32
        whole = events(boundary, [body], cap)
        rng = random.Random(seed)
        cuts = sorted({rng.randint(1, max(1, len(body))) for _ in range(seed % 9)})
        chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        if events(boundary, chunks, cap) != whole:
            raise AssertionError("chunking changed the events")
        reader = open_audio_reader(AUDIO_TYPES[atype % len(AUDIO_TYPES)], max_part_size=cap)
        for c in chunks:
            reader.feed(c)
        reader.close()
        mp.parse_boundary(body.decode("latin-1"))
        detector = EdgeDetector()
        samples: list[TriggerSample] = []
        foscam.parse_vars(body)
        for parse in (
            foscam.parse_status,
            openapi.samples,
            lambda b: openapi.parse_io(b, "output"),
            ipcamcgi.samples,
            move.samples,
            paramcgi.samples,
        ):
            with contextlib.suppress(ProtocolError):
                samples += parse(body)
        with contextlib.suppress(ProtocolError):
            foscam.parse_result(body)
        with contextlib.suppress(ProtocolError):
            ipcamcgi.parse_frame_header(body)
        with contextlib.suppress(ProtocolError):
            move.decode_io_status(body.decode("latin-1"))
        paramcgi.parse_param_list(body)
        detector.update(samples)
        detector.reset()
        detector.update(samples[::-1])
        detector.end_unconfirmed()

    return target


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_builtin(runs: int, seed: int, progress: bool) -> int:
    target = make_target()
    rng = random.Random(seed)
    pool = corpus()
    start = time.perf_counter()
    rss_warm = 0.0
    for i in range(1, runs + 1):
        data = mutate(rng, pool)
        try:
            target(data)
        except Exception as exc:
            name = f"fuzz-failure-{i}.bin"
            Path(name).write_bytes(data)
            print(f"FAIL at input {i}: {type(exc).__name__}: {exc} (input saved to {name})", file=sys.stderr)
            raise
        if len(pool) < 400 and rng.random() < 0.002:
            pool.append(data[4:])  # keep some mutants as new seeds
        if i == max(1, runs // 10):
            rss_warm = rss_mib()
        if progress and i % 100_000 == 0:
            el = time.perf_counter() - start
            print(f"{i} inputs, {el:.0f} s, {i / el:.0f}/s, peak RSS {rss_mib():.1f} MiB", flush=True)
    elapsed = time.perf_counter() - start
    print(
        f"fuzz: {runs} inputs in {elapsed:.1f} s ({runs / elapsed:.0f}/s), no failure; "
        f"peak RSS {rss_warm:.1f} MiB after 10%, {rss_mib():.1f} MiB at the end"
    )
    return 0


def run_atheris(runs: int) -> int:
    atheris = importlib.import_module("atheris")  # optional (pip install atheris), coverage-guided

    with atheris.instrument_imports():
        target = make_target()
    seeds = Path(tempfile.mkdtemp(prefix="fuzz-protocol-"))  # libFuzzer adds what it finds here
    for n, c in enumerate(corpus()):
        (seeds / f"seed-{n}").write_bytes(b"\x00\x10\x03\x00" + c)
    atheris.Setup([sys.argv[0], f"-runs={runs}", "-max_len=6000", "-rss_limit_mb=1024", str(seeds)], target)
    atheris.Fuzz()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--engine", choices=["builtin", "atheris"], default="builtin")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.engine == "atheris":
        return run_atheris(args.runs)
    return run_builtin(args.runs, args.seed, not args.quiet)


if __name__ == "__main__":
    sys.exit(main())
