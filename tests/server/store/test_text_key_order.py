"""Range scans and cursors over text keys give byte-order results whatever the database's
default collation.

A wallet's accounts are read by a range on `ledger_accounts.code`, wallet transactions,
products and webhook events are paged by cursors over text ids: all are right only when
those columns compare bytes. SQLite's BINARY collation does; on PostgreSQL, migration 8
puts the columns in the "C" collation. Here the PostgreSQL database is created with a
natural-language ICU collation (en-US: case and punctuation compare otherwise, and ';'
sorts before ':'), as an operator's database may be; the SQLite run is the reference.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from payedge_server.contracts import Store, Tx
from payedge_server.ledger import engine, wallets
from payedge_server.ledger.model import Transfer
from payedge_server.orders import catalog
from payedge_server.orders.model import ProductDraft
from payedge_server.store import migrations, open_store
from payedge_server.webhooks import listing

from tests.support.stores import current

NOW = 1_800_000_000_000
# Owners whose wallet codes differ only in case and punctuation ("alice:x"'s wallet code
# starts with "wallet:alice:"), and ids ordered differently by bytes and by en-US.
OWNERS = ("alice", "Alice", "ALICE", "alice-2", "alice_2", "alice.x", "alice:x", "b", "B")
SUFFIXES = ("a", "B", "_c", "-d", ".e", "A")


@pytest.fixture
async def natural_store(tmp_path: Path) -> AsyncIterator[Store]:
    """A migrated store; on PostgreSQL its database's default collation is ICU en-US."""
    pg = current().pg
    if pg is None:
        url = current().database_url(tmp_path)
    else:
        if pg.psql("SELECT COUNT(*) FROM pg_collation WHERE collprovider = 'i'") == "0":
            pytest.fail("this PostgreSQL has no ICU collations")
        url = pg.create_database(icu_locale="en-US")
        name = url.rsplit("/", 1)[-1]
        locale = "SELECT daticulocale FROM pg_database WHERE datname = current_database()"
        assert pg.psql(locale, name) == "en-US"
        # The premise: this database's default collation does not order by bytes.
        assert pg.psql("SELECT 'wallet:a;' < 'wallet:a:' AND 'a' < 'B'", name) == "t"
    store = open_store(url)
    await store.open()
    await migrations.upgrade(store)
    try:
        yield store
    finally:
        await store.close()


def _transfers() -> list[tuple[Transfer, int]]:
    """Each owner: funded in EUR (and JPY for some), then paid out, in batches of equal timestamps."""
    out: list[tuple[Transfer, int]] = []
    for i, who in enumerate(OWNERS):
        out.append((Transfer(f"fund.{who}", "external:bank:EUR", f"wallet:{who}:EUR", 1000 + i), NOW))
        if i % 2 == 0:
            out.append((Transfer(f"fund.{who}.jpy", "external:bank:JPY", f"wallet:{who}:JPY", 50 + i), NOW))
        for k, suffix in enumerate(SUFFIXES):
            # Three transfers per millisecond: equal `ts`, as two workers' transfers may have.
            tid = f"out.{who}{suffix}"
            out.append((Transfer(tid, f"wallet:{who}:EUR", "payouts:pending:EUR", 10 + k), NOW + 1 + k // 3))
    return out


async def _write_transfers(store: Store, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[int, str]]]:
    """Writes every transfer; returns each owner's (ts, id) pairs."""
    mine: dict[str, list[tuple[int, str]]] = {who: [] for who in OWNERS}
    for transfer, now in _transfers():
        monkeypatch.setattr(engine, "STAMPS", engine._Stamps())  # ts = now * 1000, repeated
        await store.write(functools.partial(engine.create_transfer, t=transfer, now_ms=now))
        stored = await store.read(functools.partial(engine.get_transfer, transfer_id=transfer.id))
        assert stored is not None
        owner = _owner_of(stored.debit_account, stored.credit_account)
        assert owner is not None
        mine[owner].append((stored.ts, stored.id))
    return mine


def _owner_of(*accounts: str) -> str | None:
    for code in accounts:
        kind, _, rest = code.partition(":")
        if kind == "wallet":
            return rest.rpartition(":")[0]
    return None


async def _pages(store: Store, read: Callable[[Tx, str | None], tuple[list[Any], str | None]]) -> list[Any]:
    """Every item of a cursor-paginated listing, page after page (bounded)."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(100):

        def once(tx: Tx, c: str | None = cursor) -> tuple[list[Any], str | None]:
            return read(tx, c)

        page, cursor = await store.read(once)
        items.extend(page)
        if cursor is None:
            return items
    raise AssertionError("the listing did not end")


async def test_each_wallet_sees_its_own_accounts_and_transactions(
    natural_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = await _write_transfers(natural_store, monkeypatch)
    for i, who in enumerate(OWNERS):
        wallet = await natural_store.read(functools.partial(wallets.balances, owner=who))
        expected = {"EUR": 1000 + i - sum(10 + k for k in range(len(SUFFIXES)))}
        if i % 2 == 0:
            expected["JPY"] = 50 + i
        assert {c: b["available"] for c, b in wallet["balances"].items()} == expected, who

        def page(tx: Tx, cursor: str | None, w: str = who) -> tuple[list[Any], str | None]:
            found = wallets.transactions(tx, w, currency=None, limit=2, starting_after=cursor)
            assert found is not None
            data = found["data"]
            return data, (data[-1]["id"] if found["has_more"] else None)

        items = await _pages(natural_store, page)
        # Newest first; equal timestamps by id, descending, in byte order.
        assert [x["id"] for x in items] == [tid for _, tid in sorted(mine[who], reverse=True)], who


async def test_products_are_listed_by_id_in_byte_order(natural_store: Store) -> None:
    ids = [f"{who}{suffix}" for who in OWNERS[:4] for suffix in SUFFIXES[:4]]
    for pid in ids:
        draft = ProductDraft(pid, f"Product {pid}", {"EUR": 100})
        await natural_store.write(functools.partial(catalog.upsert_in_tx, draft=draft, source="api", now=NOW))

    def page(tx: Tx, cursor: str | None) -> tuple[list[Any], str | None]:
        found = catalog.list_in_tx(tx, limit=3, starting_after=cursor, active=None)
        return found, (found[-1].id if len(found) == 3 else None)

    assert [p.id for p in await _pages(natural_store, page)] == sorted(ids)


async def test_webhook_events_are_paged_in_byte_order(natural_store: Store) -> None:
    keys = [
        (at, provider, f"evt{suffix}{n}{at % 2}")
        for at in (NOW, NOW + 1)
        for provider in ("paypal", "stripe")
        for suffix in SUFFIXES
        for n in ("", "Z")
    ]
    for at, provider, event_id in keys:

        def insert(tx: Tx, row: tuple[str, str, int] = (provider, event_id, at)) -> int:
            return tx.execute(
                "INSERT INTO webhook_events (provider, event_id, type, outcome, received_at) "
                "VALUES (?, ?, 'payment.updated', 'applied', ?)",
                row,
            )

        await natural_store.write(insert)

    def page(tx: Tx, cursor: str | None) -> tuple[list[Any], str | None]:
        after = tuple(cursor.split(":", 1)) if cursor else None
        found = listing._read(tx, listing.EventQuery(None, None, 5, after))  # type: ignore[arg-type]
        data = found["data"]
        last = data[-1] if data else None
        return data, (f"{last['provider']}:{last['event_id']}" if found["has_more"] and last else None)

    items = await _pages(natural_store, page)
    got = [(x["received"], x["provider"], x["event_id"]) for x in items]
    assert got == [(at // 1000, p, e) for at, p, e in sorted(keys, reverse=True)]
