"""asyncpg vs psycopg 3 on payedge's webhook path (the store's write contract), same run.

    python -m bench.store.pg_drivers [--seconds 5] [--writers 256] [--busy-us 60]

Each variant runs the webhook ingest's write (one `INSERT ... SELECT ... ON CONFLICT
DO NOTHING RETURNING` of a new event) through the store's contract: synchronous
callables, group-committed (every write issued while a batch commits joins the
next), answered after COMMIT, against a durable PostgreSQL 15 (fsync on) started
here. `--writers` tasks loop "busy-us of CPU (an HTTP request's own work), then one
write", so the event loop is as busy as under HTTP load, where a thread handing the
GIL back and forth with the loop pays for it.

Variants:
- asyncpg-greenlet: callables on the event loop in a greenlet; each statement awaits
  asyncpg (no thread, the loop serves others while PostgreSQL answers);
- psycopg-async-greenlet: the same with psycopg 3's AsyncConnection;
- psycopg-thread: psycopg 3's sync Connection on one writer thread per connection,
  callables run there (the GIL is handed over for every statement).
Prints writes/s (median of rounds) per variant and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import greenlet
import psycopg
import uvloop

from tests.support.postgres import postgres_server

DDL = """CREATE TABLE webhook_events (provider TEXT NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL,
    object_id TEXT, hint TEXT, outcome TEXT NOT NULL, effect TEXT, received_at BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id));
CREATE TABLE payments (id TEXT PRIMARY KEY, gateway TEXT NOT NULL, gateway_ref TEXT);
CREATE INDEX payments_ref ON payments (gateway, gateway_ref);"""
RECORD = (
    "INSERT INTO webhook_events (provider, event_id, type, object_id, hint, outcome, effect, received_at) "
    "SELECT {p}, {p}, {p}, {p}, {p}, CASE WHEN k.known THEN 'applied' ELSE 'unknown_object' END, "
    "CASE WHEN k.known THEN NULL ELSE {p} END, CAST({p} AS BIGINT) FROM (SELECT "
    "(EXISTS (SELECT 1 FROM payments WHERE gateway = {p} AND gateway_ref = {p}) "
    "OR EXISTS (SELECT 1 FROM payments WHERE id = {p} AND gateway = {p})) AS known) AS k WHERE true "
    "ON CONFLICT (provider, event_id) DO NOTHING RETURNING outcome"
)


def numbered(sql: str) -> str:
    out = []
    for n, part in enumerate(sql.split("{p}")[:-1], start=1):
        out.append(f"{part}${n}")
    return "".join(out) + sql.rsplit("{p}", maxsplit=1)[-1]


SQL_DOLLAR = numbered(RECORD)
SQL_PERCENT = RECORD.replace("{p}", "%s")
BEGIN_SQL = "BEGIN ISOLATION LEVEL " + __import__("os").environ.get("ISO", "SERIALIZABLE")
counter = iter(range(10**12))


def args_for() -> tuple[Any, ...]:
    n = next(counter)
    return ("stripe", f"evt_{n}", "payment_intent.succeeded", f"pi_{n}", None, '{"s":1}',
            time.time_ns() // 1_000_000, "stripe", f"pi_{n}", None, "stripe")  # fmt: skip


# -- the greenlet bridge --------------------------------------------------------------


def await_(awaitable: Awaitable[Any]) -> Any:
    parent = greenlet.getcurrent().parent
    assert parent is not None
    return parent.switch(awaitable)


async def run_sync(fn: Callable[..., Any], *args: Any) -> Any:
    child = greenlet.greenlet(fn)
    value = child.switch(*args)
    while not child.dead:
        try:
            result = await value
        except BaseException as exc:
            value = child.throw(exc)
        else:
            value = child.switch(result)
    return value


class GroupCommit:
    """Batches writes; `run_batch(items)` runs the callables and commits on one connection."""

    def __init__(
        self, connections: list[Any], run_batch: Callable[[Any, list[Any]], Awaitable[None]]
    ) -> None:
        self.free = list(connections)
        self.run_batch = run_batch
        self.pending: list[tuple[Callable[[Any], Any], asyncio.Future[Any]]] = []
        self.scheduled = False
        self.executing = False
        self.batches = 0
        self.writes = 0

    async def write(self, fn: Callable[[Any], Any]) -> Any:
        fut = asyncio.get_running_loop().create_future()
        self.pending.append((fn, fut))
        if self.free and not self.scheduled and not self.executing:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)
        return await fut

    def flush(self) -> None:
        self.scheduled = False
        if not self.pending or not self.free or self.executing:
            return
        conn = self.free.pop()
        batch, self.pending = self.pending, []
        self.executing = True
        self.batches += 1
        self.writes += len(batch)
        asyncio.get_running_loop().create_task(self._batch(conn, batch))

    def executed(self) -> None:
        """The batch's callables ran: the next batch may start while this one commits."""
        self.executing = False
        if self.pending and not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    async def _batch(self, conn: Any, batch: list[Any]) -> None:
        try:
            await self.run_batch(conn, batch)
        finally:
            self.executing = False
            self.free.append(conn)
            if self.pending and not self.scheduled:
                self.scheduled = True
                asyncio.get_running_loop().call_soon(self.flush)


def record_async(conn: Any, fetch: Callable[..., Awaitable[Any]]) -> Callable[[Any], Any]:
    args = args_for()
    return lambda _tx: await_(fetch(*args))


async def asyncpg_variant(url: str, nconn: int) -> GroupCommit:
    conns = [await asyncpg.connect(url) for _ in range(nconn)]

    async def run_batch(conn: asyncpg.Connection, batch: list[Any]) -> None:
        await conn.execute(BEGIN_SQL)
        results = []
        for fn, _fut in batch:
            results.append(await run_sync(fn, conn))
        store.executed()
        await conn.execute("COMMIT")
        for (_fn, fut), result in zip(batch, results, strict=True):
            fut.set_result(result)

    store = GroupCommit(conns, run_batch)
    store.make = lambda: lambda conn: await_(conn.fetchrow(SQL_DOLLAR, *args_for()))  # type: ignore[attr-defined]
    return store


async def psycopg_async_variant(url: str, nconn: int) -> GroupCommit:
    conns = [await psycopg.AsyncConnection.connect(url, autocommit=True) for _ in range(nconn)]

    async def fetchone(conn: psycopg.AsyncConnection[Any], args: tuple[Any, ...]) -> Any:
        cur = await conn.execute(SQL_PERCENT, args, prepare=True)
        return await cur.fetchone()

    async def run_batch(conn: psycopg.AsyncConnection[Any], batch: list[Any]) -> None:
        await conn.execute(BEGIN_SQL)
        results = [await run_sync(fn, conn) for fn, _fut in batch]
        store.executed()
        await conn.execute("COMMIT")
        for (_fn, fut), result in zip(batch, results, strict=True):
            fut.set_result(result)

    store = GroupCommit(conns, run_batch)
    store.make = lambda: lambda conn: await_(fetchone(conn, args_for()))  # type: ignore[attr-defined]
    return store


async def psycopg_thread_variant(url: str, nconn: int) -> GroupCommit:
    loop = asyncio.get_running_loop()
    conns = [psycopg.Connection.connect(url, autocommit=True) for _ in range(nconn)]
    jobs: dict[int, queue.SimpleQueue[Any]] = {}

    def worker(conn: psycopg.Connection[Any], q: queue.SimpleQueue[Any]) -> None:
        while True:
            job = q.get()
            if job is None:
                return
            batch, done = job
            conn.execute(BEGIN_SQL)
            results = [fn(conn) for fn, _fut in batch]
            loop.call_soon_threadsafe(executed)
            conn.execute("COMMIT")
            loop.call_soon_threadsafe(done.set_result, results)

    def executed() -> None:
        store.executed()

    for conn in conns:
        q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        jobs[id(conn)] = q
        threading.Thread(target=worker, args=(conn, q), daemon=True).start()

    async def run_batch(conn: psycopg.Connection[Any], batch: list[Any]) -> None:
        done = loop.create_future()
        jobs[id(conn)].put((batch, done))
        for (_fn, fut), result in zip(batch, await done, strict=True):
            fut.set_result(result)

    store = GroupCommit(conns, run_batch)
    store.make = lambda: (  # type: ignore[attr-defined]
        lambda conn: conn.execute(SQL_PERCENT, args_for(), prepare=True).fetchone()
    )
    store.stop = lambda: [q.put(None) for q in jobs.values()]  # type: ignore[attr-defined]
    return store


def burn(us: float) -> None:
    end = time.perf_counter() + us / 1e6
    while time.perf_counter() < end:
        pass


async def measure(store: GroupCommit, writers: int, seconds: float, busy_us: float) -> float:
    done = 0
    stop = time.monotonic() + seconds

    async def writer() -> None:
        nonlocal done
        while time.monotonic() < stop:
            burn(busy_us)
            await store.write(store.make())  # type: ignore[attr-defined]
            done += 1

    started = time.monotonic()
    cpu = time.process_time()
    pg_cpu = postgres_cpu()
    await asyncio.gather(*(writer() for _ in range(writers)))
    elapsed = time.monotonic() - started
    if isinstance(store, GroupCommit):
        print(f"    mean batch {store.writes / max(1, store.batches):.1f}", flush=True)
    print(
        f"    CPU per write: this process {(time.process_time() - cpu) * 1e6 / done:.0f} us, "
        f"PostgreSQL {(postgres_cpu() - pg_cpu) * 1e6 / done:.0f} us",
        flush=True,
    )
    return done / elapsed


def postgres_cpu() -> float:
    """CPU seconds of every postgres process (user + system)."""
    import os
    from pathlib import Path

    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def sqlite_variant(url: str, nconn: int) -> Any:
    import tempfile
    from pathlib import Path

    from payedge_server.store.sqlite import SqliteStore

    store = SqliteStore(Path(tempfile.mkdtemp()) / "bench.sqlite3")
    await store.open()
    await store.write(lambda tx: [tx.execute(s) for s in DDL.split(";")])
    sql = RECORD.replace("{p}", "?")

    def make() -> Callable[[Any], Any]:
        args = args_for()
        return lambda tx: tx.fetchone(sql, args)

    store.make = make  # type: ignore[attr-defined]
    return store


VARIANTS = {
    "sqlite (reference)": sqlite_variant,
    "asyncpg-greenlet": asyncpg_variant,
    "psycopg-async-greenlet": psycopg_async_variant,
    "psycopg-thread": psycopg_thread_variant,
}


async def run_round(url: str, name: str, a: argparse.Namespace) -> float:
    store = await VARIANTS[name](url, a.connections)
    await measure(store, a.writers, 0.5, a.busy_us)  # warm-up
    rate = await measure(store, a.writers, a.seconds, a.busy_us)
    stop = getattr(store, "stop", None)
    if stop:
        stop()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writers", type=int, default=256)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--busy-us", type=float, default=60.0)
    a = parser.parse_args()
    rates: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with postgres_server() as pg:
        for round_no in range(a.rounds):
            for name in VARIANTS:
                url = pg.create_database()
                pg.psql(DDL, url.rsplit("/", 1)[-1])
                rate = uvloop.run(run_round(url, name, a))
                rates[name].append(rate)
                print(f"round {round_no}: {name}: {rate:,.0f} writes/s", flush=True)
    medians = {name: statistics.median(r) for name, r in rates.items()}
    base = medians["psycopg-thread"]
    print(f"\nwebhook write, {a.writers} writers, {a.busy_us:g} us CPU each, {a.connections} connections:")
    for name, rate in medians.items():
        print(f"  {name:<24}{rate:>10,.0f} writes/s  ({rate / base:.2f}x psycopg-thread)")


if __name__ == "__main__":
    main()
