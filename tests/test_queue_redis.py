"""The Redis twins (payedge.redis) on a real redis-server: the same model test
as the Rust queue (Redis's clock: compared structurally, with a long TTL),
targeted expiry tests with short TTLs and real sleeps, a paused holder whose
lease expires (SIGSTOP), threads with their own connections, and the asyncio
variants."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from payedge import InvalidArgumentError, Lease, QueueError, StaleLeaseError
from payedge.redis import AsyncRedisLeaseLocks, AsyncRedisTerminalQueue, RedisLeaseLocks, RedisTerminalQueue

from tests.queue_differential import TERMINALS, QueueMachine, lease_shape, outcome
from tests.queue_model import LocksModel, QueueModel

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(redis_url, decode_responses=True)
    yield conn
    conn.close()


def fresh() -> str:
    return uuid.uuid4().hex


def test_redis_queue_against_model(client: redis.Redis) -> None:
    """Same operations as the model; Redis's clock cannot be driven from here,
    so leases last long enough never to expire during a run and lease expiries
    are compared by shape (targeted expiry tests follow)."""

    class RedisMachine(QueueMachine):
        explicit_clock = False

        def __init__(self) -> None:
            super().__init__()
            self.model = QueueModel(TERMINALS, 1000.0)

        def make_real(self) -> Any:
            return RedisTerminalQueue(client, fresh(), TERMINALS, lock_ttl=1000.0)

        def norm(self, value: Any) -> Any:
            return lease_shape(value)

    run_state_machine_as_test(
        RedisMachine, settings=settings(max_examples=40, stateful_step_count=30, deadline=None)
    )


def test_redis_locks_against_model(client: redis.Redis) -> None:
    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.model = LocksModel(1000.0)
            self.real = RedisLeaseLocks(client, fresh(), ttl=1000.0)

        def both(self, op: Any) -> None:
            assert outcome(lambda: op(self.real, None)) == outcome(lambda: op(self.model, 0.0))

        @rule(key=st.sampled_from(["a", "b", ""]))
        def acquire(self, key: str) -> None:
            self.both(lambda m, now: m.acquire(key, now))

        @rule(key=st.sampled_from(["a", "b"]), token=st.integers(-1, 6))
        def release(self, key: str, token: int) -> None:
            self.both(lambda m, now: m.release(key, token, now))

        @rule(key=st.sampled_from(["a", "b"]), token=st.integers(0, 6))
        def extend(self, key: str, token: int) -> None:
            self.both(lambda m, now: m.extend(key, token, now))

    run_state_machine_as_test(
        Machine, settings=settings(max_examples=30, stateful_step_count=25, deadline=None)
    )


def redis_now(conn: redis.Redis) -> float:
    seconds, micros = conn.time()
    return float(seconds) + micros / 1e6


def test_expiry_requeues_at_front_in_enqueue_order_and_fences_the_old_holder(client: redis.Redis) -> None:
    q = RedisTerminalQueue(client, fresh(), ["a", "b", "c"], lock_ttl=0.5)
    for i in range(4):
        q.enqueue(f"p{i}", f"u{i}")
    before = redis_now(client)
    first = q.allocate("b")  # p0
    second = q.allocate("a")  # p1
    assert first is not None and second is not None
    assert before + 0.5 <= first.expires_at <= redis_now(client) + 0.5
    assert q.position("p0") is None and q.position("p2") == 1
    assert q.expire() == []
    time.sleep(0.6)
    # lazy expiry runs even though this call fails
    with pytest.raises(QueueError) as unknown:
        q.allocate("nope")
    assert unknown.value.code == "unknown_terminal"
    assert q.snapshot() == {"queue": ["p0", "p1", "p2", "p3"], "terminals": {"a": None, "b": None, "c": None}}
    with pytest.raises(StaleLeaseError) as stale:
        q.complete(first.token)
    assert stale.value.token == first.token
    with pytest.raises(StaleLeaseError):
        q.extend(second.token)
    again = q.allocate("c")
    assert again is not None and again.payment_id == "p0" and again.token > second.token
    # extend pushes the expiry and keeps the lease alive past the old one
    time.sleep(0.3)
    extended = q.extend(again.token)
    assert extended > again.expires_at
    time.sleep(0.3)
    q.complete(again.token)
    # explicit expire() returns what it ended, in original enqueue order
    late = q.allocate("a")  # p1
    early = q.allocate("b")  # p2
    assert late is not None and early is not None
    time.sleep(0.6)
    ended = q.expire()
    assert [lease.payment_id for lease in ended] == ["p1", "p2"]
    assert q.snapshot()["queue"] == ["p1", "p2", "p3"]


def test_now_is_never_taken_from_the_caller(client: redis.Redis) -> None:
    q = RedisTerminalQueue(client, fresh(), ["t"])
    with pytest.raises(InvalidArgumentError) as err:
        q.enqueue("p", "u", now=1.0)  # type: ignore[arg-type]
    assert err.value.param == "now"
    with pytest.raises(InvalidArgumentError):
        RedisTerminalQueue(client, fresh(), [])
    with pytest.raises(InvalidArgumentError):
        RedisLeaseLocks(client, "x", ttl=0)


def test_redis_lease_locks_expire_on_the_redis_clock(client: redis.Redis) -> None:
    locks = RedisLeaseLocks(client, fresh(), ttl=0.2)
    token = locks.acquire("user-1")
    assert token is not None and locks.acquire("user-1") is None
    assert locks.extend("user-1", token) is True
    time.sleep(0.25)
    assert locks.release("user-1", token) is False, "expired: not released by the stale holder"
    newer = locks.acquire("user-1")
    assert newer is not None and newer > token
    assert locks.extend("user-1", token) is False
    assert locks.release("user-1", newer) is True


HOLDER = """
import sys, redis
from payedge.redis import RedisTerminalQueue
from payedge import StaleLeaseError
q = RedisTerminalQueue(redis.Redis.from_url(sys.argv[1]), sys.argv[2], ["t1"], lock_ttl=0.5)
lease = q.allocate("t1")
print(lease.token, flush=True)
sys.stdin.readline()  # paused here (SIGSTOP) past the TTL
try:
    q.complete(lease.token)
    print("completed", flush=True)
except StaleLeaseError as exc:
    print("stale", exc.token, flush=True)
"""


def test_paused_holder_cannot_complete_after_its_lease_expired(client: redis.Redis, redis_url: str) -> None:
    name = fresh()
    q = RedisTerminalQueue(client, name, ["t1"], lock_ttl=0.5)
    q.enqueue("pay-1", "alice")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, redis_url, name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        old_token = int(holder.stdout.readline())
        os.kill(holder.pid, signal.SIGSTOP)
        time.sleep(0.7)
        # another process (this one) takes over: the payment went back to the front
        takeover = q.allocate("t1")
        assert takeover is not None and takeover.payment_id == "pay-1" and takeover.token > old_token
        os.kill(holder.pid, signal.SIGCONT)
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().split() == ["stale", str(old_token)]
        assert holder.wait(timeout=10) == 0
        q.complete(takeover.token)  # the live holder still can
    finally:
        if holder.poll() is None:
            os.kill(holder.pid, signal.SIGCONT)
            holder.kill()
            holder.wait(timeout=10)


def test_threads_with_their_own_connections_keep_the_invariants(redis_url: str) -> None:
    name, threads, per_thread = fresh(), 4, 40
    errors: list[BaseException] = []
    leases: list[list[Lease]] = [[] for _ in range(threads)]

    def worker(w: int) -> None:
        conn = redis.Redis.from_url(redis_url)
        q = RedisTerminalQueue(conn, name, [f"t{i}" for i in range(threads)], lock_ttl=60)
        try:
            for i in range(per_thread):
                q.enqueue(f"w{w}-{i}", f"u{i % 3}")
                lease = q.allocate(f"t{w}")
                if lease is not None:
                    leases[w].append(lease)
                    q.complete(lease.token)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            conn.close()

    pool = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=30)
    assert not errors, errors
    conn = redis.Redis.from_url(redis_url)
    q = RedisTerminalQueue(conn, name, [f"t{i}" for i in range(threads)], lock_ttl=60)
    for _ in range(threads * per_thread):
        lease = q.allocate("t0")
        if lease is None:
            break
        leases[0].append(lease)
        q.complete(lease.token)
    conn.close()
    every = [lease for ls in leases for lease in ls]
    tokens = [lease.token for lease in every]
    assert len(set(tokens)) == len(tokens)
    for ls in leases:
        assert [lease.token for lease in ls] == sorted(lease.token for lease in ls)
    payments = sorted(lease.payment_id for lease in every)
    assert payments == sorted(f"w{w}-{i}" for w in range(threads) for i in range(per_thread))


async def test_async_twins(redis_url: str) -> None:
    conn = redis.asyncio.Redis.from_url(redis_url)
    try:
        q = AsyncRedisTerminalQueue(conn, fresh(), ["t1", "t2"], lock_ttl=0.3)
        positions = await asyncio.gather(*(q.enqueue(f"p{i}", f"u{i % 2}") for i in range(6)))
        assert sorted(positions) == [1, 2, 3, 4, 5, 6]
        assert await q.enqueue("p0", "u0") == await q.position("p0")
        got = await asyncio.gather(q.allocate("t1"), q.allocate("t2"))
        assert all(lease is not None for lease in got)
        users = {lease.user_id for lease in got if lease is not None}
        assert users == {"u0", "u1"}, "one lease per user"
        with pytest.raises(QueueError):
            await q.allocate("t1")
        snap = await q.snapshot()
        assert len(snap["queue"]) == 4 and set(snap["terminals"]) == {"t1", "t2"}
        first = got[0]
        assert first is not None
        assert await q.extend(first.token) >= first.expires_at
        await asyncio.sleep(0.4)
        ended = await q.expire()
        assert len(ended) == 2
        with pytest.raises(StaleLeaseError):
            await q.complete(first.token)
        assert await q.cancel(ended[0].payment_id) is True
        assert await q.cancel("nope") is False
        locks = AsyncRedisLeaseLocks(conn, fresh(), ttl=5)
        tokens = await asyncio.gather(*(locks.acquire("k") for _ in range(10)))
        winners = [t for t in tokens if t is not None]
        assert len(winners) == 1
        assert await locks.extend("k", winners[0]) is True
        assert await locks.release("k", winners[0]) is True
        assert await locks.release("k", winners[0]) is False
    finally:
        await conn.aclose()
