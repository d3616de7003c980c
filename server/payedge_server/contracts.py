"""Interfaces shared by the server's parts: store, payments, live status, parking.

Each part owns its implementation; these Protocols are what the others may rely
on. Change one only together with every user of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Tx(Protocol):
    """One open transaction on the store. SQL uses `?` placeholders.

    The SQL must run on both stores (SQLite and PostgreSQL): `?` placeholders,
    `ON CONFLICT ... DO NOTHING/UPDATE`, `RETURNING`, `CAST(? AS BIGINT)` where a
    parameter's type cannot be inferred (a SELECT list), no `INSERT OR ...`, no
    SQLite-only functions (two-argument MAX/MIN, `last_insert_rowid()`). Values are
    typed as their columns: int for INTEGER/BIGINT, str for TEXT, bytes for BLOB.
    """

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns the number of rows changed."""
        ...

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the event loop once this write is committed (never if it rolls back).

        Added for live publishing: a change made inside a write (a payment
        transition, a parking session update) must reach live subscribers only
        after it is durable, and the code making it (a hook, `create_in_tx`) has
        no other way to know when that is.
        """
        ...

    def lock(self, name: str) -> None:
        """Serialise this transaction with every other one taking the lock `name`, until it ends.

        For rows whose ids must be committed in id order (the outbox, which its relay
        reads as "id > last seen"): SQLite's single writer already does it; PostgreSQL
        takes `pg_advisory_xact_lock`.
        """
        ...


class Store(Protocol):
    """A transactional store that group-commits: SQLite (store/sqlite.py) or PostgreSQL (store/postgres.py).

    `write(fn)` runs `fn(tx)` as if alone (serializable), inside a savepoint of
    the current batch transaction, and resolves only once that batch is committed
    and durable; if `fn` raises, only its own changes are rolled back and the
    exception is re-raised to the caller. `fn` is synchronous and quick: no
    network I/O, no awaiting, no effect outside `tx` but `tx.after_commit`: the
    store may run it more than once (a batch undone because another callable
    raised, a PostgreSQL serialization conflict) and keeps only the last run.
    `read(fn)` runs `fn` on a consistent snapshot. Either raises
    `store.errors.StoreUnavailableError` (503 `store_unavailable`) when the
    database cannot be reached or written, within bounded time.
    """

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql": for the rare statement that must differ (migrations)."""
        ...

    async def write(self, fn: Callable[[Tx], T]) -> T: ...

    async def read(self, fn: Callable[[Tx], T]) -> T: ...

    async def exclusive(self, name: str, fn: Callable[[Tx], T]) -> T:
        """`fn` alone in its own transaction, under the lock `name` held across instances (migrations)."""
        ...


class LivePublisher(Protocol):
    """Fan-out of live events to WebSocket and long-poll clients.

    Channels are `payment:<id>`, `session:<id>`, `terminal:<id>`, `system`;
    every event carries an integer `version` that grows per channel.
    """

    def publish(self, channel: str, event: dict[str, Any]) -> None: ...


StatusLookup = Callable[[str], Awaitable[dict[str, Any] | None]]
"""Reads a payment's current public status from the store (for long-poll and WebSocket snapshots)."""
