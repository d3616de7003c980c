"""`engine.create_linked` (a payment's capture and commission) against the same transfers
created one by one with `create_transfer`: the same outcomes, the same refusal (code and
message), the same balances and stored transfers, whatever the chain (posted or pending,
repeated ids, ids that exist already with the same or other fields, accounts on both
sides, flagged accounts short of funds, holds that expired and still count).

Two databases, the same steps on each: the linked path on one, one by one on the other.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from payedge_server.contracts import Tx
from payedge_server.ledger import engine
from payedge_server.ledger.errors import LedgerError
from payedge_server.ledger.model import Transfer, TransferKind
from payedge_server.store import migrations
from payedge_server.store.sqlite import SqliteStore

from tests.server.ledger import invariants

# Each example needs two fresh ledgers: SQLite only (the engine's SQL runs on both stores
# in test_ledger_engine.py, including linked captures through postings).
pytestmark = pytest.mark.sqlite_only

NOW = 1_800_000_000_000
ACCOUNTS = ("wallet:a", "wallet:b", "gateway:g:clearing", "platform:revenue", "external:bank")


class Pair:
    """Two ledgers on one event loop; each example writes under its own account prefix."""

    def __init__(self, root: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.stores = [SqliteStore(root / "linked.sqlite3"), SqliteStore(root / "one_by_one.sqlite3")]
        for store in self.stores:
            self.loop.run_until_complete(store.open())
            self.loop.run_until_complete(migrations.upgrade(store))
        self.n = 0

    def close(self) -> None:
        for store in self.stores:
            self.loop.run_until_complete(store.close())
        self.loop.close()

    def write(self, index: int, fn: Any) -> tuple[Any, tuple[str, str] | None]:
        try:
            return self.loop.run_until_complete(self.stores[index].write(fn)), None
        except LedgerError as exc:
            return None, (exc.code.value, str(exc))

    def dump(self, index: int, prefix: str) -> dict[str, list[tuple[Any, ...]]]:
        def read(tx: Tx) -> dict[str, list[tuple[Any, ...]]]:
            return {
                "accounts": tx.fetchall(
                    "SELECT code, flags, debits_pending, debits_posted, credits_pending, credits_posted "
                    "FROM ledger_accounts WHERE code LIKE ? ORDER BY code",
                    (f"%:{prefix}%",),
                ),
                "transfers": tx.fetchall(
                    f"SELECT {engine.TRANSFER_COLUMNS} FROM ledger_transfers WHERE id LIKE ? ORDER BY ts",
                    (f"{prefix}%",),
                ),
            }

        found = self.loop.run_until_complete(self.stores[index].read(read))
        # Timestamps differ between the two databases; their order is what is kept.
        found["transfers"] = [row[:1] + row[2:] for row in found["transfers"]]
        return found


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with tempfile.TemporaryDirectory(prefix="payedge-linked-") as tmp:
        p = Pair(Path(tmp))
        yield p
        p.close()


def code(prefix: str, account: str) -> str:
    kind, _, rest = account.partition(":")
    if kind == "gateway":
        return f"gateway:{prefix}g:clearing:EUR"
    return f"{kind}:{prefix}{rest}:EUR"


PAIRS = [(d, c) for d in ACCOUNTS for c in ACCOUNTS if d != c]
TRANSFER = st.tuples(
    st.integers(0, 3),  # id: t0..t3, so a chain may repeat one
    st.one_of(*[st.sampled_from(PAIRS)] * 9, st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS))),
    st.one_of(st.integers(1, 1500), st.integers(1, 1500), st.just(0)),  # 0: refused before any SQL
    st.sampled_from([TransferKind.SINGLE] * 5 + [TransferKind.PENDING]),
)
Spec = tuple[int, tuple[str, str], int, TransferKind]
SINGLE = TransferKind.SINGLE


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    wallet_funds=st.integers(0, 3000),
    clearing_debits=st.integers(0, 3000),
    expired_hold=st.integers(0, 1000),
    earlier=st.lists(TRANSFER, max_size=2),
    chain=st.lists(TRANSFER, min_size=1, max_size=4),
)
@example(  # the second debit of the wallet is the one refused: its amount is named
    wallet_funds=3,
    clearing_debits=0,
    expired_hold=0,
    earlier=[],
    chain=[(0, ("wallet:a", "external:bank"), 1, SINGLE), (1, ("wallet:a", "platform:revenue"), 5, SINGLE)],
)
@example(  # a capture and its commission: the clearing account debited once for both
    wallet_funds=0,
    clearing_debits=0,
    expired_hold=0,
    earlier=[],
    chain=[
        (0, ("gateway:g:clearing", "wallet:a"), 1157, SINGLE),
        (1, ("gateway:g:clearing", "platform:revenue"), 93, SINGLE),
    ],
)
@example(  # an id that exists with other fields is refused before what follows it is tried
    wallet_funds=0,
    clearing_debits=0,
    expired_hold=0,
    earlier=[(2, ("gateway:g:clearing", "external:bank"), 985, SINGLE)],
    chain=[
        (2, ("gateway:g:clearing", "external:bank"), 1372, SINGLE),
        (1, ("wallet:b", "external:bank"), 1130, SINGLE),
    ],
)
@example(  # refused only until the expired hold is released
    wallet_funds=1000,
    clearing_debits=0,
    expired_hold=600,
    earlier=[],
    chain=[
        (0, ("wallet:a", "external:bank"), 500, SINGLE),
        (1, ("wallet:a", "platform:revenue"), 400, SINGLE),
    ],
)
def test_linked_is_one_by_one(  # noqa: PLR0917 (hypothesis gives each drawn value by name)
    pair: Pair,
    wallet_funds: int,
    clearing_debits: int,
    expired_hold: int,
    earlier: list[Spec],
    chain: list[Spec],
) -> None:
    pair.n += 1
    prefix = f"x{pair.n}"

    def transfer(spec: Spec) -> Transfer:
        number, (debit, credit), amount, kind = spec
        return Transfer(
            f"{prefix}t{number}", code(prefix, debit), code(prefix, credit), amount, kind=kind, ref=prefix
        )

    bank, wallet, clearing = (code(prefix, a) for a in ("external:bank", "wallet:a", "gateway:g:clearing"))
    setup = [Transfer(f"{prefix}fund", bank, wallet, wallet_funds)] if wallet_funds else []
    if clearing_debits:
        setup.append(Transfer(f"{prefix}owed", clearing, bank, clearing_debits))
    if expired_hold and expired_hold <= wallet_funds:
        setup.append(
            Transfer(
                f"{prefix}hold", wallet, bank, expired_hold, kind=TransferKind.PENDING, timeout_seconds=1
            )
        )
    transfers = [transfer(s) for s in chain]
    later = NOW + 5_000  # the hold's timeout has passed, but it is not released yet
    results = []
    for index in (0, 1):
        pair.write(index, lambda tx: [engine.create_transfer(tx, t, NOW) for t in setup])
        for t in map(transfer, earlier):  # ids of the chain that exist already (same or other fields)
            pair.write(index, lambda tx, t=t: engine.create_transfer(tx, t, NOW))
        if index == 0:
            outcome = pair.write(0, lambda tx: engine.create_linked(tx, transfers, later))
        else:
            outcome = pair.write(1, lambda tx: [engine.create_transfer(tx, t, later) for t in transfers])
        results.append((outcome, pair.dump(index, prefix)))
    assert results[0] == results[1]


def test_invariants_hold_on_both(pair: Pair) -> None:
    """(After the examples: the module's fixture keeps both databases.)"""
    for store in pair.stores:

        def rows(sql: str, store: SqliteStore = store) -> list[tuple[Any, ...]]:
            return pair.loop.run_until_complete(store.read(lambda tx: tx.fetchall(sql)))

        invariants.check(rows)
