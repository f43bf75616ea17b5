"""The simulator on a non-loopback address, for tests/support/netns.py (run inside a namespace).

    python -m tests.support.netsim ADDRESS '{"cam": {"dialect": "vapix"}}'

`recorderd simulate` serves loopback only (its settings refuse other hosts); inside a private network
namespace the address of the namespace's veth end is as private as loopback, so the check is
bypassed here, in test support, and nowhere else. Prints one JSON line per camera, then serves until
killed.
"""

from __future__ import annotations

import json
import sys

import trio

from recorderd.sim import SimConfig, open_simulator
from recorderd.sim.config import SimulatorSettings
from tests.support.simharness import sim_config


async def main(host: str, cameras: dict[str, dict[str, object]]) -> None:
    cams = sim_config(cameras).cameras
    # model_construct: no validation, so the loopback-only check of the host is not applied
    cfg = SimConfig(simulator=SimulatorSettings.model_construct(host=host), cameras=cams)
    async with open_simulator(cfg) as sim:
        for entry in sim.describe():
            print(json.dumps(entry), flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    trio.run(main, sys.argv[1], json.loads(sys.argv[2]))
