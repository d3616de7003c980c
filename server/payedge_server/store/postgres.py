"""PostgreSQL store: the same contract as SQLite (answered only after COMMIT), on asyncpg.

Writes are group-committed as on SQLite: every `write(fn)` issued while the
connections are busy joins the next batch, and a batch is ONE transaction whose
callables are isolated as if each had its own SAVEPOINT (the whole batch runs
under one savepoint; if a callable raises, the batch is undone and re-run with a
savepoint per callable, so only that callable's changes are dropped). Up to
`WRITE_CONNECTIONS` batches run at once, each on its own connection, so the
round trips of one batch overlap the COMMIT (the WAL flush) of another, and
PostgreSQL flushes concurrent commits together.

Where the callables run: on the event loop, in a greenlet (`store/bridge.py`):
each statement awaits asyncpg while the loop serves other requests. Measured
against psycopg 3 (its sync connection on writer threads, and its async one
through the same bridge) on the webhook write: bench/store/pg_drivers.py and
docs/scaling.md.

Isolation: SERIALIZABLE. SQLite runs every write alone, and the parts rely on it
(read a payment, decide, write it back; check a key, then insert). SERIALIZABLE
gives the same guarantee across connections and instances: PostgreSQL aborts a
transaction that could break it (SQLSTATE 40001, and deadlocks 40P01), and the
batch is run again, still as ONE transaction (with the same savepoint split if a
callable raises), up to `RETRIES` times with a growing random backoff, in the
serial lane: while a conflicted batch is re-run, no new batch starts on this
instance, so only the batches already running (each of which, if it conflicts in
turn, queues behind it) or another instance can conflict with it again. After a
conflict the instance also runs one batch at a time for `SERIAL_HOLD` (doubled,
up to `SERIAL_HOLD_MAX`, when conflicts come back as soon as it goes parallel
again): the writes that arrive meanwhile join the next batch, so contention on a
hot row (the ledger's clearing and revenue accounts, the invoice counter, a
wallet) degrades to SQLite's one-writer order in group-committed batches, one
COMMIT per batch rather than per write. Work without conflicts (webhook ingest)
keeps `WRITE_CONNECTIONS` batches in flight. Callables are functions of the
database state, so a re-run gives the answer a serial order would have.

Failures a client sees as `store_unavailable` (503), never a hang: no connection
within `ACQUIRE_SECONDS` (PostgreSQL down: connecting fails at once), a statement
over `STATEMENT_SECONDS`, a connection lost. A batch whose connection is lost
before COMMIT was sent is run again on a new connection (nothing of it was
committed); one lost during COMMIT may or may not be committed, and is answered 503.

Reads run on their own connections. A read callable's first statement runs on
its own (one round trip); if it issues a second, it is run again from the start
inside a REPEATABLE READ READ ONLY transaction, so a multi-statement read sees one
consistent snapshot, as on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

import asyncpg

from payedge_server import metrics
from payedge_server.errors import RequestError
from payedge_server.store.bridge import await_, run_sync
from payedge_server.store.errors import StoreUnavailableError
from payedge_server.store.sql import rowcount, to_dollar

T = TypeVar("T")
log = logging.getLogger("payedge.store")

WRITE_CONNECTIONS: Final = 4
READ_CONNECTIONS: Final = 4
ACQUIRE_SECONDS: Final = 5.0
CONNECT_SECONDS: Final = 3.0
STATEMENT_SECONDS: Final = 10.0
RETRIES: Final = 8
# After a conflict, one batch at a time for this long (seconds); doubled, up to the max, when a
# conflict comes within one hold of going parallel again (the contention lasts), else reset.
SERIAL_HOLD: Final = 0.25
SERIAL_HOLD_MAX: Final = 4.0
BEGIN: Final = "BEGIN ISOLATION LEVEL SERIALIZABLE"
BEGIN_READ: Final = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

# Errors that end a connection: it is dropped, and the store may be down.
_LOST = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)
# Errors after which the same work, run again, may succeed (another transaction was in the way).
_CONFLICT = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for `name`."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class _Doomed(Exception):
    """The transaction cannot go on (`cause`: a lost connection or a serialization conflict)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _NeedSnapshot(BaseException):
    """A read callable issued a second statement: run it again inside a snapshot transaction."""


class PgTx:
    """The `contracts.Tx` given to write and read callables."""

    __slots__ = ("_after", "_conn", "_first_only", "_statements", "doom")

    def __init__(self, conn: asyncpg.Connection, *, first_only: bool = False) -> None:
        self._conn = conn
        self._after: list[Callable[[], None]] | None = None
        self._first_only = first_only
        self._statements = 0
        self.doom: BaseException | None = None

    def _run(self, call: Any, sql: str, params: Sequence[Any]) -> Any:
        if self.doom is not None:
            raise _Doomed(self.doom)
        self._statements += 1
        if self._first_only and self._statements > 1:
            raise _NeedSnapshot
        for value in params:
            if isinstance(value, str) and "\x00" in value:
                # PostgreSQL's text cannot hold U+0000 (SQLite's can): refuse it as bad input.
                raise RequestError("parameter_invalid", "text may not contain the NUL character (U+0000)")
        try:
            return await_(call(to_dollar(sql), *params))
        except (*_LOST, *_CONFLICT) as exc:
            if not isinstance(exc, asyncpg.DataError):  # a bad argument, not a lost connection
                self.doom = exc
            raise

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return rowcount(self._run(self._conn.execute, sql, params))

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self._run(self._conn.fetchrow, sql, params)
        return None if row is None else tuple(row)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._run(self._conn.fetch, sql, params)]

    def after_commit(self, callback: Callable[[], None]) -> None:
        if self._after is None:
            self._after = []
        self._after.append(callback)

    def lock(self, name: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (lock_key(name),))


class _Item:
    __slots__ = ("after", "error", "fn", "future", "result")

    def __init__(self, fn: Callable[[PgTx], Any], future: asyncio.Future[Any]) -> None:
        self.fn = fn
        self.future = future
        self.result: Any = None
        self.error: BaseException | None = None
        self.after: list[Callable[[], None]] | None = None

    def reset(self) -> None:
        self.result = self.error = self.after = None


class _Pool:
    """Connections to one database: at most `size`, made on demand, waits bounded."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn = dsn
        self.size = size
        self._idle: list[asyncpg.Connection] = []
        self._count = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def _connect(self) -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(
            self.dsn,
            timeout=CONNECT_SECONDS,
            command_timeout=STATEMENT_SECONDS,
            statement_cache_size=1024,
            server_settings={"application_name": "payedge"},
        )
        return conn

    async def acquire(self) -> asyncpg.Connection:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ACQUIRE_SECONDS
        while True:
            if self._idle:
                return self._idle.pop()
            if self._count < self.size:
                self._count += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._count -= 1
                    self._wake()
                    raise
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def release(self, conn: asyncpg.Connection, *, broken: bool = False) -> None:
        if broken or conn.is_closed():
            self._count -= 1
            conn.terminate()
            # The server may have restarted: the idle connections are likely dead too.
            for idle in self._idle:
                idle.terminate()
            self._count -= len(self._idle)
            self._idle.clear()
        else:
            self._idle.append(conn)
        self._wake()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2.0)
        self._count -= len(idle)


class PostgresStore:
    """`contracts.Store` on a PostgreSQL database (`postgresql://user:pass@host:port/db`)."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self._writers = _Pool(url, WRITE_CONNECTIONS)
        self._readers = _Pool(url, READ_CONNECTIONS)
        self._pending: list[_Item] = []
        self._active = 0
        self._scheduled = False
        self._closing = False
        self._lane = asyncio.Lock()
        self._idle: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._hold = SERIAL_HOLD
        self._serial_until = 0.0
        self._running = 0  # batches on a connection now, outside the lane
        self._quiet: asyncio.Event | None = None  # set when `_running` is 0
        self.batches = 0
        self.batched_writes = 0
        self.retries = 0
        self.conflicts = 0

    # -- lifecycle ---------------------------------------------------------
    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._idle = asyncio.Event()
        self._idle.set()
        self._quiet = asyncio.Event()
        self._quiet.set()
        try:
            conn = await self._writers.acquire()
        except (*_LOST, OSError) as exc:
            raise StoreUnavailableError(f"cannot connect to PostgreSQL: {exc}") from exc
        except asyncpg.PostgresError as exc:  # refused at login: password, role, database
            raise StoreUnavailableError(f"PostgreSQL refused the connection: {exc}") from exc
        self._writers.release(conn)

    async def close(self) -> None:
        """Commit every queued write, then close the connections."""
        self._closing = True
        if self._idle is not None:
            while self._active or self._pending:
                self._idle.clear()
                self._flush()
                await self._idle.wait()
        await self._writers.close()
        await self._readers.close()
        self._loop = None

    # -- contracts.Store ---------------------------------------------------
    async def write(self, fn: Callable[[PgTx], T]) -> T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the store is closed")
        fut: asyncio.Future[T] = loop.create_future()
        self._pending.append(_Item(fn, fut))
        if not self._scheduled and self._active < WRITE_CONNECTIONS:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await fut

    async def read(self, fn: Callable[[PgTx], T]) -> T:
        if self._loop is None:
            raise RuntimeError("the store is closed")
        for attempt in range(2):
            conn = await self._acquire(self._readers)
            broken = False
            try:
                return await self._read_on(conn, fn)
            except _LOST as exc:
                broken = True
                if attempt == 1:
                    raise StoreUnavailableError(f"connection lost: {exc}") from exc
            finally:
                self._readers.release(conn, broken=broken)
        raise AssertionError("unreachable")

    async def exclusive(self, name: str, fn: Callable[[PgTx], T]) -> T:
        """`fn` in its own READ COMMITTED transaction holding the advisory lock `name` (migrations:
        a second instance waits, then sees the first's work as committed)."""
        conn = await self._acquire(self._writers)
        broken = False
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_key(name))
                return await run_sync(fn, PgTx(conn))
        except _LOST as exc:
            broken = True
            raise StoreUnavailableError(f"connection lost: {exc}") from exc
        finally:
            self._writers.release(conn, broken=broken)

    async def ping(self) -> bool:
        try:
            return await self.read(lambda tx: tx.fetchone("SELECT 1")) == (1,)
        except Exception:
            return False

    # -- reads ---------------------------------------------------------------
    async def _acquire(self, pool: _Pool) -> asyncpg.Connection:
        try:
            return await pool.acquire()
        except TimeoutError as exc:
            raise StoreUnavailableError("no database connection free in time") from exc
        except (*_LOST, OSError) as exc:
            raise StoreUnavailableError(f"cannot connect to PostgreSQL: {exc}") from exc

    @staticmethod
    async def _read_on(conn: asyncpg.Connection, fn: Callable[[PgTx], T]) -> T:
        try:
            return await run_sync(fn, PgTx(conn, first_only=True))
        except _NeedSnapshot:
            pass
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return await run_sync(fn, PgTx(conn))

    # -- batches -------------------------------------------------------------
    def _flush(self) -> None:
        self._scheduled = False
        busy = self._active >= self._parallelism() or self._lane.locked()
        if not self._pending or busy or self._loop is None:
            if not self._pending and not self._active and self._idle is not None:
                self._idle.set()
            return
        batch, self._pending = self._pending, []
        self._active += 1
        task = self._loop.create_task(self._run_batch(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_batch(self, batch: list[_Item]) -> None:
        try:
            await self._commit_with_retries(batch)
        except Exception as exc:  # store_unavailable, or a bug: every caller gets it rather than a hang
            if not isinstance(exc, StoreUnavailableError):
                log.exception("store batch failed")
            self._settle(batch, exc)
        finally:
            self._active -= 1
            if self._pending and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)
            elif not self._pending and not self._active and self._idle is not None:
                self._idle.set()

    def _parallelism(self) -> int:
        """How many batches may run at once: one while conflicts are recent, else `WRITE_CONNECTIONS`."""
        if self._loop is not None and self._loop.time() < self._serial_until:
            return 1
        return WRITE_CONNECTIONS

    def _conflicted(self) -> None:
        """A batch met a serialization conflict: run one batch at a time for a while."""
        assert self._loop is not None
        now = self._loop.time()
        self.conflicts += 1
        if now < self._serial_until:
            pass  # already serial: a batch started before, or another instance; same hold
        elif now < self._serial_until + self._hold:  # conflicting again right after going parallel
            self._hold = min(self._hold * 2, SERIAL_HOLD_MAX)
        else:
            self._hold = SERIAL_HOLD
        self._serial_until = now + self._hold

    async def _commit_with_retries(self, batch: list[_Item]) -> None:
        """Commit `batch`; after a conflict, again as one transaction in the serial lane."""
        assert self._quiet is not None
        self._running += 1
        self._quiet.clear()
        try:
            await self._attempt_on_new_connection(batch)
        except _Doomed as doomed:
            if not isinstance(doomed.cause, _CONFLICT):
                raise StoreUnavailableError(str(doomed.cause)) from doomed.cause
        else:
            self._settle(batch, None)
            return
        finally:
            self._running -= 1
            if not self._running:
                self._quiet.set()
        self._conflicted()
        async with self._lane:
            # No new batch starts while the lane is held; the ones still running finish (or
            # queue here) first, so the re-run meets no other batch of this instance.
            await self._quiet.wait()
            await self._commit_in_lane(batch)
        if self._pending and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    async def _commit_in_lane(self, batch: list[_Item]) -> None:
        for attempt in range(RETRIES):
            self.retries += 1
            metrics.STORE_RETRIES.inc()
            if attempt:  # only another instance was in the way: back off
                await asyncio.sleep(random.uniform(0, 0.002 * 2**attempt))
            try:
                await self._attempt_on_new_connection(batch)
            except _Doomed as doomed:
                if not isinstance(doomed.cause, _CONFLICT):
                    raise StoreUnavailableError(str(doomed.cause)) from doomed.cause
                self._conflicted()
                continue
            self._settle(batch, None)
            return
        self._settle(batch, StoreUnavailableError("too many conflicting concurrent writes"))

    async def _attempt_on_new_connection(self, batch: list[_Item]) -> None:
        """One attempt; a connection lost before COMMIT is replaced once (nothing was committed)."""
        for attempt in range(2):
            conn = await self._acquire(self._writers)
            broken = False
            try:
                await self._attempt(conn, batch)
                return
            except _Doomed as doomed:
                broken = isinstance(doomed.cause, _LOST)
                if not broken:
                    await self._rollback(conn)
                    raise
                if attempt == 1:
                    raise StoreUnavailableError(f"connection lost: {doomed.cause}") from doomed.cause
            except _CommitUnknownError as exc:
                broken = True
                raise StoreUnavailableError(f"connection lost during COMMIT: {exc.__cause__}") from exc
            finally:
                self._writers.release(conn, broken=broken)

    async def _rollback(self, conn: asyncpg.Connection) -> None:
        with contextlib.suppress(*_LOST, asyncpg.PostgresError):
            await conn.execute("ROLLBACK")

    async def _statement(self, conn: asyncpg.Connection, sql: str) -> None:
        try:
            await conn.execute(sql)
        except (*_LOST, *_CONFLICT) as exc:
            raise _Doomed(exc) from exc

    async def _attempt(self, conn: asyncpg.Connection, batch: list[_Item]) -> None:
        for item in batch:
            item.reset()
        if len(batch) == 1:
            await self._statement(conn, BEGIN)
            await self._run_one(conn, batch[0], savepoint=False)
        else:
            await self._statement(conn, BEGIN + "; SAVEPOINT batch")
            if not await self._run_optimistic(conn, batch):
                await self._run_isolated(conn, batch)
        if batch[0].error is not None and len(batch) == 1:
            await self._statement(conn, "ROLLBACK")
            return
        try:
            await conn.execute("COMMIT")
        except _CONFLICT as exc:
            raise _Doomed(exc) from exc
        except _LOST as exc:
            raise _CommitUnknownError from exc

    async def _run_optimistic(self, conn: asyncpg.Connection, batch: list[_Item]) -> bool:
        """Run the whole batch under ONE savepoint; False (all undone) if any callable raised."""
        for item in batch:
            tx = PgTx(conn)
            try:
                item.result = await run_sync(item.fn, tx)
            except Exception:
                self._check(tx)
                await self._statement(conn, "ROLLBACK TO batch")
                for undone in batch:
                    undone.reset()
                return False
            self._check(tx)
            item.after = tx._after
        return True

    async def _run_isolated(self, conn: asyncpg.Connection, batch: list[_Item]) -> None:
        for item in batch:
            await self._statement(conn, "SAVEPOINT w")
            await self._run_one(conn, item, savepoint=True)

    async def _run_one(self, conn: asyncpg.Connection, item: _Item, *, savepoint: bool) -> None:
        tx = PgTx(conn)
        try:
            item.result = await run_sync(item.fn, tx)
        except Exception as exc:  # handed back to its caller
            self._check(tx)
            item.error = exc
            if savepoint:
                await self._statement(conn, "ROLLBACK TO w; RELEASE w")
            return
        self._check(tx)
        item.after = tx._after
        if savepoint:
            await self._statement(conn, "RELEASE w")

    @staticmethod
    def _check(tx: PgTx) -> None:
        if tx.doom is not None:
            raise _Doomed(tx.doom)

    def _settle(self, batch: list[_Item], error: BaseException | None) -> None:
        """Resolve the futures of a batch (committed, or failed as a whole); run after-commit callbacks."""
        if error is None:
            self.batches += 1
            self.batched_writes += len(batch)
            metrics.STORE_BATCH.observe(len(batch))
        for item in batch:
            fut = item.future
            if fut.done():
                continue
            if error is not None:
                fut.set_exception(error)
            elif item.error is not None:
                fut.set_exception(item.error)
            else:
                fut.set_result(item.result)
                for callback in item.after or ():
                    try:
                        callback()
                    except Exception:
                        log.exception("after-commit callback failed")


class _CommitUnknownError(Exception):
    """The connection was lost while COMMIT was in flight: the outcome is unknown."""
