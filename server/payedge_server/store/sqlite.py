"""SQLite store: WAL, synchronous=FULL, one writer thread that group-commits.

Every `write(fn)` is queued to the writer thread. The writer takes everything
pending, opens ONE transaction, runs each callable inside its own SAVEPOINT
(a failing callable rolls back only its own savepoint), COMMITs once for the
whole batch, and then resolves all the batch's futures with a single
`loop.call_soon_threadsafe`. A caller is therefore answered only once its
changes are durable, and many callers share one fsync.

Reads run on the event-loop thread on a separate read-only connection (WAL
readers never wait for the writer and a point lookup costs microseconds, far
less than a thread hop); `read(fn)` wraps `fn` in one read transaction so it
sees a consistent snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from payedge_server import metrics

T = TypeVar("T")

log = logging.getLogger("payedge.store")

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-32768",
)


class SqliteTx:
    """The `contracts.Tx` given to write and read callables."""

    __slots__ = ("_after", "_conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._after: list[Callable[[], None]] | None = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._conn.execute(sql, params).fetchone()
        return row

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params).fetchall()

    def after_commit(self, callback: Callable[[], None]) -> None:
        if self._after is None:
            self._after = []
        self._after.append(callback)


class _Item:
    __slots__ = ("after", "error", "fn", "future", "result")

    def __init__(self, fn: Callable[[SqliteTx], Any], future: asyncio.Future[Any]) -> None:
        self.fn = fn
        self.future = future
        self.result: Any = None
        self.error: BaseException | None = None
        self.after: list[Callable[[], None]] | None = None


def _resolve(batch: list[_Item], commit_error: BaseException | None) -> None:
    """On the event loop: settle every future of a batch, then run after-commit callbacks."""
    for item in batch:
        fut = item.future
        if fut.done():
            continue
        if commit_error is not None:
            fut.set_exception(commit_error)
        elif item.error is not None:
            fut.set_exception(item.error)
        else:
            fut.set_result(item.result)
    if commit_error is None:
        for item in batch:
            if item.after:
                for cb in item.after:
                    try:
                        cb()
                    except Exception:
                        log.exception("after-commit callback failed")


class SqliteStore:
    """`contracts.Store` on one SQLite file."""

    def __init__(self, path: Path, *, max_batch: int = 2048) -> None:
        self.path = path
        self._max_batch = max_batch
        self._pending: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer_conn: sqlite3.Connection | None = None
        self.batches = 0
        self.batched_writes = 0

    # -- lifecycle ---------------------------------------------------------
    def _connect(self, *, readonly: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, cached_statements=256
        )
        for pragma in _PRAGMAS:
            if readonly and pragma.startswith("PRAGMA journal_mode"):
                continue
            conn.execute(pragma)
        if readonly:
            conn.execute("PRAGMA query_only=ON")
        return conn

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._loop = asyncio.get_running_loop()
        self._writer_conn = self._connect()
        self._reader = self._connect(readonly=True)
        self._thread = threading.Thread(target=self._run, name="payedge-store-writer", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        """Flush every queued write, commit, stop the writer and close connections."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
            self._thread = None
        # Settle futures whose resolution was scheduled by the writer's last batch.
        await asyncio.sleep(0)
        for conn in (self._writer_conn, self._reader):
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.close()
        self._writer_conn = self._reader = None

    # -- contracts.Store ---------------------------------------------------
    async def write(self, fn: Callable[[SqliteTx], T]) -> T:
        if self._closing or self._loop is None:
            raise RuntimeError("the store is closed")
        fut: asyncio.Future[T] = self._loop.create_future()
        item = _Item(fn, fut)
        with self._cond:
            self._pending.append(item)
            if len(self._pending) == 1:
                self._cond.notify()
        return await fut

    async def read(self, fn: Callable[[SqliteTx], T]) -> T:
        conn = self._reader
        if conn is None:
            raise RuntimeError("the store is closed")
        conn.execute("BEGIN")
        try:
            return fn(SqliteTx(conn))
        finally:
            conn.execute("COMMIT")

    async def ensure_schema(self, statements: Sequence[str]) -> None:
        def apply(tx: SqliteTx) -> None:
            for statement in statements:
                tx.execute(statement)

        await self.write(apply)

    def ping(self) -> bool:
        conn = self._reader
        if conn is None or self._thread is None or not self._thread.is_alive():
            return False
        try:
            conn.execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    # -- writer thread -----------------------------------------------------
    def _take(self) -> list[_Item] | None:
        with self._cond:
            while not self._pending:
                if self._closing:
                    return None
                self._cond.wait()
            n = min(len(self._pending), self._max_batch)
            return [self._pending.popleft() for _ in range(n)]

    def _run(self) -> None:
        conn = self._writer_conn
        loop = self._loop
        assert conn is not None and loop is not None
        while True:
            batch = self._take()
            if batch is None:
                return
            commit_error = self._run_batch(conn, batch)
            self.batches += 1
            self.batched_writes += len(batch)
            metrics.STORE_BATCH.observe(len(batch))
            try:
                loop.call_soon_threadsafe(_resolve, batch, commit_error)
            except RuntimeError:  # the loop is gone (shutdown): nobody waits any more
                return

    @staticmethod
    def _run_batch(conn: sqlite3.Connection, batch: list[_Item]) -> BaseException | None:
        execute = conn.execute
        try:
            execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            return exc
        for item in batch:
            tx = SqliteTx(conn)
            execute("SAVEPOINT w")
            try:
                item.result = item.fn(tx)
            except BaseException as exc:  # re-raised to the caller on the loop
                item.error = exc
                try:
                    execute("ROLLBACK TO w")
                    execute("RELEASE w")
                except sqlite3.Error as rollback_error:
                    log.error("savepoint rollback failed: %s", rollback_error)
            else:
                execute("RELEASE w")
                item.after = tx._after
        for attempt in range(50):
            try:
                execute("COMMIT")
                return None
            except sqlite3.OperationalError as exc:
                # Another process holds a read lock long enough to block the
                # checkpoint-free commit; retry briefly, then give up the batch.
                if "locked" not in str(exc) and "busy" not in str(exc):
                    break
                time.sleep(0.002 * (attempt + 1))
        with contextlib.suppress(sqlite3.Error):
            execute("ROLLBACK")
        return RuntimeError("store commit failed; nothing of this batch was written")
