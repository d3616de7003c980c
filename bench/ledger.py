"""Ledger benchmarks: durable transfers per second through the store, and checkout with and
without automatic postings, in ONE run (`python -m bench.ledger`, `make bench-ledger`).

transfers   One process, the real SqliteStore (WAL, synchronous=FULL: every acknowledged
            write is fsynced), the real engine. `--writers` coroutines each submit one
            transfer per `store.write` (the shape of an API request: the store group-commits
            them, many transfers per fsync); also batches of 100 transfers per write (the
            operator batch API's path: one write, and a savepoint per chain only if one of
            its transfers is refused). Two account patterns:
              spread: wallet i -> wallet j among 10,000 funded wallets (flag checked);
              hot:    every transfer debits the same wallet (flag checked on it each time).
            Checked after each round: the trial balance is equal and every acknowledged
            transfer is stored.
checkout    `payedge serve` with `--ledger-postings off`, then on (same commission rate,
            payee, customer metadata -> commission + invoice), wrk with bench/http's
            checkout.lua (create + confirm), rounds alternating between the two servers.

Rates are medians over `--rounds` rounds. Reference, not measured here: pgledger (a PostgreSQL
ledger) reports ~10,000 transfers/s with low contention and ~7,500/s on hot accounts on its
author's laptop (notes/providers-and-ledgers.md C.3).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from payedge_server.contracts import Tx
from payedge_server.ledger import engine
from payedge_server.ledger.model import Transfer
from payedge_server.ledger.service import LedgerService
from payedge_server.ledger.settings import LedgerSettings
from payedge_server.store import migrations
from payedge_server.store.sqlite import SqliteStore

WALLETS = 10_000
FUNDS = 10**12
BATCH = 100
TARGET_TRANSFERS = 10_000.0
TARGET_CHECKOUT_SLOWDOWN = 0.15


# ------------------------------------------------------------------------------------ transfers
def _now() -> int:
    return time.time_ns() // 1_000_000


class Ids:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.n = 0

    def __next__(self) -> str:
        self.n += 1
        return f"{self.prefix}{self.n}"


def _pairs(pattern: str, rnd: random.Random) -> Iterator[tuple[str, str]]:
    while True:
        j = rnd.randrange(WALLETS)
        if pattern == "hot":
            yield "wallet:hot:EUR", f"wallet:w{j}:EUR"
            continue
        i = rnd.randrange(WALLETS)
        if i != j:
            yield f"wallet:w{i}:EUR", f"wallet:w{j}:EUR"


async def _fund(store: SqliteStore) -> None:
    codes = ["wallet:hot:EUR", *(f"wallet:w{i}:EUR" for i in range(WALLETS))]
    for start in range(0, len(codes), 1000):
        chunk = codes[start : start + 1000]
        funding = [Transfer(f"fund-{c}", "external:bank:EUR", c, FUNDS, "EUR") for c in chunk]
        await store.write(lambda tx, f=funding: engine.create_linked(tx, f, _now()))


async def _round(
    store: SqliteStore, pattern: str, per_write: int, *, writers: int, seconds: float, ids: Ids
) -> tuple[float, float]:
    """(transfers acknowledged per second, CPU microseconds of this process per transfer)."""
    done = 0
    deadline = time.perf_counter() + seconds
    rnd = random.Random(len(ids.prefix) + ids.n)
    pairs = _pairs(pattern, rnd)

    def one(tx: Tx) -> None:
        d, c = next(pairs)
        engine.create_transfer(tx, Transfer(next(ids), d, c, 1 + rnd.randrange(500), "EUR"), _now())

    service = LedgerService(store, LedgerSettings())

    async def many() -> None:
        """The operator batch API's path (POST /v1/ledger/transfers), without HTTP."""
        batch = [Transfer(next(ids), *next(pairs), 1 + rnd.randrange(500), "EUR") for _ in range(per_write)]
        answer = await service.transfers(batch)
        assert all(r["result"] == "ok" for r in answer["results"]), answer

    async def writer() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            if per_write == 1:
                await store.write(one)
            else:
                await many()
            done += per_write

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return done / (time.perf_counter() - started), (time.process_time() - cpu) * 1e6 / max(done, 1)


async def _check(store: SqliteStore, expected: int) -> None:
    totals = await store.read(engine.trial_balance)
    assert all(t.balanced for t in totals.values()), totals
    row = await store.read(lambda tx: tx.fetchone("SELECT COUNT(*) FROM ledger_transfers"))
    assert row is not None and int(row[0]) == expected, (row, expected)


async def transfers(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="payedge-bench-ledger-") as tmp:
        store = SqliteStore(Path(tmp) / "ledger.sqlite3")
        await store.open()
        await migrations.upgrade(store)
        await _fund(store)
        stored = WALLETS + 1
        for per_write in (1, BATCH):
            for pattern in ("spread", "hot"):
                name = f"{pattern}, {'1 transfer' if per_write == 1 else f'{per_write} transfers'} per write"
                ids = Ids(f"{pattern[0]}{per_write}-")
                await _round(store, pattern, per_write, writers=args.writers, seconds=args.warmup, ids=ids)
                rounds, cpus = [], []
                for _ in range(args.rounds):
                    rate, cpu = await _round(
                        store, pattern, per_write, writers=args.writers, seconds=args.duration, ids=ids
                    )
                    rounds.append(rate)
                    cpus.append(cpu)
                stored += ids.n
                await _check(store, stored)
                cpu = statistics.median(cpus)
                results[name] = {"median": statistics.median(rounds), "rounds": rounds, "cpu_us": cpu}
                print(
                    f"  {name:<32} {statistics.median(rounds):>9,.0f} transfers/s, CPU {cpu:.0f} us per "
                    f"transfer (one core's ceiling {1e6 / cpu:,.0f}/s; rounds "
                    f"{' / '.join(f'{r:,.0f}' for r in rounds)})",
                    flush=True,
                )
        print(
            f"  store: {store.batched_writes:,} writes in {store.batches:,} commits "
            f"({store.batched_writes / max(store.batches, 1):.1f} writes per fsync)"
        )
        await store.close()
    return results


# ------------------------------------------------------------------------------------ checkout
SETTINGS = '[[commissions.rates]]\ncommission_type = "ticket_sale"\nbasis_points = 500\nfixed = 30\n'
_PAYMENT = {
    "amount": 1250,
    "currency": "EUR",
    "gateway": "sandbox",
    "payment_method": "pm_sandbox_ok",
    "payee": "bench-merchant",
    "commission_type": "ticket_sale",
}
PAYMENT = json.dumps(_PAYMENT, separators=(",", ":"))
WITH_CUSTOMER = json.dumps(
    {**_PAYMENT, "metadata": {"customer_email": "bench@example.com"}}, separators=(",", ":")
)
# name -> (--ledger-postings, create body): the same payment, posted or not; and with a customer
# in its metadata, which also issues (and numbers) an invoice in the paying transaction.
MODES = {
    "postings off": ("off", PAYMENT),
    "postings on": ("on", PAYMENT),
    "postings + invoice": ("on", WITH_CUSTOMER),
}


def checkout(args: argparse.Namespace) -> dict[str, Any]:
    from bench.http import run as http

    modes = MODES
    rates: dict[str, list[float]] = {name: [] for name in modes}
    p99: dict[str, list[float]] = {name: [] for name in modes}
    cpu: dict[str, list[float]] = {name: [] for name in modes}
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="payedge-bench-ledger-")))
        settings = work / "ledger.toml"
        settings.write_text(SETTINGS)
        servers = {}
        for name, (flag, body) in modes.items():
            port = http.free_port()
            cmd = [
                *http.payedge_serve_cmd(port, http.API_KEY, http.SECRET),
                "--config",
                str(settings),
                "--ledger-postings",
                flag,
            ]
            proc = stack.enter_context(http.server(cmd, port, work / str(port)))
            servers[name] = (port, proc, body)
            script_args = [http.API_KEY, "1", f"warm{port}", body]
            http.run_wrk(port, "checkout.lua", script_args, duration=args.warmup, threads=2, connections=64)
        for round_no in range(args.rounds):
            for name, (port, proc, body) in servers.items():
                http.settle_disk(work)
                script_args = [http.API_KEY, "1", f"r{round_no}-{port}", body]
                before = http.group_cpu_seconds(proc.pid)
                data = http.run_wrk(
                    port, "checkout.lua", script_args, duration=args.duration, threads=2, connections=64
                )
                assert data["failed"] == 0 and data["other"] == 0, data
                rates[name].append(data["succeeded"] / (data["duration_us"] / 1e6))
                p99[name].append(data["p99_us"] / 1000)
                cpu[name].append(
                    (http.group_cpu_seconds(proc.pid) - before) * 1e6 / max(data["succeeded"], 1)
                )
    out = {}
    for name in modes:
        out[name] = {
            "median": statistics.median(rates[name]),
            "rounds": rates[name],
            "p99_ms": statistics.median(p99[name]),
            "server_cpu_us": statistics.median(cpu[name]),
        }
        print(
            f"  checkout, {name:<18} {out[name]['median']:>7,.0f} checkouts/s, "
            f"p99 {out[name]['p99_ms']:.1f} ms, server CPU {out[name]['server_cpu_us']:.0f} us per checkout "
            f"(rounds {' / '.join(f'{r:,.0f}' for r in rates[name])})",
            flush=True,
        )
    return out


# ------------------------------------------------------------------------------------ report
def report(result: dict[str, Any]) -> list[str]:
    failures: list[str] = []

    def check(ok: bool, what: str) -> None:
        print(f"  [{'ok' if ok else 'MISS'}] {what}")
        if not ok:
            failures.append(what)

    print("targets:")
    single = result.get("transfers", {})
    for name, figures in single.items():
        if name.startswith("spread"):
            check(figures["median"] >= TARGET_TRANSFERS, f"{name}: >= {TARGET_TRANSFERS:,.0f} transfers/s")
    if "checkout" in result:
        runs = result["checkout"]
        off = runs["postings off"]
        for name in ("postings on", "postings + invoice"):
            rate, cpu = (
                runs[name]["median"] / off["median"],
                runs[name]["server_cpu_us"] / off["server_cpu_us"],
            )
            print(f"  checkout, {name} / postings off: {rate:.2f}x the rate, {cpu:.2f}x the server CPU")
        slowdown = 1 - runs["postings on"]["median"] / off["median"]
        check(
            slowdown <= TARGET_CHECKOUT_SLOWDOWN,
            f"checkout with postings at most {TARGET_CHECKOUT_SLOWDOWN:.0%} slower ({slowdown:+.0%})",
        )
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["transfers", "checkout"], default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured round")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--writers", type=int, default=128, help="concurrent writers (transfers)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result: dict[str, Any] = {}
    if args.only in (None, "transfers"):
        print(
            f"durable transfers through the store, one process, {args.writers} writers, "
            f"medians of {args.rounds}:"
        )
        result["transfers"] = asyncio.run(transfers(args))
    if args.only in (None, "checkout"):
        print(
            f"checkout (create + confirm, sandbox, Idempotency-Key), wrk -t2 -c64, medians of {args.rounds}:"
        )
        result["checkout"] = checkout(args)
    failures = report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
