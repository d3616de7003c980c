"""PostgreSQL schema migrations: a database written by this release is upgraded by later ones, nothing lost.

`tests/fixtures/db/payedge-schema2.postgresql.sql` is a `pg_dump` of a database written
by the release that introduced the PostgreSQL store (schema version 2; see
tests/fixtures/make_release_pg.py). It is loaded into a new database; the current
release's migrations bring it to the newest version (under the advisory lock) with
every row kept, and the server serves its payments.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
import requests
from payedge_server.store import migrations, open_store

from tests.server.support import API_KEY, running_server
from tests.support import stores

pytestmark = pytest.mark.sqlite_only  # a PostgreSQL test: once, not once per store

FIXTURES = Path(__file__).parents[2] / "fixtures" / "db"
DUMP = FIXTURES / "payedge-schema2.postgresql.sql"
SUMMARY = orjson.loads((FIXTURES / "payedge-schema2.postgresql.json").read_bytes())


def _restored() -> str:
    pg = stores.shared_postgres()
    url = pg.create_database()
    pg.psql_file(DUMP, url.rsplit("/", 1)[-1])
    return url


async def _upgrade(url: str, instances: int = 1) -> list[list[int]]:
    opened = [open_store(url) for _ in range(instances)]
    for store in opened:
        await store.open()
    try:
        return list(await asyncio.gather(*(migrations.upgrade(store) for store in opened)))
    finally:
        for store in opened:
            await store.close()


def test_the_dump_is_upgraded_with_every_row_kept() -> None:
    url = _restored()
    # Two instances starting at once: one applies, the other waits on the lock and finds it done.
    applied = asyncio.run(_upgrade(url, instances=2))
    assert sorted(applied, key=len) == [[], list(range(3, migrations.latest() + 1))]
    for table, count in SUMMARY["row_counts"].items():
        if table == "schema_migrations":
            continue
        assert stores.rows(url, f'SELECT COUNT(*) FROM "{table}"') == [(count,)], table
    versions = stores.rows(url, "SELECT MAX(version) FROM schema_migrations")
    assert versions == [(migrations.latest(),)]
    assert asyncio.run(_upgrade(url)) == [[]]


def test_the_upgraded_database_serves_its_payments(tmp_path: Path) -> None:
    url = _restored()
    with running_server(tmp_path / "data", "--database-url", url) as srv:
        for pid in SUMMARY["payments"]:
            resp = requests.get(
                f"{srv.url}/v1/payments/{pid}", headers={"Authorization": f"Bearer {API_KEY}"}
            )
            assert resp.status_code == 200, resp.text
            assert resp.json()["id"] == pid
