"""Terminal queue: enqueue + allocate + complete cycles per second from Python
(Rust core) vs the plain-Python sequential model (tests/queue_model.py), with
1 and 2 threads, and the Redis twin's operations per second (same run).

Target (issue 4): Python on the Rust core >= 5x the model; BENCH_QUICK
asserts about half of that and prints the real figure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from payedge import TerminalQueue
from payedge.redis import RedisTerminalQueue
from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import QUICK, RatioRecorder
from tests.queue_model import QueueModel
from tests.support.services import redis_server

CYCLES = 200  # per benchmark round (1 thread)
THREADED = 10_000  # per thread and round with threads: amortises starts and GIL switches
TARGET = 5.0
FLOOR = TARGET / 2 if QUICK else TARGET
IDS = [f"pay-{i}" for i in range(CYCLES)]


def cycles(q: Any, terminal: str, user: str, ids: list[str]) -> None:
    """`len(ids)` enqueue + allocate + complete cycles on one thread."""
    for payment in ids:
        q.enqueue(payment, user, 0.0)
        lease = q.allocate(terminal, 0.0)
        if lease is not None:
            q.complete(lease.token, 0.0)


def shared_cycles(q: Any, terminal: str, user: str, ids: list[str], lock: Any) -> None:
    """Cycles on a queue other threads use too: the allocation may win another
    thread's payment (or none, when its user holds a lease), so each cycle
    allocates until nothing is eligible; the queue stays short for both
    implementations. `lock` (a ``threading.Lock``) serialises calls into the
    model, which is not thread-safe; None for payedge."""
    if lock is None:
        for payment in ids:
            q.enqueue(payment, user, 0.0)
            while (lease := q.allocate(terminal, 0.0)) is not None:
                q.complete(lease.token, 0.0)
        return
    for payment in ids:
        with lock:  # one critical section per cycle: the cheapest safe use
            q.enqueue(payment, user, 0.0)
            while (lease := q.allocate(terminal, 0.0)) is not None:
                q.complete(lease.token, 0.0)


def threaded(q: Any, threads: int, lock: Any = None) -> Callable[[], None]:
    ids = [[f"{i}-{p}" for p in range(THREADED)] for i in range(threads)]

    def run() -> None:
        pool = [
            threading.Thread(target=shared_cycles, args=(q, f"t{i}", f"u{i}", ids[i], lock))
            for i in range(threads)
        ]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        assert len(q) <= threads

    return run


def per_second(benchmark: BenchmarkFixture, work: int) -> float:
    stats = benchmark.stats
    assert stats is not None
    return work / stats.stats.median


def record(ratios: RatioRecorder, name: str, benchmark: BenchmarkFixture, work: int, unit: str) -> None:
    ratios.record(name, benchmark)
    ratios.lines.append(f"{name}: {per_second(benchmark, work):,.0f} {unit}/s (median)")


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("impl", ["payedge", "model"])  # payedge first: the model's run checks the ratio
def test_cycles(benchmark: BenchmarkFixture, ratios: RatioRecorder, impl: str, threads: int) -> None:
    terminals = [f"t{i}" for i in range(threads)]
    q: Any = TerminalQueue(terminals, lock_ttl=180.0) if impl == "payedge" else QueueModel(terminals, 180.0)
    if threads == 1:
        benchmark(cycles, q, "t0", "u0", IDS)
        assert len(q) == 0
    else:
        benchmark(threaded(q, threads, None if impl == "payedge" else threading.Lock()))
    work = CYCLES if threads == 1 else THREADED * threads
    record(ratios, f"queue cycles {impl} {threads}t", benchmark, work, "cycles")
    if impl == "model":
        ratio = ratios.ratio(f"queue cycles payedge {threads}t", f"queue cycles model {threads}t")
        if ratio is not None:  # both ran in this session
            assert ratio >= FLOOR, f"payedge only {ratio:.1f}x the model with {threads} thread(s)"


@pytest.fixture(scope="module")
def redis_client() -> Iterator[redis.Redis]:
    with redis_server() as url:
        conn = redis.Redis.from_url(url)
        yield conn
        conn.close()


def test_redis_twin_ops(
    benchmark: BenchmarkFixture, ratios: RatioRecorder, redis_client: redis.Redis
) -> None:
    q = RedisTerminalQueue(redis_client, f"bench-{time.monotonic_ns()}", ["t0"], lock_ttl=180.0)
    ids = IDS[:50]

    def redis_cycles() -> None:
        for payment in ids:
            q.enqueue(payment, "u0")
            lease = q.allocate("t0")
            if lease is not None:
                q.complete(lease.token)

    benchmark(redis_cycles)
    # 3 scripts per cycle (enqueue, allocate, complete)
    record(ratios, "redis twin", benchmark, 3 * len(ids), "ops")


def test_redis_ping_baseline(
    benchmark: BenchmarkFixture, ratios: RatioRecorder, redis_client: redis.Redis
) -> None:
    """The floor of any Redis operation here: one PING round trip per op."""

    def pings() -> None:
        for _ in range(150):
            redis_client.ping()

    benchmark(pings)
    record(ratios, "redis PING (round-trip floor)", benchmark, 150, "ops")


def test_position_reads(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    q = TerminalQueue(["t0"])
    for i in range(1000):
        q.enqueue(f"p{i}", f"u{i}", 0.0)

    def reads() -> None:
        for _ in range(1000):
            q.position("p700")

    benchmark(reads)
    record(ratios, "position() from Python, 1000 queued", benchmark, 1000, "reads")
