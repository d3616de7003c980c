"""Retention (issue 16): every table that grows per request is purged by age, in bounded batches.

Table-driven over the housekeeping's plan: rows past their retention are deleted,
younger ones kept, a backlog larger than one batch is worked off in writes of at
most BATCH rows (none of them stalls the group commit), and the audit log and the
payments are never touched.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from payedge_server import housekeeping
from payedge_server.config.sections.retention import RetentionConfig
from payedge_server.contracts import Tx
from payedge_server.store import migrations, open_store
from payedge_server.store.postgres import PostgresStore
from payedge_server.store.sqlite import SqliteStore

from tests.support import stores

NOW = 1_800_000_000_000
RETENTION = RetentionConfig(webhook_events=3600.0, outbox=600.0)
PLAN = housekeeping.purges(RETENTION)

# How to insert one row of each purged table, given its key and its time (UNIX ms).
ROWS: dict[str, str] = {
    "webhook_events": "INSERT INTO webhook_events (provider, event_id, type, outcome, received_at) "
    "VALUES ('stripe', ?, 't', 'x', ?)",
    "outbox": "INSERT INTO outbox (topic, payload, created_at, sent_at) VALUES (?, ?, 0, ?)",
    "idempotency_keys": "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) "
    "VALUES (?, 'f', 200, ?, ?)",
    "processed_messages": "INSERT INTO processed_messages (msg_id, topic, outcome, processed_at) "
    "VALUES (?, 't', 'ok', ?)",
    "sandbox_deliveries": "INSERT INTO sandbox_deliveries (event_id, payment_id, body, due_at, owner, "
    "created_at, delivered_at) VALUES (?, 'p', ?, 0, 'o', 0, ?)",
    "dashboard_sessions": "INSERT INTO dashboard_sessions (id_hash, csrf_token, key_hash, created_at, "
    "expires_at) VALUES (?, 'c', 'k', 0, ?)",
    "live_feed": "INSERT INTO live_feed (origin, channel, event, at) VALUES (?, 'c', ?, ?)",
}


BLOBS = frozenset({"outbox", "idempotency_keys", "sandbox_deliveries", "live_feed"})  # a bytes column to fill


def _args(table: str, key: str, at: int) -> tuple[object, ...]:
    return (key, b"\0", at) if table in BLOBS else (key, at)


async def _store(tmp_path: Path) -> SqliteStore | PostgresStore:
    store = open_store(stores.current().database_url(tmp_path))
    await store.open()
    await migrations.upgrade(store)
    return store


def _count(tx: Tx, table: str) -> int:
    row = tx.fetchone(f"SELECT COUNT(*) FROM {table}")
    return int(row[0]) if row else 0


DOCS = Path(__file__).resolve().parents[3] / "docs" / "server.md"


def _tables(tx: Tx, postgres: bool) -> set[str]:
    if postgres:
        sql = (
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    return {str(row[0]) for row in tx.fetchall(sql)}


def test_every_table_of_the_schema_is_purged_or_kept_for_a_reason(tmp_path: Path) -> None:
    """A table a future migration adds fails here until someone decides: purge it, or keep it and say why."""

    async def scenario() -> set[str]:
        store = await _store(tmp_path)
        try:
            return await store.read(lambda tx: _tables(tx, isinstance(store, PostgresStore)))
        finally:
            await store.close()

    tables = asyncio.run(scenario())
    purged = {p.table for p in (*PLAN, housekeeping.LIVE_FEED)}
    kept = set(housekeeping.KEPT)
    assert not purged & kept, "a table is both purged and kept"
    assert tables - purged - kept == set(), "tables with no retention decision (add a Purge or a KEPT reason)"
    assert (purged | kept) - tables == set(), "the plan names tables the schema does not have"
    assert all(reason.strip() for reason in housekeeping.KEPT.values())
    assert set(ROWS) == purged, "every purged table has a row maker below"


def test_the_docs_list_every_kept_table() -> None:
    retention = DOCS.read_text().split("Retention (`housekeeping.py`", 1)[1].split("\n\n", 1)[0]
    missing = [table for table in housekeeping.KEPT if f"`{table}`" not in retention]
    assert not missing, f"docs/server.md's Retention paragraph does not name {missing}"


@pytest.mark.parametrize("purge", (*PLAN, housekeeping.LIVE_FEED), ids=lambda p: p.table)
def test_rows_past_their_retention_go_in_bounded_batches(
    tmp_path: Path, purge: housekeeping.Purge, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, young = housekeeping.BATCH * 2 + 7, 5

    async def scenario() -> tuple[int, int, list[int]]:
        store = await _store(tmp_path)
        sql = ROWS[purge.table]

        def fill(tx: Tx) -> None:
            for i in range(old):
                tx.execute(sql, _args(purge.table, f"old-{i}", NOW - purge.keep_ms - 1 - i))
            for i in range(young):
                tx.execute(sql, _args(purge.table, f"young-{i}", NOW - purge.keep_ms + 1 + i))

        await store.write(fill)
        sizes: list[int] = []
        original = housekeeping._delete

        def counted(tx: Tx, *, purge: housekeeping.Purge, cutoff: int) -> int:
            n = original(tx, purge=purge, cutoff=cutoff)
            sizes.append(n)
            return n

        monkeypatch.setattr(housekeeping, "_delete", counted)
        deleted = await housekeeping.purge_once(store, [purge], now_ms=NOW)
        left = await store.read(lambda tx: _count(tx, purge.table))
        await store.close()
        return deleted[purge.table], left, sizes

    deleted, left, sizes = asyncio.run(scenario())
    assert (deleted, left) == (old, young)
    assert max(sizes) <= housekeeping.BATCH and len(sizes) == 3


def test_unsent_outbox_messages_and_undelivered_webhooks_are_kept(tmp_path: Path) -> None:
    """Only what is done is purged: a message still owed to the broker is never lost to age."""

    async def scenario() -> tuple[int, int]:
        store = await _store(tmp_path)

        def fill(tx: Tx) -> None:
            tx.execute(
                "INSERT INTO outbox (topic, payload, created_at, sent_at) VALUES ('t', ?, 0, NULL)", (b"\0",)
            )
            tx.execute(
                "INSERT INTO sandbox_deliveries (event_id, payment_id, body, due_at, owner, created_at) "
                "VALUES ('e', 'p', ?, 0, 'o', 0)",
                (b"\0",),
            )

        await store.write(fill)
        await housekeeping.purge_once(store, PLAN, now_ms=NOW)
        counts = await store.read(lambda tx: (_count(tx, "outbox"), _count(tx, "sandbox_deliveries")))
        await store.close()
        return counts

    assert asyncio.run(scenario()) == (1, 1)


def test_the_audit_log_and_business_records_are_never_purged() -> None:
    business = ("audit_log", "payments", "payment_status_history", "refunds", "ledger_transfers", "orders")
    assert set(business) <= set(housekeeping.KEPT)
    assert not any(p.table in business for p in (*PLAN, housekeeping.LIVE_FEED))
