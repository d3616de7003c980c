"""Versioned, forward-only schema migrations, applied at start under the store's write lock.

`schema_migrations` records the versions applied. Each version is a module
`vNNNN_<name>.py` with the statements of each store dialect (`SQLITE`); a
database is brought from its version to the newest in ONE transaction (SQLite's
DDL is transactional), so a crash leaves it at its old version, never half-way.
Several processes starting at once serialise on the store's write lock; the
second finds the work done. A database newer than this release is refused
rather than written with an older idea of the schema.

Never edit a released migration: add the next version.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass
from types import ModuleType

from payedge_server.contracts import Store, Tx

log = logging.getLogger("payedge.migrations")

_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer payedge: this release will not touch it."""


def _load(module: ModuleType, dialect: str) -> Migration:
    stem = module.__name__.rsplit(".", 1)[-1]
    version = int(stem[1:5])
    return Migration(version, stem[6:], tuple(getattr(module, dialect.upper())))


def migrations(dialect: str = "sqlite") -> list[Migration]:
    """Every version, in order (found as modules of this package)."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("v") and info.name[1:5].isdigit():
            found.append(_load(importlib.import_module(f"{__name__}.{info.name}"), dialect))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migration versions must be 1..n without gaps, found {versions}")
    return found


def latest() -> int:
    return len(migrations())


def current_in_tx(tx: Tx) -> int:
    tx.execute(_TABLE)
    row = tx.fetchone("SELECT MAX(version) FROM schema_migrations")
    return int(row[0]) if row and row[0] is not None else 0


def upgrade_in_tx(tx: Tx, pending: list[Migration], now_ms: int) -> list[int]:
    """Apply the versions the database lacks; returns those applied."""
    current = current_in_tx(tx)
    newest = pending[-1].version if pending else 0
    if current > newest:
        raise SchemaTooNewError(
            f"the database is at schema version {current}, newer than this release's {newest}: "
            "upgrade payedge, or restore a backup"
        )
    applied = []
    for migration in pending:
        if migration.version <= current:
            continue
        for statement in migration.statements:
            tx.execute(statement)
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, now_ms),
        )
        applied.append(migration.version)
    return applied


async def upgrade(store: Store, dialect: str = "sqlite") -> list[int]:
    import time

    pending = migrations(dialect)
    now = time.time_ns() // 1_000_000
    applied = await store.write(lambda tx: upgrade_in_tx(tx, pending, now))
    if applied:
        log.info("schema upgraded to version %d (applied %s)", pending[-1].version, applied)
    return applied
