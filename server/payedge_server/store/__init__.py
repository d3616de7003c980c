"""The store: one interface (`contracts.Store`), implementations chosen by `--database-url`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from payedge_server.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from payedge_server.store.postgres import PostgresStore


class UnsupportedDatabaseError(ValueError):
    pass


def open_store(database_url: str) -> SqliteStore | PostgresStore:
    """The store for a URL: `sqlite:///relative/or/absolute/path` or `postgresql://user@host:port/db`.

    Nothing is opened or connected here (`await store.open()` does it).
    """
    if database_url.startswith("sqlite:///"):
        raw = database_url[len("sqlite:///") :]
        # SQLAlchemy's convention: sqlite:///rel/path is relative to the working
        # directory, sqlite:////abs/path absolute. As a convenience, a relative path
        # whose first directory does not exist here but exists at the root
        # (sqlite:///tmp/x/db.sqlite3) is taken as absolute.
        path = Path(raw)
        if not path.is_absolute() and len(path.parts) > 1:
            first = path.parts[0]
            if not Path(first).exists() and (Path("/") / first).is_dir():
                path = Path("/") / path
        return SqliteStore(path)
    if database_url.startswith(("postgresql://", "postgres://")):
        from payedge_server.store.postgres import PostgresStore

        return PostgresStore(database_url)
    raise UnsupportedDatabaseError(
        f"unsupported --database-url {database_url!r}: use sqlite:///path or postgresql://..."
    )
