"""The rate-limit check per request: payedge's GCRA vs the `limits` package (moving and fixed window).

What one limited request costs in-process (SPEC 8: "microseconds when on"): payedge's
`RateLimiter.admit` for an address and a key (both policies, all-or-nothing) plus the
IETF headers it answers with, against `limits` 5.8 (MemoryStorage; `hit` for the
address and for the key; no headers: it has no such thing, so the peer does less).
Every round sends the same stream of 20,000 requests from 1,000 addresses with one
key; budgets are large enough that nothing is refused (the hot path). Interleaved,
medians of rounds; the ratio is asserted (half in CI).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable

from limits import RateLimitItemPerSecond, storage, strategies
from payedge_server.ratelimit import Policy, RateLimiter
from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import QUICK, RatioRecorder

ROUNDS = 5 if QUICK else 15
REQUESTS = 20_000
ADDRESSES = [f"10.{i // 250}.{i % 250}.7" for i in range(1_000)]
KEY = "4f2a" * 16  # a key id (SHA-256 hex)
TARGET_VS_MOVING = 2.0  # measured 2.2-2.5x on this machine (6.3 vs 14.0 us)
TARGET_VS_FIXED = 1.1  # measured 1.3x (6.3 vs 8.6 us), and payedge also writes the headers


def floor(target: float) -> float:
    return target / 2 if QUICK else target


def _payedge() -> Callable[[], float]:
    def run() -> float:
        limiter = RateLimiter(Policy.of("key", 10**6, 1, 10**6), Policy.of("address", 10**6, 1, 10**6))

        async def go() -> float:
            started = time.perf_counter()
            for i in range(REQUESTS):
                report = await limiter.admit(ADDRESSES[i % 1000], KEY)
                assert report is not None
                report.headers()
            return time.perf_counter() - started

        return asyncio.run(go())

    return run


def _limits(strategy: type[strategies.RateLimiter]) -> Callable[[], float]:
    def run() -> float:
        limiter = strategy(storage.MemoryStorage())
        item = RateLimitItemPerSecond(10**6)
        started = time.perf_counter()
        for i in range(REQUESTS):
            limiter.hit(item, ADDRESSES[i % 1000])
            limiter.hit(item, KEY)
        return time.perf_counter() - started

    return run


OURS = "payedge GCRA (address + key, headers)"
MOVING = "limits moving window (address + key)"
FIXED = "limits fixed window (address + key)"


def test_rate_limit_check_per_request(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    """Round-robin; the asserted ratios are medians of same-round ratios (shared machine load).
    (pytest-benchmark times the whole round-robin: that row is not a peer figure.)"""
    peers = {OURS: _payedge(), MOVING: _limits(strategies.MovingWindowRateLimiter),
             FIXED: _limits(strategies.FixedWindowRateLimiter)}  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in peers}

    def round_robin() -> None:
        for _ in range(ROUNDS):
            for name, run in peers.items():
                times[name].append(run() / REQUESTS)

    benchmark.pedantic(round_robin, rounds=1, iterations=1)
    for name, samples in times.items():
        ratios.medians[name] = statistics.median(samples)
        ratios.lines.append(f"{name}: {statistics.median(samples) * 1e6:.2f} us per request")

    def paired(slower: str) -> float:
        value = statistics.median(s / f for f, s in zip(times[OURS], times[slower], strict=True))
        ratios.lines.append(f"{OURS} vs {slower}: {value:.1f}x (median of {ROUNDS} same-round ratios)")
        return value

    assert paired(MOVING) >= floor(TARGET_VS_MOVING)
    assert paired(FIXED) >= floor(TARGET_VS_FIXED)
