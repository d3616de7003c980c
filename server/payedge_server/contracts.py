"""Interfaces shared by the server's parts: store, payments, live status, parking.

Each part owns its implementation; these Protocols are what the others may rely
on. Change one only together with every user of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Tx(Protocol):
    """One open transaction on the store. SQL uses `?` placeholders."""

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


class Store(Protocol):
    """A transactional store with a single writer that group-commits.

    `write(fn)` runs `fn(tx)` inside a savepoint of the current batch
    transaction (SQLite: on the event-loop thread, while the single writer
    thread does the COMMIT; see store/sqlite.py) and resolves only once that
    batch is committed and durable; if `fn` raises, only its own savepoint is rolled back and the
    exception is re-raised to the caller. `fn` is synchronous and quick: no
    network I/O, no awaiting. `read(fn)` runs `fn` on a read connection.
    """

    async def write(self, fn: Callable[[Tx], T]) -> T: ...

    async def read(self, fn: Callable[[Tx], T]) -> T: ...


class LivePublisher(Protocol):
    """Fan-out of live events to WebSocket and long-poll clients.

    Channels are `payment:<id>`, `session:<id>`, `terminal:<id>`, `system`;
    every event carries an integer `version` that grows per channel.
    """

    def publish(self, channel: str, event: dict[str, Any]) -> None: ...


StatusLookup = Callable[[str], Awaitable[dict[str, Any] | None]]
"""Reads a payment's current public status from the store (for long-poll and WebSocket snapshots)."""
