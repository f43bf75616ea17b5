"""Micro-benchmark of the multipart reader: microseconds per ~22 KB JPEG part, MB/s on large parts.

    python bench/bench_protocol.py [--parts 3000] [--repeat 7]

The JPEG is drawn and encoded once with Pillow (quality tuned to land near 22 KB). Streams are fed
in 64 KiB chunks (a typical socket read), one chunk per part (a camera that writes each frame with
one send, boundary at the start of the next), and as one whole buffer. CPU time
(time.process_time) is measured; the best of --repeat runs is printed, since other processes share
the machine. The budget is ~10 us per 22 KB part (50 us CPU per frame end to end for the daemon).
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_jpeg(target: int = 22_000) -> bytes:
    from PIL import Image, ImageDraw

    rng = random.Random(1)
    img = Image.new("RGB", (640, 480), (40, 60, 80))
    draw = ImageDraw.Draw(img)
    for _ in range(130):
        x, y = rng.randrange(600), rng.randrange(440)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x, y, x + rng.randrange(40), y + rng.randrange(40)), fill=colour)
    best = b""
    for quality in range(10, 96, 2):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        data = buf.getvalue()
        if not best or abs(len(data) - target) < abs(len(best) - target):
            best = data
    return best


def part(body: bytes, mime: str = "image/jpeg") -> bytes:
    head = b"--myboundary\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (mime.encode(), len(body))
    return head + body + b"\r\n"


def best_cpu(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    """(best CPU seconds, result) over `repeat` runs."""
    best, result = float("inf"), 0
    for _ in range(repeat):
        t = time.process_time()
        result = fn()
        best = min(best, time.process_time() - t)
    return best, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from recorderd.protocol.multipart import MultipartReader, Part

    jpeg = make_jpeg()
    one = part(jpeg)
    stream = one * args.parts

    def feed(chunks: list[bytes], boundary: str | None = "myboundary") -> Callable[[], int]:
        def run() -> int:
            r = MultipartReader(boundary)
            n = 0
            for c in chunks:
                n += sum(1 for e in r.feed(c) if isinstance(e, Part))
            return n + sum(1 for e in r.close() if isinstance(e, Part))

        return run

    def chunks_of(data: bytes, size: int) -> list[bytes]:
        return [data[i : i + size] for i in range(0, len(data), size)]

    print(f"JPEG part: {len(jpeg)} bytes body, {len(one)} bytes on the wire, {args.parts} parts")
    cases = {
        "64 KiB chunks": chunks_of(stream, 65536),
        "one chunk per part": chunks_of(stream, len(one)),
        "whole buffer": [stream],
    }
    for name, chunks in cases.items():
        secs, n = best_cpu(feed(chunks), args.repeat)
        assert n == args.parts, (name, n)
        print(f"  {name:<22} {secs / n * 1e6:6.2f} us/part  {len(stream) / secs / 1e6:8.0f} MB/s")
    secs, n = best_cpu(feed(cases["64 KiB chunks"], None), args.repeat)
    print(f"  {'learned boundary':<22} {secs / n * 1e6:6.2f} us/part")

    # scanning (no Content-Length, e.g. Mobotix server push)
    scan_part = b"--myboundary\r\nContent-Type: image/jpeg\r\n\r\n" + jpeg + b"\r\n"
    scan_chunks = chunks_of(scan_part * args.parts, 65536)
    secs, n = best_cpu(feed(scan_chunks), args.repeat)
    print(f"  {'no Content-Length':<22} {secs / n * 1e6:6.2f} us/part  (scanning for the boundary)")

    # large parts: throughput
    big = bytes(random.Random(2).getrandbits(8) for _ in range(4 * 1024 * 1024 - 4))
    big_body = b"\xff\xd8" + big.replace(b"\xff\xd9", b"\xff\x00") + b"\xff\xd9"
    big_stream = part(big_body) * 8
    secs, n = best_cpu(feed(chunks_of(big_stream, 65536)), max(3, args.repeat // 2))
    print(f"large parts (4 MiB, 64 KiB chunks): {len(big_stream) / secs / 1e6:.0f} MB/s")
    big_scan = (b"--myboundary\r\nContent-Type: image/jpeg\r\n\r\n" + big_body + b"\r\n") * 8

    def feed_big_scan() -> int:
        r = MultipartReader("myboundary", max_part_size=8 * 1024 * 1024)
        return sum(1 for c in chunks_of(big_scan, 65536) for e in r.feed(c) if isinstance(e, Part))

    secs, n = best_cpu(feed_big_scan, max(3, args.repeat // 2))
    print(f"large parts without Content-Length (scanning): {len(big_scan) / secs / 1e6:.0f} MB/s")
    hostile(args.repeat)
    return 0


def hostile(repeat: int) -> None:
    """A hostile camera's bodies: near-miss delimiter lines (scanned, then dropped as oversize), and
    garbage that never teaches a boundary. ns per byte; a camera at 10 MB/s costs ns/byte percent
    of a core."""
    from recorderd.protocol.multipart import MultipartReader

    bodies = {
        "boundary without a line start": b"--myboundary" * 100_000,
        "line, boundary, wrong tail": b"\n--myboundaryX" * 100_000,
        "17 dashes, boundary": b"\n-----------------myboundary" * 40_000,
        "plain bytes": bytes(range(256)) * 4000,
    }
    print("hostile bodies (no Content-Length, 64 KiB chunks, max_part_size 512 KiB):")
    for name, body in bodies.items():
        stream = b"--myboundary\r\nContent-Type: image/jpeg\r\n\r\n" + body + b"\r\n--myboundary\r\n"
        chunks = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]

        def run(chunks: list[bytes] = chunks) -> int:
            r = MultipartReader("myboundary", max_part_size=512 * 1024)
            return sum(len(r.feed(c)) for c in chunks) + len(r.close())

        secs, _ = best_cpu(run, repeat)
        print(f"  {name:<32} {secs / len(stream) * 1e9:6.1f} ns/byte")
    for name, body in {
        'learning: --" lines': b'\n--"' * 200_000,
        "learning: --- lines": b"\n---\n" * 200_000,
    }.items():
        chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]

        def learn(chunks: list[bytes] = chunks) -> int:
            r = MultipartReader(None, max_part_size=512 * 1024)
            return sum(len(r.feed(c)) for c in chunks) + len(r.close())

        secs, _ = best_cpu(learn, repeat)
        print(f"  {name:<32} {secs / len(body) * 1e9:6.1f} ns/byte")


if __name__ == "__main__":
    sys.exit(main())
