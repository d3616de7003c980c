"""The store's one error a client sees: `store_unavailable` (503), for both stores.

Raised when the database cannot be reached (PostgreSQL down, a connection lost
before its COMMIT was answered, no connection free within the bounded wait) or
cannot take the write (SQLite: disk full, I/O error). Every wait on the store is
bounded, so a request gets this answer instead of hanging; nothing of a write that
gets it was acknowledged (it may or may not have been committed if the connection
died during COMMIT: a client retries, with an Idempotency-Key where it matters).
"""

from __future__ import annotations

from payedge_server.errors import DomainError


class StoreUnavailableError(DomainError):
    def __init__(self, why: str) -> None:
        super().__init__("store_unavailable", f"the store is unavailable ({why}); retry later")
