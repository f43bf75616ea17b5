"""`recorderd` with a SIGUSR2 that blocks its event loop, for the watchdog test of `recorderd run`:

    python -m tests.support.blocking_run SECONDS run -c CONFIG ...

Python runs a signal handler in the main thread, which is trio's, so the sleep below stops the
loop itself (no task can run, the watchdog ping task included), as a stuck call in the daemon would.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from types import FrameType

from recorderd.cli import main

BLOCKING = "debug: blocking the event loop"


def run(argv: list[str]) -> int:
    seconds = float(argv[0])

    def block(signum: int, frame: FrameType | None) -> None:
        os.write(2, f"{BLOCKING} for {seconds:g}s\n".encode())  # no logging: not re-entrant
        time.sleep(seconds)

    signal.signal(signal.SIGUSR2, block)
    return main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
