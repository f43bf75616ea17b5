"""FTP against a real pyftpdlib: names per naming mode, passive and active, clips, retries, no partial files."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import trio

from recorderd.actions.bridge import open_asyncio_bridge
from recorderd.actions.ftp import FtpSender
from recorderd.actions.outbox import Action, Attachment, DeliveryError
from recorderd.actions.runtime import open_actions
from recorderd.config.model import FtpTarget
from recorderd.core.backoff import BackoffPolicy
from tests.support.targets import FAST, JPEG_A, JPEG_B, FtpServer, Reports, config, event
from tests.support.wait import wait_until


def ftp_config(tmp_path: Path, port: int, extra: str = "") -> str:
    return f"""
[daemon]
state_dir = "{tmp_path}/state"

[targets.nas]
kind = "ftp"
host = "127.0.0.1"
port = {port}
username = "cam"
password = "secret"
upload = ["snapshot", "clip"]
{extra if "timeout" in extra else extra + chr(10) + 'timeout = "5s"'}

[cameras.front]
dialect = "vapix"
url = "http://127.0.0.1:9/"
actions = ["nas"]
"""


@pytest.mark.parametrize(
    ("naming", "passive", "expected"),
    [
        ("overwrite", True, {"front/2024-03-01/front.jpg": JPEG_B}),
        (
            "timestamp",
            False,
            {
                "front/2024-03-01/front_20240301_123045_123.jpg": JPEG_A,
                "front/2024-03-01/front_20240301_123045_123-2.jpg": JPEG_B,
                "front/2024-03-01/front_20240301_123045_123-3.jpg": JPEG_A,
            },
        ),
        (
            "sequence",
            True,
            {
                # sequence_max = 2: 1, 2, then 1 again (overwritten by the third frame)
                "front/2024-03-01/front_1.jpg": JPEG_A,
                "front/2024-03-01/front_2.jpg": JPEG_B,
            },
        ),
    ],
)
async def test_names_per_naming_mode(
    tmp_path: Path, ftp_server: FtpServer, naming: str, passive: bool, expected: dict[str, bytes]
) -> None:
    extra = f'naming = "{naming}"\nsequence_max = 2\npassive = {str(passive).lower()}'
    cfg = config(ftp_config(tmp_path, ftp_server.port, extra))
    frames = {
        "overwrite": (JPEG_A, JPEG_A, JPEG_B),  # the last one stays
        "timestamp": (JPEG_A, JPEG_B, JPEG_A),
        "sequence": (JPEG_B, JPEG_B, JPEG_A),  # front_1 is written twice: B, then A
    }[naming]
    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports) as d:
        ids = await d.dispatch(event(snapshots=frames))
        assert len(ids) == 3
        await reports.wait("done", 3)
    assert ftp_server.files() == expected
    assert not [f for f in ftp_server.received if not f.endswith(".part")]  # every STOR went to a temp name


async def test_finished_clip_is_uploaded(tmp_path: Path, ftp_server: FtpServer) -> None:
    clip = tmp_path / "rec" / "front-1.mkv"
    clip.parent.mkdir()
    clip.write_bytes(bytes(range(256)) * 2000)
    cfg = config(ftp_config(tmp_path, ftp_server.port, 'directory = "clips/{camera}"'))
    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports) as d:
        await d.dispatch(event("end", recording=str(clip)))
        await reports.wait("done")
    assert ftp_server.files() == {"clips/front/front_20240301_123045_123.mkv": clip.read_bytes()}


async def test_delivered_after_the_server_was_down(tmp_path: Path, ftp_server: FtpServer) -> None:
    ftp_server.stop()
    cfg = config(ftp_config(tmp_path, ftp_server.port))
    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports) as d:
        await d.dispatch(event(snapshots=(JPEG_A,)))
        await reports.wait("retry", 2)
        assert "cannot connect" in (reports.items[0].error or "")
        await trio.to_thread.run_sync(ftp_server.start)
        await reports.wait("done")
    assert list(ftp_server.files().values()) == [JPEG_A]


async def test_no_partial_file_under_a_final_name(tmp_path: Path, ftp_server: FtpServer) -> None:
    """A transfer cut off by the attempt's timeout leaves only the temporary name; the retry completes."""
    big = bytes(range(256)) * 4096  # 1 MiB at 256 KiB/s: longer than the 1 s timeout
    clip = tmp_path / "big.mkv"
    clip.write_bytes(big)
    ftp_server.stop()
    ftp_server.throttle = 256 * 1024
    ftp_server.start()
    cfg = config(ftp_config(tmp_path, ftp_server.port, 'timeout = "1s"\ndirectory = ""'))
    reports = Reports()
    final = ftp_server.root / "front_20240301_123045_123.mkv"
    part = ftp_server.root / "front_20240301_123045_123.mkv.part"
    slow = BackoffPolicy(base=0.5, factor=1.0, cap=0.5, jitter=0.0)
    async with open_actions(cfg, policy=slow, observer=reports) as d:
        await d.dispatch(event("end", recording=str(clip)))
        await reports.wait("retry")
        assert reports.items[0].error == "timed out after 1s"
        assert part.exists() and part.stat().st_size < len(big)
        assert not final.exists()
        ftp_server.stop()
        ftp_server.throttle = 0
        await trio.to_thread.run_sync(ftp_server.start)
        await reports.wait("done", timeout=15)
    assert final.read_bytes() == big
    assert not part.exists()


def target(port: int, **kw: object) -> FtpTarget:
    return FtpTarget.model_validate(
        {"kind": "ftp", "host": "127.0.0.1", "port": port, "username": "cam", "password": "secret",
         "timeout": "5s", **kw}
    )  # fmt: skip


@pytest.mark.parametrize("retain", [True, False])
async def test_retain_connection_between_uploads(ftp_server: FtpServer, retain: bool) -> None:
    async with open_asyncio_bridge() as bridge:
        s = FtpSender("nas", target(ftp_server.port, retain_connection=retain), bridge)
        with trio.fail_after(10):
            for i in range(3):
                await s.upload(f"d/{i}.jpg", Attachment("x", JPEG_A))
            if retain:  # a kept connection the server dropped is replaced within the attempt
                ftp_server.stop()
                ftp_server.start()
                await s.upload("d/3.jpg", Attachment("x", JPEG_B))
            await s.aclose()
    assert ftp_server.connections == (2 if retain else 3)
    assert ftp_server.files()["d/2.jpg"] == JPEG_A


async def test_result_codes(ftp_server: FtpServer) -> None:
    async with open_asyncio_bridge() as bridge:
        with trio.fail_after(10), pytest.raises(DeliveryError) as err:
            await FtpSender("nas", target(ftp_server.port, password="nope"), bridge).upload(
                "a.jpg", Attachment("x", b"1")
            )
        assert err.value.code == 5 and "nope" not in err.value.message
        (ftp_server.root / "file").write_bytes(b"not a directory")
        with trio.fail_after(10), pytest.raises(DeliveryError) as err:
            await FtpSender("nas", target(ftp_server.port), bridge).upload(
                "file/a.jpg", Attachment("x", b"1")
            )
        assert err.value.code == 6
        ftp_server.stop()
        with trio.fail_after(10), pytest.raises(DeliveryError) as err:
            await FtpSender("nas", target(ftp_server.port), bridge).upload("a.jpg", Attachment("x", b"1"))
        assert err.value.code == 1


def follow_tasks() -> int:
    """Running periodic-snapshot tasks (the dispatcher's `_follow`), found through trio's task tree."""
    root = trio.lowlevel.current_root_task()
    assert root is not None
    todo, found = [root], 0
    while todo:
        task = todo.pop()
        found += task.name.endswith("._follow")
        todo.extend(t for nursery in task.child_nurseries for t in nursery.child_tasks)
    return found


async def test_snapshots_every_interval_while_the_alarm_lasts(tmp_path: Path, ftp_server: FtpServer) -> None:
    cfg = config(ftp_config(tmp_path, ftp_server.port, 'snapshot_interval = "200ms"\nnaming = "sequence"'))
    frames = 0

    async def source(camera: str) -> bytes:
        nonlocal frames
        frames += 1
        return JPEG_B

    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports, snapshot_source=source) as d:
        await d.dispatch(event(snapshots=(JPEG_A,)))
        await reports.wait("done", 4)  # the trigger frame and three periodic ones
        assert follow_tasks() == 1
        await d.dispatch(event("end"))
        taken = frames
        await wait_until(lambda: follow_tasks() == 0, what="the follow task ended")
        assert frames == taken  # the end stopped it before it took another frame
    await wait_until(lambda: len(ftp_server.files()) >= 4)
    files = ftp_server.files()
    assert files["front/2024-03-01/front_0001.jpg"] == JPEG_A
    assert files["front/2024-03-01/front_0002.jpg"] == JPEG_B


async def test_a_refused_rename_never_deletes_the_earlier_file(ftp_server: FtpServer) -> None:
    """RNFR refused (no rename permission): the good file under the final name stays."""
    ftp_server.stop()
    ftp_server.perm = "elradmwMT"  # no "f": RNFR answers 550; DELE would be allowed
    ftp_server.start()
    (ftp_server.root / "front.jpg").write_bytes(JPEG_A)
    async with open_asyncio_bridge() as bridge:
        with trio.fail_after(10), pytest.raises(DeliveryError) as err:
            await FtpSender("nas", target(ftp_server.port), bridge).upload(
                "front.jpg", Attachment("x", JPEG_B)
            )
    assert err.value.code == 9 and "rename" in err.value.message
    assert ftp_server.files()["front.jpg"] == JPEG_A
    assert not any(c.startswith("DELE") for c in ftp_server.commands)


async def test_a_server_that_will_not_rename_over_a_file(ftp_server: FtpServer) -> None:
    """RNFR 350, RNTO 553 (target exists): the old file is removed, then the rename is done again."""
    ftp_server.no_rename_over = True
    (ftp_server.root / "front.jpg").write_bytes(JPEG_A)
    async with open_asyncio_bridge() as bridge:
        with trio.fail_after(10):
            await FtpSender("nas", target(ftp_server.port), bridge).upload(
                "front.jpg", Attachment("x", JPEG_B)
            )
    assert ftp_server.files() == {"front.jpg": JPEG_B}
    assert [c for c in ftp_server.commands if c.startswith(("RN", "DELE"))] == [
        "RNFR front.jpg.part",
        "RNTO front.jpg",
        "DELE front.jpg",
        "RNFR front.jpg.part",
        "RNTO front.jpg",
    ]


async def test_a_cancelled_upload_makes_no_more_round_trips(ftp_server: FtpServer) -> None:
    """Cancelled mid-transfer (a shutdown): the connection is closed, no CWD back home first."""
    ftp_server.stop()
    ftp_server.throttle = 64 * 1024
    ftp_server.start()
    big = bytes(1 << 20)  # 16 s at that rate
    async with open_asyncio_bridge() as bridge:
        sender = FtpSender("nas", target(ftp_server.port), bridge)
        with trio.fail_after(10):
            with trio.move_on_after(0.5):
                await sender.upload("d/big.mkv", Attachment("x", big))
            await wait_until(lambda: ftp_server.disconnects == 1, what="the connection closed")
    cwds = [c for c in ftp_server.commands if c.startswith("CWD")]
    assert len(cwds) == 1, ftp_server.commands  # into d/, never back


async def test_reading_a_clip_does_not_block_trio(tmp_path: Path) -> None:
    """The clip's readability check runs off the trio thread: a FIFO without a writer blocks open()."""
    fifo = tmp_path / "clip.mkv"
    os.mkfifo(fifo)

    def writer() -> None:  # opens the FIFO after a second, which releases the reader's open()
        time.sleep(1.0)
        os.close(os.open(fifo, os.O_WRONLY))

    gaps: list[float] = []

    async def ticker(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        last = trio.current_time()
        task_status.started()
        while True:
            await trio.sleep(0.05)
            gaps.append(trio.current_time() - last)
            last = trio.current_time()

    action = Action(1, "nas", "ftp", {"remote": "clip.mkv"}, 0.0, 1, 0.0, 60.0, "pending", None)
    thread = threading.Thread(target=writer)
    async with open_asyncio_bridge() as bridge, trio.open_nursery() as nursery:
        await nursery.start(ticker)
        thread.start()
        sender = FtpSender("nas", target(1), bridge)  # nothing listens on port 1: fails after the check
        with trio.fail_after(10), pytest.raises(DeliveryError) as err:
            await sender.deliver(action, [Attachment("clip.mkv", path=str(fifo))])
        nursery.cancel_scope.cancel()
    thread.join(5)
    assert err.value.code == 1  # got past the check, to the connection
    assert max(gaps) < 0.5, max(gaps)
