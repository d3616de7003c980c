"""Schema migrations: a database written by an earlier release is upgraded with nothing lost.

`tests/fixtures/db/payedge-0.1.0.sqlite3` was written by release 0.1.0 (every table
with rows; see tests/fixtures/make_release_db.py). The current release opens a
copy of it: every row is still there, times are converted to milliseconds, the
payments are served by the API as they were, and the upgrade is idempotent.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import orjson
import pytest
import requests
from payedge_server.store import migrations, open_store

from tests.server.support import API_KEY, running_server

FIXTURES = Path(__file__).parents[2] / "fixtures" / "db"
RELEASE_0_1_0 = FIXTURES / "payedge-0.1.0.sqlite3"


def _copy(tmp_path: Path) -> Path:
    db = tmp_path / "payedge.sqlite3"
    shutil.copyfile(RELEASE_0_1_0, db)
    return db


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def _upgrade(db: Path) -> list[int]:
    store = open_store(f"sqlite:///{db}")
    await store.open()
    try:
        return await migrations.upgrade(store)
    finally:
        await store.close()


def test_the_0_1_0_database_is_upgraded_with_every_row_kept(tmp_path: Path) -> None:
    db = _copy(tmp_path)
    before = orjson.loads((FIXTURES / "payedge-0.1.0.json").read_bytes())["row_counts"]
    payments_before = _rows(
        db, "SELECT id, status, amount, currency, amount_captured, amount_refunded FROM payments"
    )
    audit_before = _rows(db, "SELECT id, at, actor, action, subject, data FROM audit_log ORDER BY id")
    keys_before = _rows(db, "SELECT key, created_at FROM idempotency_keys")

    applied = asyncio.run(_upgrade(db))
    assert applied == list(range(1, migrations.latest() + 1))
    for table, count in before.items():
        if table != "sqlite_sequence":
            assert _rows(db, f'SELECT COUNT(*) FROM "{table}"') == [(count,)], table
    assert _rows(
        db, "SELECT id, status, amount, currency, amount_captured, amount_refunded FROM payments"
    ) == (payments_before)
    assert _rows(db, "SELECT id, at, actor, action, subject, data FROM audit_log ORDER BY id") == audit_before
    # Stored times are milliseconds now: a time kept in seconds (REAL) was multiplied, exactly.
    keys_after = {row[0]: row[1] for row in _rows(db, "SELECT key, created_at FROM idempotency_keys")}
    for key, seconds in keys_before:
        assert keys_after[key] == round(float(str(seconds)) * 1000)
    for table, column in (("parking_sessions", "created_at"), ("processed_messages", "processed_at")):
        assert all(isinstance(v, int) and v > 10**12 for (v,) in _rows(db, f"SELECT {column} FROM {table}"))
    assert asyncio.run(_upgrade(db)) == []  # idempotent: nothing left to apply


def test_the_upgraded_database_serves_its_payments(tmp_path: Path) -> None:
    db = _copy(tmp_path)
    ids = orjson.loads((FIXTURES / "payedge-0.1.0.json").read_bytes())["payments"]
    with running_server(tmp_path / "data", "--database-url", f"sqlite:///{db}") as srv:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {API_KEY}"
        for pid in ids:
            shown = http.get(f"{srv.url}/v1/payments/{pid}")
            assert shown.status_code == 200, shown.text
        listed = http.get(f"{srv.url}/v1/payments", params={"limit": 100}).json()["data"]
        statuses = sorted({p["status"] for p in listed})
        assert statuses == sorted(
            {
                "succeeded",
                "failed",
                "canceled",
                "partially_refunded",
                "refunded",
                "requires_confirmation",
                "requires_payment_method",
            }
        )
        # The upgraded store takes new work.
        made = http.post(f"{srv.url}/v1/payments", json={"amount": 100, "currency": "EUR"})
        assert made.status_code == 201


def test_a_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    db = _copy(tmp_path)
    asyncio.run(_upgrade(db))
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)")
    conn.commit()
    conn.close()
    with pytest.raises(migrations.SchemaTooNewError):
        asyncio.run(_upgrade(db))


def test_every_stored_time_is_unix_milliseconds(tmp_path: Path) -> None:
    """One clock policy: every `*_at`/`*_until` column holds UNIX ms (a device's `*_ts` is its seconds)."""
    db = _copy(tmp_path)
    asyncio.run(_upgrade(db))
    tables = [t for (t,) in _rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    checked = 0
    for table in tables:
        for column in [str(c[1]) for c in _rows(db, f'PRAGMA table_info("{table}")')]:
            if column == "at" or column.endswith(("_at", "_until")):
                values = [v for (v,) in _rows(db, f'SELECT "{column}" FROM "{table}"') if v is not None]
                assert all(isinstance(v, int) and 10**12 < v < 10**14 for v in values), (
                    table,
                    column,
                    values[:3],
                )
                checked += len(values)
    assert checked > 50
