"""A real SQLite store with the ledger's tables, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from payedge_server.ledger import schema
from payedge_server.store import schema as store_schema
from payedge_server.store.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "ledger.sqlite3")
    await s.open()
    await s.ensure_schema(store_schema.STATEMENTS + schema.STATEMENTS + schema.SQLITE_GUARDS)
    try:
        yield s
    finally:
        await s.close()
