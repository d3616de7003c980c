"""Deduper.check_and_insert vs a Python dict-with-expiry and cachetools.TTLCache.

Every round runs the same 20,000-key stream (25% duplicates) through a fresh
structure; each implementation reads the clock the same way (time.monotonic()
per call; payedge's default `now`). Ratios are of round medians.

Single calls pay PyO3's per-call cost, which is about what a dict lookup plus a
Python function call costs, so the single-call ratio against the plain dict is
modest; the GIL-free batch method shows the native speed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest
from cachetools import TTLCache
from payedge import Deduper
from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import QUICK, RatioRecorder

TTL = 259_200.0
ROUNDS = 5 if QUICK else 25
# Targets (the issue sets none for dedupe): `make bench` asserts them, CI
# (BENCH_QUICK, fewer rounds on a shared machine) asserts half.
TARGET_SINGLE_VS_TTLCACHE = 5.0
TARGET_BATCH_VS_DICT = 2.0
TARGET_BATCH_VS_TTLCACHE = 10.0


def floor(target: float) -> float:
    return target / 2 if QUICK else target


def _stream() -> list[str]:
    rng = random.Random(2024)
    unique = [f"evt_{rng.getrandbits(96):024x}" for _ in range(15_000)]
    stream = unique + rng.choices(unique, k=5_000)
    rng.shuffle(stream)
    return stream


KEYS = _stream()
FIRSTS = len(set(KEYS))


def _dict_with_expiry() -> Callable[[str], bool]:
    seen: dict[str, float] = {}
    monotonic = time.monotonic

    def check_and_insert(key: str) -> bool:
        now = monotonic()
        expires = seen.get(key)
        if expires is not None and expires > now:
            return False
        seen[key] = now + TTL
        return True

    return check_and_insert


def _ttl_cache() -> Callable[[str], bool]:
    cache: TTLCache[str, bool] = TTLCache(maxsize=10_000_000, ttl=TTL, timer=time.monotonic)

    def check_and_insert(key: str) -> bool:
        if key in cache:
            return False
        cache[key] = True
        return True

    return check_and_insert


def _payedge_single() -> Callable[[str], bool]:
    return Deduper(ttl=TTL).check_and_insert


def _run_singles(check: Callable[[str], bool]) -> int:
    firsts = 0
    for key in KEYS:
        firsts += check(key)
    return firsts


def _bench_singles(benchmark: BenchmarkFixture, make: Callable[[], Callable[[str], bool]]) -> None:
    firsts = benchmark.pedantic(
        _run_singles, setup=lambda: ((make(),), {}), rounds=ROUNDS, iterations=1, warmup_rounds=1
    )
    assert firsts == FIRSTS


def test_dict_with_expiry(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    _bench_singles(benchmark, _dict_with_expiry)
    ratios.record("python dict-with-expiry", benchmark)


def test_cachetools_ttlcache(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    _bench_singles(benchmark, _ttl_cache)
    ratios.record("cachetools.TTLCache", benchmark)


def test_payedge_check_and_insert(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    _bench_singles(benchmark, _payedge_single)
    ratios.record("Deduper.check_and_insert", benchmark)
    vs_ttlcache = ratios.ratio("Deduper.check_and_insert", "cachetools.TTLCache")
    # Printed, not asserted: one PyO3 call costs about what the dict version's
    # Python-level work costs, so single calls are near parity with a bare dict
    # (which, unlike Deduper, never bounds its memory nor purges).
    ratios.ratio("Deduper.check_and_insert", "python dict-with-expiry")
    if vs_ttlcache is not None:
        assert vs_ttlcache >= floor(TARGET_SINGLE_VS_TTLCACHE)


def test_payedge_check_and_insert_many(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    def run(d: Deduper) -> int:
        return sum(d.check_and_insert_many(KEYS))

    firsts = benchmark.pedantic(
        run, setup=lambda: ((Deduper(ttl=TTL),), {}), rounds=ROUNDS, iterations=1, warmup_rounds=1
    )
    assert firsts == FIRSTS
    ratios.record("Deduper.check_and_insert_many", benchmark)
    vs_dict = ratios.ratio("Deduper.check_and_insert_many", "python dict-with-expiry")
    vs_ttlcache = ratios.ratio("Deduper.check_and_insert_many", "cachetools.TTLCache")
    if vs_dict is not None:
        assert vs_dict >= floor(TARGET_BATCH_VS_DICT)
    if vs_ttlcache is not None:
        assert vs_ttlcache >= floor(TARGET_BATCH_VS_TTLCACHE)


@pytest.mark.parametrize("threads", [4])
def test_payedge_batch_from_threads(benchmark: BenchmarkFixture, threads: int) -> None:
    """Several threads feeding one Deduper through the GIL-free batch (the server's shape)."""
    from concurrent.futures import ThreadPoolExecutor

    chunks = [KEYS[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:

        def run(d: Deduper) -> int:
            return sum(sum(r) for r in pool.map(d.check_and_insert_many, chunks))

        firsts = benchmark.pedantic(
            run, setup=lambda: ((Deduper(ttl=TTL),), {}), rounds=ROUNDS, iterations=1, warmup_rounds=1
        )
    assert firsts == FIRSTS
