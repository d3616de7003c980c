"""PostgreSQL store under contention on one hot row: a batch that meets a serialization conflict is
run again as ONE transaction (not one per write), and the answers stay exactly those of a serial
order: no lost update, each write once, a write that raises leaves nothing behind.

Every write reads a counter and writes it back plus one (a lost update would show as two writes
answering the same value). The writes arrive in waves a moment apart, so several large batches
run at once on the store's connections and conflict (SQLSTATE 40001). The transactions are counted
by PostgreSQL itself (transaction ids: one per transaction that writes, committed or not): far
fewer than the writes, where re-running each conflicted write alone took about one per write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from payedge_server.contracts import Tx
from payedge_server.store import open_store
from payedge_server.store.postgres import PostgresStore

from tests.support import stores

pytestmark = pytest.mark.sqlite_only  # a PostgreSQL test: once, not once per store

WRITES = 240
WAVES = 4  # the store's WRITE_CONNECTIONS: as many batches as can run at once
WAVE_GAP_SECONDS = 0.002


class Refused(Exception):
    """What a write that changes its mind raises (after its UPDATE: the UPDATE must be undone)."""


def _increment(i: int, *, refusing: bool) -> Callable[[Tx], int]:
    def write(tx: Tx) -> int:
        row = tx.fetchone("SELECT n FROM counter WHERE id = 1")
        assert row is not None
        n = int(row[0]) + 1
        tx.execute("UPDATE counter SET n = ? WHERE id = 1", (n,))
        if refusing and i % 10 == 3:
            raise Refused(i)
        return n

    return write


async def _burst(
    store: PostgresStore, first: int, count: int, *, refusing: bool = True
) -> list[int | BaseException]:
    """`count` writes in `WAVES` waves a moment apart: each wave is one batch, and they run at once."""
    tasks = []
    for wave in range(WAVES):
        ids = range(first + wave * count // WAVES, first + (wave + 1) * count // WAVES)
        tasks += [asyncio.ensure_future(store.write(_increment(i, refusing=refusing))) for i in ids]
        await asyncio.sleep(WAVE_GAP_SECONDS)
    return list(await asyncio.gather(*tasks, return_exceptions=True))


async def _opened(url: str) -> PostgresStore:
    store = open_store(url)
    assert isinstance(store, PostgresStore)
    await store.open()
    return store


def _xid(url: str) -> int:
    """The next transaction id: every transaction that writes takes one, committed or not."""
    return int(stores.rows(url, "SELECT txid_current()")[0][0])


def _check_serial(answers: list[int | BaseException], base: int = 0) -> int:
    """Every write answered once: the refused ones with their error, the others `base`+1.. in some order."""
    kept = sorted(a for a in answers if isinstance(a, int))
    refused = [a for a in answers if isinstance(a, Refused)]
    assert len(kept) + len(refused) == len(answers), [a for a in answers if not isinstance(a, int | Refused)]
    assert kept == list(range(base + 1, base + len(kept) + 1))
    return len(kept)


def _make_counter(url: str) -> None:
    stores.rows(url, "CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)")
    stores.rows(url, "INSERT INTO counter VALUES (1, 0)")


def test_a_conflicted_batch_is_run_again_grouped_and_stays_serial() -> None:
    url = stores.shared_postgres().create_database()
    _make_counter(url)
    before = _xid(url)

    async def burst(first: int, *, refusing: bool) -> tuple[list[int | BaseException], int]:
        store = await _opened(url)  # new: its first batches run in parallel
        try:
            answers = await _burst(store, first, WRITES, refusing=refusing)
        finally:
            await store.close()
        assert store.conflicts > 0, "the burst met no conflict: it shows nothing"
        return answers, store.batches

    plain, batches = asyncio.run(burst(0, refusing=False))
    transactions = _xid(url) - before - 1  # the second `_xid` takes one itself
    assert _check_serial(plain) == WRITES
    assert transactions >= batches
    # A batch takes two transaction ids (its own, and its savepoint's once it writes); the
    # attempts a conflict ended took theirs too. Each conflicted write alone: one per write.
    assert transactions < WRITES // 4, f"{transactions} transactions for {WRITES} writes: run alone"
    # Writes that raise: the batch is split by savepoints, their UPDATEs are undone, the rest serial.
    refusing, _ = asyncio.run(burst(WRITES, refusing=True))
    kept = _check_serial(refusing, base=WRITES)
    assert kept == WRITES - WRITES // 10
    assert stores.rows(url, "SELECT n FROM counter") == [(WRITES + kept,)]


def test_two_instances_on_one_hot_row_lose_no_update() -> None:
    url = stores.shared_postgres().create_database()
    _make_counter(url)

    async def main() -> list[int | BaseException]:
        first, second = await _opened(url), await _opened(url)
        try:
            a, b = await asyncio.gather(
                _burst(first, 0, WRITES // 2), _burst(second, WRITES // 2, WRITES // 2)
            )
        finally:
            await first.close()
            await second.close()
        return a + b

    kept = _check_serial(asyncio.run(main()))
    assert kept == WRITES - WRITES // 10
    assert stores.rows(url, "SELECT n FROM counter") == [(kept,)]
