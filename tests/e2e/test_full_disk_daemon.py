"""Issue 7, proof 4: the real daemon's state_dir on a real 4 MiB tmpfs fills up while it records.

The daemon runs in a private mount namespace (`unshare -rm`, tests/support/fulldisk_child.py) with its
whole state_dir (index, recordings) on the tmpfs; the simulator serves from this process over
loopback. The retention rules are set so that only ENOSPC can make room. Expected: the disk fills
up (ENOSPC, more than once), the oldest recordings are pruned, recording goes on with new files,
the other camera's incidents are still written, and at the end (SIGTERM, exit 0) the index and the
files agree and every file plays. Where user namespaces are not allowed the test is skipped.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
import trio

from recorderd.sim import open_simulator
from tests.support.daemonharness import toml
from tests.support.e2eharness import e2e_raw, e2e_sim_config
from tests.support.tmpfs import cannot_mount, on_tmpfs

CHILD = Path(__file__).parents[1] / "support" / "fulldisk_child.py"


async def test_daemon_full_disk_prunes_oldest_and_keeps_recording(tmp_path: Path) -> None:
    why = cannot_mount(tmp_path)
    if why is not None:
        pytest.skip(f"cannot mount a small tmpfs here (unshare -rm): {why}")
    state = tmp_path / "state"
    state.mkdir()
    config = tmp_path / "recorderd.toml"
    motion = {"at": "1s", "trigger": "motion", "on": True, "duration": "1s"}
    sims = e2e_sim_config(
        {
            # ~37 KB frames at 12 fps: ~0.45 MB/s, the 4 MiB fill up in seconds
            "cont": {"dialect": "vapix", "fps": 12, "width": 640, "height": 480, "quality": 90},
            "evt": {"dialect": "vapix", "fps": 5, "audio": "none", "scenario": [motion], "repeat": "3s"},
        }
    )
    async with open_simulator(sims) as sim:
        raw = e2e_raw(
            sim,
            state,
            {
                "cont": {"audio": True, "record": {"mode": "continuous", "segment": "1s"}},
                "evt": {"triggers": ["motion"], "record": {"mode": "event", "pre": "1s", "post": "1s"}},
            },
        )
        # only a full disk may prune: no usage limit, no free-space floor, no periodic check
        raw["storage"] = {"max_usage": "100%", "min_free": "0B", "check_interval": "1h"}
        config.write_text(toml(raw))
        cmd = on_tmpfs(state, "4m", [sys.executable, str(CHILD), str(config), str(state)])
        with trio.fail_after(150):
            r = await trio.run_process(cmd, capture_stdout=True, capture_stderr=True, check=False)
        assert r.returncode == 0, r.stderr.decode(errors="replace")[-3000:]
        out = json.loads(r.stdout.decode().splitlines()[-1])
        # the files left hold one unbroken run of the frames the camera sent: a write that hit
        # ENOSPC was retried after pruning, so not a frame was lost
        cam = sim["cont"]
        by_md5 = {hashlib.md5(cam.frame_bytes(q)).hexdigest(): q for q in cam.sent_seqs()}
        names = [name for c, name in out["remaining"] if c == "cont"]
        seqs = [by_md5.get(m, -1) for name in names for m in out["md5s"][name]]
        streams = [s.seqs for s in cam.streams if s.kind == "video"]
    log = "\n".join(out["tail"])
    assert out["outcome"] == "done", log
    assert out["exit"] == 0, log
    assert out["problems"] == [], out["problems"]  # index == files, all closed, all read by ffprobe
    assert out["fills"] >= 2, log  # it really filled up, more than once
    cont = [name for cam, name in out["closed"] if cam == "cont"]
    left = [name for cam, name in out["remaining"] if cam == "cont"]
    assert cont[0] in out["deleted"] and cont[0] not in out["files"]  # the oldest went first
    assert left == cont[-len(left) :], (left, cont)  # the newest stay, in order
    assert len(cont) > len(
        left
    )  # some were pruned; "done" means 4+ of cont's files closed after the disk filled
    assert len(streams) == 1 and -1 not in seqs, "a frame the camera never sent, or a reconnect"
    i = streams[0].index(seqs[0])
    assert seqs == streams[0][i : i + len(seqs)], "frames lost or repeated around the pruning"
    evt = [i for i in out["incidents"] if i[0] == "evt"]
    assert len(evt) >= 3 and all(ended for *_x, ended in evt[:-1])  # incidents still written
    assert out["errors"] == [], out["errors"]  # no frame dropped, no index write failed
    print(
        f"\nfull disk: {out['fills']} ENOSPC, {len(out['deleted'])} files pruned, {len(cont)} cont files "
        f"closed ({len(left)} left, {len(seqs)} frames in one unbroken run), {len(evt)} incidents; "
        f"errors logged: {len(out['errors'])}"
    )
    for w in out["warnings"]:
        print("  ", w)
