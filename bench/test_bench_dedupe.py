"""Deduper.check_and_insert vs a Python dict-with-expiry and cachetools.TTLCache.

Every round runs the same 20,000-key stream (25% duplicates) through a fresh
structure; each implementation reads the clock the same way (time.monotonic()
per call; payedge's default `now`). Ratios are of round medians.

Single calls pay PyO3's per-call cost, which is about what the dict version's
Python-level work costs, so single calls are near parity with a bare dict
(which, unlike Deduper, neither bounds its memory nor purges); the GIL-free
batch method shows the native speed.

The per-implementation tests give pytest-benchmark's table; the ratios that are
asserted come from `test_interleaved_ratios`, which runs all four round-robin
so that load from other processes on a shared machine hits them alike.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from cachetools import TTLCache
from payedge import Deduper
from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import QUICK, RatioRecorder

TTL = 259_200.0
ROUNDS = 5 if QUICK else 25
# Targets (the issue sets none for dedupe; these are what this 2-core shared
# machine gives under load, interleaved medians): `make bench` asserts them,
# CI (BENCH_QUICK) asserts half. The batch is bound by cache misses on the
# table (perf: the slot read of the key compare), not by locking or FFI.
TARGET_SINGLE_VS_TTLCACHE = 5.0
TARGET_BATCH_VS_DICT = 1.5  # measured 1.2-1.9x under load, about 2x when the machine was quieter
TARGET_BATCH_VS_TTLCACHE = 8.0


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


def _run_batch(d: Deduper) -> int:
    return sum(d.check_and_insert_many(KEYS))


# name -> (make a fresh structure, run the stream through it)
IMPLS: dict[str, tuple[Callable[[], object], Callable[[object], int]]] = {
    "python dict-with-expiry": (_dict_with_expiry, _run_singles),  # type: ignore[dict-item]
    "cachetools.TTLCache": (_ttl_cache, _run_singles),  # type: ignore[dict-item]
    "Deduper.check_and_insert": (_payedge_single, _run_singles),  # type: ignore[dict-item]
    "Deduper.check_and_insert_many": (lambda: Deduper(ttl=TTL), _run_batch),  # type: ignore[dict-item]
}


def _bench(benchmark: BenchmarkFixture, name: str) -> None:
    make, run = IMPLS[name]
    firsts = benchmark.pedantic(
        run, setup=lambda: ((make(),), {}), rounds=ROUNDS, iterations=1, warmup_rounds=1
    )
    assert firsts == FIRSTS


def test_dict_with_expiry(benchmark: BenchmarkFixture) -> None:
    _bench(benchmark, "python dict-with-expiry")


def test_cachetools_ttlcache(benchmark: BenchmarkFixture) -> None:
    _bench(benchmark, "cachetools.TTLCache")


def test_payedge_check_and_insert(benchmark: BenchmarkFixture) -> None:
    _bench(benchmark, "Deduper.check_and_insert")


def test_payedge_check_and_insert_many(benchmark: BenchmarkFixture) -> None:
    _bench(benchmark, "Deduper.check_and_insert_many")


def test_payedge_batch_from_threads(benchmark: BenchmarkFixture) -> None:
    """Four threads feeding one Deduper through the GIL-free batch (the server's shape)."""
    threads = 4
    chunks = [KEYS[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:

        def run(d: Deduper) -> int:
            return sum(sum(r) for r in pool.map(d.check_and_insert_many, chunks))

        firsts = benchmark.pedantic(
            run, setup=lambda: ((Deduper(ttl=TTL),), {}), rounds=ROUNDS, iterations=1, warmup_rounds=1
        )
    assert firsts == FIRSTS


def test_interleaved_ratios(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    """All four round-robin (in a shuffled order each round); the asserted ratios.

    Each ratio is the median over rounds of the ratio within a round, where the
    two runs are adjacent in time and so share the machine's load; the
    ratio of the overall medians is printed beside it.
    (pytest-benchmark times the whole round-robin: that row is not a peer figure.)
    """
    rounds = 9 if QUICK else 31
    times: dict[str, list[float]] = {name: [] for name in IMPLS}
    order = list(IMPLS)
    rng = random.Random(7)

    def round_robin() -> None:
        for _ in range(rounds):
            rng.shuffle(order)
            for name in order:
                make, run = IMPLS[name]
                subject = make()
                start = time.perf_counter()
                firsts = run(subject)
                times[name].append(time.perf_counter() - start)
                assert firsts == FIRSTS

    benchmark.pedantic(round_robin, rounds=1, iterations=1)
    for name, samples in times.items():
        ratios.medians[f"{name} (interleaved)"] = statistics.median(samples)

    def ratio(faster: str, slower: str) -> float:
        ratios.ratio(f"{faster} (interleaved)", f"{slower} (interleaved)")
        paired = statistics.median(s / f for f, s in zip(times[faster], times[slower], strict=True))
        ratios.lines.append(f"{faster} vs {slower}: {paired:.1f}x (median of {rounds} same-round ratios)")
        return paired

    assert ratio("Deduper.check_and_insert", "cachetools.TTLCache") >= floor(TARGET_SINGLE_VS_TTLCACHE)
    ratio("Deduper.check_and_insert", "python dict-with-expiry")  # printed only, see the module docs
    assert ratio("Deduper.check_and_insert_many", "python dict-with-expiry") >= floor(TARGET_BATCH_VS_DICT)
    assert ratio("Deduper.check_and_insert_many", "cachetools.TTLCache") >= floor(TARGET_BATCH_VS_TTLCACHE)
