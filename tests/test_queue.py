"""payedge.TerminalQueue / LeaseLocks (Rust core) against the sequential model,
plus behaviour users depend on and a multi-threaded run (SPEC 2.4)."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import payedge
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from payedge import (
    InvalidArgumentError,
    Lease,
    LeaseLocks,
    QueueError,
    StaleLeaseError,
    TerminalQueue,
)

from tests.queue_differential import QueueMachine, outcome
from tests.queue_model import LocksModel, QueueModel

pytestmark = pytest.mark.timeout(60)

TestQueueAgainstModel = QueueMachine.TestCase
TestQueueAgainstModel.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


class LocksMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.model = LocksModel(5.0)
        self.real = LeaseLocks(5.0)

    def both(self, op: Any) -> None:
        expected = outcome(lambda: op(self.model))
        got = outcome(lambda: op(self.real))
        assert got == expected

    @rule(dt=st.sampled_from([0.0, 1.0, 4.99, 5.0]))
    def tick(self, dt: float) -> None:
        self.now += dt

    @rule(key=st.sampled_from(["a", "b", "c", ""]))
    def acquire(self, key: str) -> None:
        self.both(lambda m: m.acquire(key, self.now))

    @rule(key=st.sampled_from(["a", "b", "c"]), token=st.integers(-1, 8))
    def release(self, key: str, token: int) -> None:
        self.both(lambda m: m.release(key, token, self.now))

    @rule(key=st.sampled_from(["a", "b", "c"]), token=st.integers(0, 8))
    def extend(self, key: str, token: int) -> None:
        self.both(lambda m: m.extend(key, token, self.now))

    @invariant()
    def nothing_else(self) -> None:
        assert self.real.ttl == self.model.ttl


TestLocksAgainstModel = LocksMachine.TestCase
TestLocksAgainstModel.settings = settings(max_examples=80, stateful_step_count=30, deadline=None)


def test_lease_is_a_frozen_value() -> None:
    lease = Lease("p1", "u1", "t1", 7, 190.5)
    assert lease == Lease("p1", "u1", "t1", 7, 190.5)
    assert lease != Lease("p1", "u1", "t1", 8, 190.5)
    assert lease != ("p1", "u1", "t1", 7, 190.5)
    assert hash(lease) == hash(Lease("p1", "u1", "t1", 7, 190.5))
    assert repr(lease) == "Lease(payment_id='p1', user_id='u1', terminal_id='t1', token=7, expires_at=190.5)"
    with pytest.raises(AttributeError):
        lease.token = 8  # type: ignore[misc]
    match lease:
        case Lease(payment_id, _, terminal_id, token, _):
            assert (payment_id, terminal_id, token) == ("p1", "t1", 7)


def test_spec_walkthrough() -> None:
    q = TerminalQueue(["t1", "t2"], lock_ttl=180.0)
    assert q.lock_ttl == 180.0 and q.terminals == ("t1", "t2")
    assert q.enqueue("p1", "alice", now=0) == 1
    assert q.enqueue("p2", "alice", now=0) == 2
    assert q.enqueue("p3", "bob", now=0) == 3
    assert q.enqueue("p3", "bob", now=1) == 3  # idempotent
    lease = q.allocate("t1", now=1)
    assert lease == Lease("p1", "alice", "t1", 1, 181.0)
    # alice holds a live lock: p2 is skipped
    second = q.allocate("t2", now=2)
    assert second is not None and second.payment_id == "p3" and second.token == 2
    assert q.position("p2") == 1 and q.position("p1") is None
    with pytest.raises(QueueError) as busy:
        q.allocate("t1", now=3)
    assert busy.value.code == "terminal_busy"
    with pytest.raises(QueueError) as unknown:
        q.allocate("t9", now=3)
    assert unknown.value.code == "unknown_terminal"
    assert q.extend(2, now=100) == 280.0
    # t1's lease expires at 181: lazily ended by this failing call
    with pytest.raises(QueueError):
        q.allocate("nope", now=181)
    assert q.snapshot() == {
        "queue": ["p1", "p2"],
        "terminals": {"t1": None, "t2": Lease("p3", "bob", "t2", 2, 280.0)},
    }
    with pytest.raises(StaleLeaseError) as stale:
        q.complete(1, now=181)
    assert stale.value.token == 1 and stale.value.code == "stale_lease"
    assert isinstance(stale.value, QueueError)
    q.complete(2, now=182)
    assert q.cancel("p2") is True and q.cancel("p2") is False
    assert q.expire(now=10_000) == []
    assert len(q) == 1


def test_expire_returns_leases_and_requeues_at_front_in_enqueue_order() -> None:
    q = TerminalQueue(["a", "b", "c"], lock_ttl=10)
    for i in range(5):
        q.enqueue(f"p{i}", f"u{i}", now=0)
    late = q.allocate("a", now=5)  # p0, expires 15
    early = q.allocate("b", now=0)  # p1, expires 10
    assert late is not None and early is not None
    assert q.expire(now=9.99) == []
    ended = q.expire(now=20)
    assert [lease.payment_id for lease in ended] == ["p0", "p1"]
    assert ended == [late, early]
    assert q.snapshot()["queue"] == ["p0", "p1", "p2", "p3", "p4"]
    assert [q.position(f"p{i}") for i in range(5)] == [1, 2, 3, 4, 5]


def test_default_clock_is_time_monotonic() -> None:
    q = TerminalQueue(["t1"], lock_ttl=60)
    # The native reading sits between two time.monotonic() readings, every time
    # (an offset-based clock drifts behind by a fraction of a microsecond).
    for i in range(2000):
        q.enqueue(f"p{i}", "u1")
        before = time.monotonic()
        lease = q.allocate("t1")
        after = time.monotonic()
        assert lease is not None and before + 60 <= lease.expires_at <= after + 60
        q.complete(lease.token, now=after)
    q.enqueue("p1", "u1")
    lease = q.allocate("t1")
    assert lease is not None
    # an explicit now on the same clock sees the lease as live
    assert q.extend(lease.token, now=time.monotonic()) >= lease.expires_at
    assert q.expire(now=lease.expires_at + 60) != []


@pytest.mark.parametrize(
    ("make", "param"),
    [
        (lambda: TerminalQueue([]), "terminals"),
        (lambda: TerminalQueue(["t", "t"]), "terminals"),
        (lambda: TerminalQueue([""]), "terminals"),
        (lambda: TerminalQueue(["t"], lock_ttl=0), "lock_ttl"),
        (lambda: TerminalQueue(["t"], lock_ttl=math.inf), "lock_ttl"),
        (lambda: TerminalQueue(["t"]).enqueue("p", "u", now=math.nan), "now"),
        (lambda: TerminalQueue(["t"]).enqueue("", "u", now=0), "payment_id"),
        (lambda: LeaseLocks(ttl=-1), "ttl"),
        (lambda: LeaseLocks().acquire("", now=0), "key"),
    ],
)
def test_bad_arguments_name_the_field(make: Any, param: str) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        make()
    assert err.value.param == param


@pytest.mark.parametrize(("terminals", "ttl"), [([], 1.0), (["t", "t"], 1.0), (["t"], 0.0), ([""], 1.0)])
def test_bad_arguments_are_refused_identically_by_the_model(terminals: list[str], ttl: float) -> None:
    assert outcome(lambda: TerminalQueue(terminals, ttl) and None) == outcome(
        lambda: QueueModel(terminals, ttl) and None
    )


def test_out_of_range_tokens_are_stale_not_crashes() -> None:
    q = TerminalQueue(["t1"])
    for token in (-1, 0, 2**64, 2**70):
        with pytest.raises(StaleLeaseError):
            q.complete(token, now=0)
    locks = LeaseLocks()
    assert locks.release("k", -5, now=0) is False
    assert locks.extend("k", 2**80, now=0) is False


def test_exported_from_package() -> None:
    for name in ("TerminalQueue", "LeaseLocks", "Lease"):
        assert name in payedge.__all__


def _snapshot_problems(q: TerminalQueue) -> list[str]:
    """What a consistent snapshot may never show: a user with two leases, a payment both queued and
    leased, a queued payment whose position moved back."""
    problems = []
    snap = q.snapshot()
    leases = [lease for lease in snap["terminals"].values() if lease is not None]
    if len({lease.user_id for lease in leases}) != len(leases):
        problems.append(f"user with two leases: {leases}")
    if {lease.payment_id for lease in leases} & set(snap["queue"]):
        problems.append("payment both queued and leased")
    for rank, payment in enumerate(snap["queue"][:3], 1):
        position = q.position(payment)
        if position is not None and position > rank:
            problems.append(f"position {position} moved back from {rank}")
    return problems


def test_python_threads_keep_the_invariants() -> None:
    """Several Python threads enqueue/allocate/complete on one queue while a
    reader takes snapshots: no payment or user ever holds two live leases,
    tokens are unique and increase per thread, nothing is lost."""
    threads, per_thread = 4, 300
    q = TerminalQueue([f"t{i}" for i in range(threads)], lock_ttl=3600)
    problems: list[str] = []
    tokens: list[list[int]] = [[] for _ in range(threads)]
    completed: list[list[str]] = [[] for _ in range(threads)]
    stop = threading.Event()
    deadline = time.monotonic() + 30

    def worker(w: int) -> None:
        for i in range(per_thread):
            if time.monotonic() > deadline:
                problems.append("deadline")
                return
            q.enqueue(f"w{w}-{i}", f"u{i % 5}")
            lease = q.allocate(f"t{w}")
            if lease is not None:
                tokens[w].append(lease.token)
                q.complete(lease.token)
                completed[w].append(lease.payment_id)

    def reader() -> None:
        for _ in range(100_000):
            if stop.is_set():
                return
            problems.extend(_snapshot_problems(q))

    pool = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=40)
    stop.set()
    watcher.join(timeout=10)
    assert not problems, problems[:5]
    for ts in tokens:
        assert ts == sorted(ts) and len(set(ts)) == len(ts)
    all_tokens = [t for ts in tokens for t in ts]
    assert len(set(all_tokens)) == len(all_tokens)
    done = [p for ps in completed for p in ps]
    assert len(set(done)) == len(done), "a payment was allocated twice"
    # drain what is left: nothing lost
    while (lease := q.allocate("t0")) is not None:
        assert lease.payment_id not in done
        done.append(lease.payment_id)
        q.complete(lease.token)
    assert sorted(done) == sorted(f"w{w}-{i}" for w in range(threads) for i in range(per_thread))
