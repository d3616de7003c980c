"""Deduper memory per key, measured as process RSS growth, and insert rates.

Each configuration (implementation x number of keys x key length) runs in a
fresh Python subprocess, so that no allocator state leaks from one to the next:
the worker reads its RSS (``/proc/self/statm``), inserts ``n`` distinct keys of
the given length in chunks of 100,000 (the chunk's ``str`` objects are
overwritten in place, so Python's allocator reuses their memory and only the
structure under test grows), reads its RSS again and reports
``(rss_after - rss_before) / n`` and the keys inserted per second.

Implementations:

- ``payedge.Deduper``: the deduper of issue 16 (a 128-bit keyed digest per key),
  through ``check_and_insert_many`` (the GIL-free batch);
- ``legacy Deduper``: the deduper payedge shipped before (whole keys stored,
  same build: ``payedge._core._LegacyDeduper``), same batch API;
- ``python set``: a ``set`` of the keys (membership only: no TTL, no bound), the
  smallest thing plain Python can dedupe with; ``python dict``: the bench's
  ``dict`` of key -> expiry. Both keep every key ``str`` alive, so their memory
  is the keys plus the table. Their rate is a Python loop doing check-and-insert.

Usage: ``python -m bench.dedupe_memory [--quick]``. ``--quick`` (CI) measures
1 M keys of 35 bytes; the full run measures 1 M and 10 M keys of 35 and 90
bytes. ``bench/test_bench_dedupe.py`` runs it and asserts the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

CHUNK = 100_000
IMPLS = ("payedge.Deduper", "legacy Deduper", "python set", "python dict")
TTL = 259_200.0


@dataclass(frozen=True)
class Result:
    impl: str
    keys: int
    key_len: int
    bytes_per_key: float
    inserts_per_s: float


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _key(i: int, key_len: int) -> str:
    # "evt_" + zero-padded decimal: distinct, exactly key_len ASCII bytes
    return f"evt_{i:0{key_len - 4}d}"


def _structure(impl: str, n: int) -> object:
    import payedge
    from payedge._core import _LegacyDeduper

    if impl == "payedge.Deduper":
        return payedge.Deduper(TTL, max(n, 1))
    if impl == "legacy Deduper":
        return _LegacyDeduper(TTL, max(n, 1))
    return set() if impl == "python set" else {}


def _insert(structure: Any, chunk: list[str]) -> None:
    """One chunk, the way each structure is used to dedupe (check, then insert)."""
    if isinstance(structure, set):
        for key in chunk:
            if key not in structure:
                structure.add(key)
    elif isinstance(structure, dict):
        now = time.monotonic()
        for key in chunk:
            expires = structure.get(key)
            if expires is None or expires <= now:
                structure[key] = now + TTL
    else:
        firsts = structure.check_and_insert_many(chunk)
        assert all(firsts)


def _worker(impl: str, n: int, key_len: int) -> Result:
    """Insert `n` keys into one `impl`; returns its RSS growth and rate."""
    chunk = [_key(i, key_len) for i in range(min(CHUNK, n))]
    structure: Any = _structure(impl, n)
    before = _rss()
    elapsed = 0.0
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        if start:
            del chunk[size:]
            for j in range(size):
                chunk[j] = _key(start + j, key_len)
        began = time.perf_counter()
        _insert(structure, chunk)
        elapsed += time.perf_counter() - began
    after = _rss()
    assert len(structure) == n
    return Result(impl, n, key_len, (after - before) / n, n / elapsed)


def measure(impl: str, n: int, key_len: int) -> Result:
    """`_worker` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.dedupe_memory", "--worker", impl, str(n), str(key_len)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    return Result(**json.loads(out.stdout))


def run(quick: bool) -> list[Result]:
    sizes = (1_000_000,) if quick else (1_000_000, 10_000_000)
    lengths = (35,) if quick else (35, 90)
    return [measure(impl, n, key_len) for n in sizes for key_len in lengths for impl in IMPLS]


def report(results: list[Result]) -> list[str]:
    """A table and the ratios against payedge.Deduper, one line each."""
    lines = [f"{'implementation':<18} {'keys':>11} {'key B':>6} {'B/key':>8} {'M inserts/s':>12}"]
    for r in results:
        rate = r.inserts_per_s / 1e6
        lines.append(f"{r.impl:<18} {r.keys:>11,} {r.key_len:>6} {r.bytes_per_key:>8.1f} {rate:>12.2f}")
    for r in results:
        if r.impl == "payedge.Deduper":
            continue
        new = next(
            x for x in results if x.impl == "payedge.Deduper" and (x.keys, x.key_len) == (r.keys, r.key_len)
        )
        lines.append(
            f"payedge.Deduper vs {r.impl} ({r.keys:,} keys of {r.key_len} B): "
            f"{r.bytes_per_key / new.bytes_per_key:.1f}x less memory, "
            f"{new.inserts_per_s / r.inserts_per_s:.1f}x the inserts/s"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 M keys of 35 bytes only (CI)")
    parser.add_argument("--worker", nargs=3, metavar=("IMPL", "N", "KEY_LEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        impl, n, key_len = args.worker
        print(json.dumps(_worker(impl, int(n), int(key_len)).__dict__))
        return
    for line in report(run(args.quick)):
        print(line)


if __name__ == "__main__":
    main()
