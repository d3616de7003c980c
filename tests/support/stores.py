"""Which store the store-backed tests run against: SQLite and PostgreSQL (SPEC 7).

Every test under tests/server and tests/parking that starts a server or opens a
store runs once per store: `pytest_generate_tests` parametrises the module-scoped
`store_backend` fixture (the test id ends in `[sqlite]` or `[postgresql]`), and
`running_server`, the parking harness and `store_url` ask `current()` which
database to use. PostgreSQL is one throwaway cluster for the session
(tests/support/postgres.py, durable settings); each server or store gets a new
database in it. A module or test marked `sqlite_only` (it inspects the SQLite file
itself, or touches no store) runs on SQLite alone. PAYEDGE_TEST_STORES=sqlite runs
everything on SQLite only (a quick local loop).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.postgres import PostgresServer, postgres_server

BACKENDS = ("sqlite", "postgresql")


@dataclass
class Backend:
    name: str
    pg: PostgresServer | None = None
    databases: dict[Path, str] = field(default_factory=dict)

    def database_url(self, directory: Path) -> str:
        """The database of the server whose data dir is `directory` (new the first time; a
        restart on the same data dir finds its database again). SQLite: a file in it."""
        if self.pg is None:
            return f"sqlite:///{directory / 'payedge.sqlite3'}"
        if directory not in self.databases:
            self.databases[directory] = self.pg.create_database()
        return self.databases[directory]


@dataclass
class _State:
    current: Backend
    pg: PostgresServer | None = None
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)


_state = _State(Backend("sqlite"))


def current() -> Backend:
    return _state.current


def shared_postgres() -> PostgresServer:
    """The session's PostgreSQL cluster, started on first use (stopped at exit by `stop_shared`)."""
    if _state.pg is None:
        _state.pg = _state.stack.enter_context(postgres_server())
    return _state.pg


def stop_shared() -> None:
    _state.stack.close()
    _state.pg = None


def selected() -> tuple[str, ...]:
    wanted = os.environ.get("PAYEDGE_TEST_STORES")
    if not wanted:
        return BACKENDS
    return tuple(name for name in BACKENDS if name in wanted.split(","))


def generate(metafunc: pytest.Metafunc) -> None:
    """`pytest_generate_tests` body for the store-backed test folders."""
    if "store_backend" not in metafunc.fixturenames:
        return
    only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
    names = ("sqlite",) if only_sqlite else selected()
    metafunc.parametrize("store_backend", names, indirect=True, scope="module")


@contextlib.contextmanager
def using(name: str) -> Iterator[Backend]:
    previous = _state.current
    _state.current = Backend(name, shared_postgres() if name == "postgresql" else None)
    try:
        yield _state.current
    finally:
        _state.current = previous


def rows(database_url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one query (`?` placeholders) on a database by URL, from outside the server."""
    if database_url.startswith("sqlite:///"):
        path = database_url[len("sqlite:///") :]
        path = path if path.startswith("/") else "/" + path
        conn = sqlite3.connect(path)
        try:
            with conn:
                return conn.execute(sql, tuple(params)).fetchall()
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as pg:
        cur = pg.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
        return [tuple(r) for r in cur.fetchall()] if cur.description else []


def rows_at(data_dir: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """`rows` on the database of the server that ran (or runs) with `data_dir`."""
    return rows(current().database_url(data_dir), sql, params)
