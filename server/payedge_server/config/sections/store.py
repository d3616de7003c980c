"""[store]: the database (SPEC 7)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from payedge_server.config.fallbacks import Derived
from payedge_server.config.kinds import Url
from payedge_server.config.schema import Lookup, setting


def _in_data_dir(lookup: Lookup) -> str | None:
    data_dir = lookup("server.data_dir")
    return f"sqlite:///{data_dir / 'payedge.sqlite3'}" if isinstance(data_dir, Path) else None


def _supported(url: str) -> None:
    """The store module is the authority on what it can open (opening the URL touches nothing)."""
    from payedge_server.store import open_store

    open_store(url)


@dataclass(frozen=True)
class StoreConfig:
    database_url: str = setting(
        Url(("sqlite", "postgresql", "postgres"), check=_supported),
        "sqlite:///payedge-data/payedge.sqlite3",
        help="sqlite:///relative/path, sqlite:////absolute/path or postgresql://...",
        flag="--database-url",
        env="PAYEDGE_DATABASE_URL",
        fallback=Derived(
            _in_data_dir, doc="SQLite `payedge.sqlite3` in the data dir", note="from server.data_dir"
        ),
    )
