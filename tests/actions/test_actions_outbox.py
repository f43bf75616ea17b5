"""The outbox: durable rows, backoff, expiry, dead letters, isolation of targets, restart."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import trio

from recorderd.actions.outbox import (
    Action,
    Attachment,
    Coalesce,
    DeliveryError,
    FixedTimeoutSender,
    Outbox,
    OutboxStore,
    open_outbox,
)
from recorderd.core.backoff import BackoffPolicy
from tests.support.targets import Reports
from tests.support.wait import wait_until

FAST = BackoffPolicy(base=0.05, factor=2.0, cap=0.2, jitter=0.0)


class FakeSender(FixedTimeoutSender):
    """Fails `failures` times, optionally blocks; records what it delivered and concurrency seen."""

    def __init__(self, *, failures: int = 0, block: bool = False, concurrency: int = 1, hold: float = 0.0):
        self.failures = failures
        self.block = block
        self.concurrency = concurrency
        self.timeout = 30.0
        self.hold = hold
        self.delivered: list[tuple[int, dict[str, object], list[Attachment]]] = []
        self.active = 0
        self.max_active = 0
        self.calls = 0

    async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None:
        self.calls += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.block:
                await trio.sleep_forever()
            if self.hold:
                await trio.sleep(self.hold)
            if self.failures > 0:
                self.failures -= 1
                raise DeliveryError("server said no")
            self.delivered.append((action.id, action.payload, list(attachments)))
        finally:
            self.active -= 1


def test_retries_back_off_from_5s_to_10min_up_to_a_fifth_early() -> None:
    from recorderd.actions.outbox import RETRY

    assert [RETRY.ceiling(n) for n in range(9)] == [5, 10, 20, 40, 80, 160, 320, 600, 600]
    assert RETRY.delay(0, 0.0) == pytest.approx(4.0) and RETRY.delay(0, 0.9999) == pytest.approx(
        5.0, rel=1e-3
    )


def test_store_rows_claims_failures_and_expiry(tmp_path: Path) -> None:
    s = OutboxStore(tmp_path / "outbox.sqlite")
    a = s.add(
        "t", "http", {"events": [{"id": "e1"}]}, [Attachment("x.jpg", b"\xff\xd8")], now=100, expires=200
    )
    claimed, expired = s.claim_due("t", 100, 10, [])
    assert [c.id for c in claimed] == [a] and claimed[0].attempts == 1 and not expired
    assert s.attachments(a) == [Attachment("x.jpg", b"\xff\xd8", None)]
    assert s.claim_due("t", 100, 10, [a]) == ([], [])  # busy rows are not claimed twice
    assert s.fail(a, "boom", 101, 150) is False
    assert s.next_due("t", []) == 150
    assert s.claim_due("t", 120, 10, []) == ([], [])  # not due yet
    assert s.fail(a, "boom again", 160, 250) is True  # next attempt past expiry: dead
    row = s.get(a)
    assert row is not None and row.state == "dead" and row.last_error == "boom again"
    b = s.add("t", "http", {"events": []}, [], now=100, expires=110)
    claimed, expired = s.claim_due("t", 111, 10, [])
    assert not claimed and [e.id for e in expired] == [b]
    c = s.add("t", "http", {"events": []}, [Attachment("y", b"1")], now=100, expires=1000)
    s.succeed(c, 101)
    assert s.attachments(c) == [] and (s.get(c) or row).state == "done"
    assert s.status().counts == {"t": {"dead": 2, "done": 1}}
    assert s.prune(200, keep_done=1000, keep_dead=1000) == 0
    assert s.attachments(a) == [] and s.get(a) is not None  # a dead row stays, its blobs go
    assert s.prune(5000, keep_done=1000, keep_dead=1000) == 3
    assert s.status().counts == {}
    s.close()


def test_coalescing_paces_one_row_per_interval(tmp_path: Path) -> None:
    s = OutboxStore(tmp_path / "outbox.sqlite")
    co = Coalesce("mail/front", 60.0, max_attachments=3)
    first = s.add("m", "email", {"events": [1]}, [Attachment("a", b"a")], now=0, expires=1000, coalesce=co)
    assert s.get(first).next_attempt == 0  # type: ignore[union-attr]
    second = s.add("m", "email", {"events": [2]}, [Attachment("b", b"b")], now=10, expires=1000, coalesce=co)
    assert second != first and s.get(second).next_attempt == 60  # type: ignore[union-attr]
    third = s.add(
        "m",
        "email",
        {"events": [3]},
        [Attachment("c", b"c"), Attachment("d", b"d")],
        now=20,
        expires=1000,
        coalesce=co,
    )
    assert third == second  # merged into the pending one
    merged = s.get(second)
    assert merged is not None and merged.payload["events"] == [2, 3]
    assert [a.name for a in s.attachments(second)] == ["b", "c", "d"]
    s.add("m", "email", {"events": [4]}, [Attachment("e", b"e")], now=30, expires=1000, coalesce=co)
    assert len(s.attachments(second)) == 3  # capped
    later = s.add("m", "email", {"events": [5]}, [], now=500, expires=1000, coalesce=co)
    assert later not in (first, second) and s.get(later).next_attempt == 500  # type: ignore[union-attr]
    s.close()


def test_sequence_numbers_wrap_and_persist(tmp_path: Path) -> None:
    s = OutboxStore(tmp_path / "o.sqlite")
    assert [s.next_sequence("k", 3) for _ in range(4)] == [1, 2, 3, 1]
    s.close()
    s = OutboxStore(tmp_path / "o.sqlite")
    assert s.next_sequence("k", 3) == 2
    assert s.next_sequence("other", 3) == 1
    s.close()


async def test_retries_until_success(tmp_path: Path) -> None:
    sender = FakeSender(failures=2)
    reports = Reports()
    async with open_outbox(tmp_path / "o.sqlite", {"t": sender}, policy=FAST, observer=reports) as ob:
        aid = await ob.enqueue("t", "http", {"events": [{"id": "e"}]}, expire=60)
        await reports.wait("done")
        row = await ob.get(aid)
        assert row is not None and row.state == "done" and row.attempts == 3
    assert reports.states("retry") == [aid, aid]
    assert [d[0] for d in sender.delivered] == [aid]


async def test_expiry_dead_letters_and_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sender = FakeSender(failures=1000)
    reports = Reports()
    caplog.set_level(logging.INFO, logger="recorderd.actions")
    async with open_outbox(tmp_path / "o.sqlite", {"t": sender}, policy=FAST, observer=reports) as ob:
        aid = await ob.enqueue("t", "http", {"events": []}, expire=0.4)
        await reports.wait("dead")
        dead = await ob.dead_letters()
        assert [d.id for d in dead] == [aid] and dead[0].last_error == "server said no"
        status = await ob.status()
        assert status.counts == {"t": {"dead": 1}}
    assert 1 <= sender.calls <= 6  # 0, 0.05, 0.15, 0.35 s; the next (0.55 s) is past expiry
    assert any(
        "is dead after" in r.getMessage() and "server said no" in r.getMessage() for r in caplog.records
    )


async def test_permanent_error_is_dead_at_once(tmp_path: Path) -> None:
    class Bad(FakeSender):
        async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None:
            raise DeliveryError("template is broken", permanent=True)

    reports = Reports()
    async with open_outbox(tmp_path / "o.sqlite", {"t": Bad()}, policy=FAST, observer=reports) as ob:
        aid = await ob.enqueue("t", "http", {"events": []}, expire=3600)
        await reports.wait("dead")
    assert reports.states("dead") == [aid] and not reports.states("retry")


async def test_timeout_counts_as_failure(tmp_path: Path) -> None:
    sender = FakeSender(block=True)
    sender.timeout = 0.1
    reports = Reports()
    async with open_outbox(tmp_path / "o.sqlite", {"t": sender}, policy=FAST, observer=reports) as ob:
        await ob.enqueue("t", "http", {"events": []}, expire=3600)
        await reports.wait("retry")
    assert reports.items[0].error == "timed out after 0.1s"


async def test_a_sender_may_give_each_action_its_own_deadline(tmp_path: Path) -> None:
    """A relay pattern longer than the sender's fixed timeout is not cut short (timeout_for)."""

    class Patterned(FakeSender):
        def timeout_for(self, action: Action) -> float:
            return float(action.payload["length"]) + 5.0

    sender = Patterned(hold=0.3)
    sender.timeout = 0.1
    reports = Reports()
    async with open_outbox(tmp_path / "o.sqlite", {"t": sender}, policy=FAST, observer=reports) as ob:
        long = await ob.enqueue("t", "link", {"length": 0.3}, expire=3600)
        await reports.wait("done")
    assert reports.states("done") == [long] and not reports.states("retry")


async def test_slow_target_does_not_delay_others_and_limits_hold(tmp_path: Path) -> None:
    stuck = FakeSender(block=True, concurrency=2)
    quick = FakeSender(concurrency=3, hold=0.05)
    reports = Reports()
    async with open_outbox(tmp_path / "o.sqlite", {"stuck": stuck, "quick": quick}, observer=reports) as ob:
        for _ in range(5):
            await ob.enqueue("stuck", "http", {"events": []}, expire=3600)
        with trio.fail_after(3):
            ids = [await ob.enqueue("quick", "http", {"events": [i]}, expire=3600) for i in range(9)]
            await reports.wait("done", 9)
        assert stuck.max_active == 2  # its limit, not all five
        assert quick.max_active == 3
        assert sorted(d[0] for d in quick.delivered) == ids


async def test_pending_actions_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    down = FakeSender(block=True, concurrency=4)
    async with open_outbox(path, {"t": down}, policy=FAST) as ob:
        ids = [
            await ob.enqueue(
                "t", "email", {"events": [i]}, [Attachment(f"{i}.jpg", bytes([i]) * 10)], expire=3600
            )
            for i in range(4)
        ]
        # all four are being attempted when the "daemon" stops
        await wait_until(lambda: down.calls == 4, 3, "four attempts under way")
    up = FakeSender()
    reports = Reports()
    async with open_outbox(path, {"t": up}, policy=FAST, observer=reports):
        await reports.wait("done", 4)
    assert sorted(d[0] for d in up.delivered) == ids
    for aid, payload, atts in up.delivered:
        i = ids.index(aid)
        assert payload == {"events": [i]} and atts == [Attachment(f"{i}.jpg", bytes([i]) * 10)]


async def test_unknown_target_is_refused_and_orphans_kept(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    async with open_outbox(path, {"old": FakeSender(block=True)}) as ob:
        aid = await ob.enqueue("old", "http", {"events": []}, expire=3600)
        with pytest.raises(ValueError):
            await ob.enqueue("nope", "http", {"events": []}, expire=3600)
    store = OutboxStore(path)  # written while no worker for "old" runs, already expired when reopened
    gone = store.add("old", "http", {"events": []}, [], now=0.0, expires=1.0)
    store.close()
    async with open_outbox(path, {"new": FakeSender()}) as ob:
        row = await ob.get(aid)
        assert row is not None and row.state == "pending"  # kept for a config that has it again
        dead = await ob.get(gone)
        assert dead is not None and dead.state == "dead" and dead.last_error == "target old is not configured"


class Once(FixedTimeoutSender):
    """Delivers and then runs `after` (before returning): a cancel or a lock right after delivery."""

    concurrency = 1
    timeout = 5.0

    def __init__(self, after: Callable[[], object]) -> None:
        self.after = after
        self.calls = 0

    async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None:
        self.calls += 1
        self.after()


async def test_a_shutdown_right_after_delivery_still_records_it(tmp_path: Path) -> None:
    """Cancelled after deliver() returned: the row is still marked done (no re-send at the next start)."""
    path = tmp_path / "o.sqlite"
    with trio.CancelScope() as scope:
        sender = Once(scope.cancel)
        async with open_outbox(path, {"t": sender}, policy=FAST) as ob:
            aid = await ob.enqueue("t", "http", {"n": 1}, expire=3600)
            with trio.fail_after(5):
                await trio.sleep_forever()
    assert scope.cancelled_caught and sender.calls == 1
    store = OutboxStore(path)
    row = store.get(aid)
    store.close()
    assert row is not None and row.state == "done"


async def test_database_errors_are_retried_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A locked (or full) state disk: a due row is still delivered (claiming only reads), but its
    outcome cannot be written: that is logged once and retried until it goes in; the outbox lives
    on and delivers each row once."""
    path = tmp_path / "o.sqlite"
    store = OutboxStore(path, busy_timeout=0.05)
    now = time.time()
    first = store.add("t", "http", {"n": 1}, [], now=now, expires=now + 3600)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # every write of the outbox now fails: "database is locked"
    sender = Once(lambda: None)
    reports = Reports()
    outbox = Outbox(store, {"t": sender}, policy=FAST, observer=reports)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(outbox.run)
            line = f"outbox: action {first} (http to t): cannot record its delivery"
            await wait_until(lambda: any(line in r.getMessage() for r in caplog.records), 5, line)
            assert sender.calls == 1 and not reports.items
            locker.execute("ROLLBACK")
            await reports.wait("done")
            second = await outbox.enqueue("t", "http", {"n": 2}, expire=3600)
            await reports.wait("done", 2)
            nursery.cancel_scope.cancel()
    finally:
        locker.close()
        store.close()
    assert reports.states("done") == [first, second] and sender.calls == 2
    assert not [r for r in caplog.records if r.exc_info]  # clear lines, no tracebacks


def test_a_row_on_its_way_is_never_merged_into(tmp_path: Path) -> None:
    """Claiming only reads, so a row being delivered still shows 0 attempts; a wall clock stepped
    back must not make it look paced and take new events that its delivery would then drop."""
    s = OutboxStore(tmp_path / "outbox.sqlite")
    co = Coalesce("mail/front", 60.0)
    first = s.add("t", "email", {"events": [{"id": "e1"}]}, [], now=100, expires=10_000, coalesce=co)
    (claimed,), _ = s.claim_due("t", 100, 10, [])
    assert claimed.id == first
    second = s.add("t", "email", {"events": [{"id": "e2"}]}, [], now=99, expires=10_000, coalesce=co)
    assert second != first  # a row of its own, paced after the first
    s.succeed(first, 101, claimed.attempts)
    row = s.get(second)
    assert row is not None and row.payload["events"] == [{"id": "e2"}] and row.next_attempt == 160


async def test_an_attempt_is_counted_while_it_is_under_way(tmp_path: Path) -> None:
    """A delivery that never returns (say, it takes the daemon down) has its attempt counted all the
    same, so the row backs off after a restart instead of being tried again at once forever."""
    path = tmp_path / "o.sqlite"
    started = trio.Event()

    class Hangs(FixedTimeoutSender):
        concurrency = 1
        timeout = 3600.0

        async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None:
            started.set()
            await trio.sleep_forever()

    store = OutboxStore(path)
    aid = store.add("t", "http", {"n": 1}, [], now=time.time(), expires=time.time() + 3600)
    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            await n.start(Outbox(store, {"t": Hangs()}, policy=FAST).run)
            await started.wait()
            await wait_until(
                lambda: (row := store.get(aid)) is None or row.attempts > 0, what="the attempt counted"
            )
            n.cancel_scope.cancel()  # as a kill would: no outcome is written
    store.close()
    again = OutboxStore(path)
    row = again.get(aid)
    assert row is not None and row.state == "pending" and row.attempts == 1
    again.close()


class EagerSender(FakeSender):
    eager = True


class GatedStore(OutboxStore):
    """Its rows commit only once `gate` is set (a slow disk's fsync)."""

    gate: threading.Event

    def add(self, *args: Any, **kwargs: Any) -> int:
        assert self.gate.wait(10), "the row waited for a delivery that never started"
        return super().add(*args, **kwargs)


async def idle_outbox(store: OutboxStore, sender: FakeSender, nursery: trio.Nursery) -> Outbox:
    ob = Outbox(store, {"t": sender}, policy=FAST)
    await nursery.start(ob.run)
    await wait_until(lambda: ob._idle["t"], what="the target's group waiting with nothing to do")
    return ob


async def test_an_eager_target_gets_the_action_while_its_row_commits(tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "o.sqlite")
    store.gate = threading.Event()
    sender = EagerSender()
    calls_before_commit: list[int] = []
    deliver = sender.deliver

    async def opens_the_gate(action: Action, attachments: Sequence[Attachment]) -> None:
        calls_before_commit.append(sender.calls)
        store.gate.set()
        await deliver(action, attachments)

    sender.deliver = opens_the_gate  # type: ignore[method-assign]
    with trio.fail_after(20):
        async with trio.open_nursery() as n:
            ob = await idle_outbox(store, sender, n)
            aid = await ob.enqueue("t", "mqtt", {"events": [{"id": "e1"}]}, expire=60)
            await wait_until(lambda: done(store, aid), what="done")
            n.cancel_scope.cancel()
    row = store.get(aid)
    assert calls_before_commit == [0] and row is not None and row.attempts == 1
    assert [d[0] for d in sender.delivered] == [-2]  # its id was not known yet when it went out
    store.close()


async def test_eager_deliveries_keep_their_order_and_go_once(tmp_path: Path) -> None:
    """While an eager attempt is under way, the next action waits its turn in the outbox."""
    store = OutboxStore(tmp_path / "o.sqlite")
    sender = EagerSender(hold=0.2)
    with trio.fail_after(20):
        async with trio.open_nursery() as n:
            ob = await idle_outbox(store, sender, n)
            a = await ob.enqueue("t", "mqtt", {"events": [{"id": "a"}]}, expire=60)
            b = await ob.enqueue("t", "mqtt", {"events": [{"id": "b"}]}, expire=60)
            await wait_until(lambda: all(done(store, i) for i in (a, b)), what="both recorded")
            n.cancel_scope.cancel()
    assert [d[1]["events"] for d in sender.delivered] == [[{"id": "a"}], [{"id": "b"}]]
    assert sender.max_active == 1 and sender.calls == 2
    assert [d[0] for d in sender.delivered][1] == b  # the second went the usual way, from its row
    store.close()


async def test_a_failed_eager_attempt_is_retried_from_its_row(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.sqlite")
    sender = EagerSender(failures=1)
    reports = Reports()
    with trio.fail_after(20):
        async with trio.open_nursery() as n:
            ob = await idle_outbox(store, sender, n)
            ob.observer = reports
            a = await ob.enqueue("t", "mqtt", {"events": [{"id": "a"}]}, expire=60)
            await wait_until(lambda: done(store, a), what="delivered at the retry")
            n.cancel_scope.cancel()
    row = store.get(a)
    assert reports.states("retry") == [a] and row is not None and row.attempts == 2
    assert [d[0] for d in sender.delivered] == [a] and sender.calls == 2
    store.close()


def done(store: OutboxStore, action_id: int) -> bool:
    row = store.get(action_id)
    return row is not None and row.state == "done"
