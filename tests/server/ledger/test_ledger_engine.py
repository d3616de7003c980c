"""The engine on the real SQLite store: each refusal has its stable code and writes nothing;
two-phase transfers, expiry and linked batches behave as TigerBeetle's."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from payedge_server.contracts import Store, Tx
from payedge_server.ledger import engine
from payedge_server.ledger.errors import LedgerError
from payedge_server.ledger.model import Outcome, Transfer, TransferKind

from tests.server.ledger import invariants

NOW = 1_800_000_000_000
PENDING, POST, VOID = TransferKind.PENDING, TransferKind.POST, TransferKind.VOID


def t(tid: str, debit: str | None, credit: str | None, amount: int | None, **kw: Any) -> Transfer:
    return Transfer(tid, debit, credit, amount, **kw)


async def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    def read(tx: Tx) -> dict[str, list[tuple[Any, ...]]]:
        tables = ("ledger_accounts", "ledger_transfers", "ledger_pending")
        return {name: tx.fetchall(f"SELECT * FROM {name} ORDER BY 1") for name in tables}

    return await store.read(read)


async def create(store: Store, *transfers: Transfer, now: int = NOW) -> list[Outcome]:
    return await store.write(lambda tx: [engine.create_transfer(tx, x, now) for x in transfers])


async def funded(store: Store) -> None:
    """wallet:a:EUR holds 1000; p1 is a pending 300 from it (timeout 10 s); p2 a pending 100 (none)."""
    await create(
        store,
        t("fund", "external:bank:EUR", "wallet:a:EUR", 1000, currency="EUR"),
        t("p1", "wallet:a:EUR", "payouts:pending:EUR", 300, kind=PENDING, timeout_seconds=10),
        t("p2", "wallet:a:EUR", "payouts:pending:EUR", 100, kind=PENDING),
    )


REFUSALS: list[tuple[str, Transfer, str]] = [
    ("zero amount", t("x", "external:bank:EUR", "wallet:a:EUR", 0), "amount_invalid"),
    ("negative amount", t("x", "external:bank:EUR", "wallet:a:EUR", -5), "amount_invalid"),
    ("huge amount", t("x", "external:bank:EUR", "wallet:a:EUR", 10**16), "amount_invalid"),
    ("no amount", t("x", "external:bank:EUR", "wallet:a:EUR", None), "amount_invalid"),
    ("bad id", t("bad id!", "external:bank:EUR", "wallet:a:EUR", 5), "id_invalid"),
    ("currency between accounts", t("x", "wallet:a:EUR", "wallet:b:USD", 5), "currency_mismatch"),
    (
        "currency of the transfer",
        t("x", "external:bank:EUR", "wallet:a:EUR", 5, currency="USD"),
        "currency_mismatch",
    ),
    ("unknown account kind", t("x", "bank:main:EUR", "wallet:a:EUR", 5), "account_not_found"),
    ("unknown currency", t("x", "external:bank:ABC", "wallet:a:ABC", 5), "account_code_invalid"),
    ("no account name", t("x", "wallet::EUR", "wallet:a:EUR", 5), "account_code_invalid"),
    ("clearing without :clearing", t("x", "gateway:stripe:EUR", "wallet:a:EUR", 5), "account_code_invalid"),
    ("same account", t("x", "wallet:a:EUR", "wallet:a:EUR", 5), "accounts_must_be_different"),
    ("overdraw a wallet", t("x", "wallet:a:EUR", "wallet:b:EUR", 601), "exceeds_credits"),
    ("overdraw an empty wallet", t("x", "wallet:z:EUR", "wallet:b:EUR", 1), "exceeds_credits"),
    (
        "over-credit a clearing account",
        t("x", "external:bank:EUR", "gateway:sandbox:clearing:EUR", 1),
        "exceeds_debits",
    ),
    (
        "timeout on a posted transfer",
        t("x", "external:bank:EUR", "wallet:a:EUR", 5, timeout_seconds=5),
        "timeout_reserved_for_pending_transfer",
    ),
    (
        "id reused, other amount",
        t("fund", "external:bank:EUR", "wallet:a:EUR", 999),
        "exists_with_different_fields",
    ),
    (
        "id reused, other kind",
        t("p1", "wallet:a:EUR", "payouts:pending:EUR", 300),
        "exists_with_different_fields",
    ),
    (
        "post more than pending",
        t("x", None, None, 301, kind=POST, pending_id="p1"),
        "exceeds_pending_transfer_amount",
    ),
    (
        "void another amount",
        t("x", None, None, 299, kind=VOID, pending_id="p1"),
        "pending_transfer_has_different_amount",
    ),
    (
        "post an unknown pending",
        t("x", None, None, None, kind=POST, pending_id="nope"),
        "pending_transfer_not_found",
    ),
    (
        "post a posted transfer",
        t("x", None, None, None, kind=POST, pending_id="fund"),
        "pending_transfer_not_found",
    ),
    (
        "post with other accounts",
        t("x", "wallet:b:EUR", None, None, kind=POST, pending_id="p1"),
        "pending_transfer_has_different_accounts",
    ),
    (
        "pending id on a single transfer",
        t("x", "external:bank:EUR", "wallet:a:EUR", 5, pending_id="p1"),
        "flags_are_mutually_exclusive",
    ),
]


@pytest.mark.parametrize(("name", "transfer", "code"), REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_each_refusal_has_its_code_and_writes_nothing(
    store: Store, name: str, transfer: Transfer, code: str
) -> None:
    await funded(store)
    before = await dump(store)
    with pytest.raises(LedgerError) as refused:
        await create(store, transfer)
    assert refused.value.code.value == code, name
    assert await dump(store) == before
    await store.read(lambda tx: invariants.check(tx.fetchall))


@pytest.mark.parametrize("second", [POST, VOID])
@pytest.mark.parametrize("first", [POST, VOID])
async def test_a_pending_transfer_resolves_once(
    store: Store, first: TransferKind, second: TransferKind
) -> None:
    await funded(store)
    assert await create(store, t("r1", None, None, None, kind=first, pending_id="p2")) == [Outcome.OK]
    # The same resolution again is the same transfer: `exists`, nothing moves.
    assert await create(store, t("r1", None, None, None, kind=first, pending_id="p2")) == [Outcome.EXISTS]
    before = await dump(store)
    with pytest.raises(LedgerError) as refused:
        await create(store, t("r2", None, None, None, kind=second, pending_id="p2"))
    done = "posted" if first is POST else "voided"
    assert refused.value.code.value == f"pending_transfer_already_{done}"
    assert await dump(store) == before


async def test_partial_post_releases_the_rest(store: Store) -> None:
    await funded(store)
    await create(store, t("post", None, None, 120, kind=POST, pending_id="p1"))
    wallet = await store.read(lambda tx: engine.get_account(tx, "wallet:a:EUR"))
    assert wallet is not None
    assert (wallet.debits_posted, wallet.debits_pending, wallet.credits_posted) == (120, 100, 1000)


async def test_expiry_releases_a_hold_and_refuses_its_post(store: Store) -> None:
    await funded(store)
    later = NOW + 10_000
    with pytest.raises(LedgerError) as refused:
        await create(store, t("late", None, None, None, kind=POST, pending_id="p1"), now=later)
    assert refused.value.code.value == "pending_transfer_expired"
    assert await store.write(lambda tx: engine.expire_due(tx, later)) == 1
    assert await store.write(lambda tx: engine.expire_due(tx, later)) == 0
    state = await store.read(lambda tx: engine.pending_state(tx, "p1"))
    assert state is not None and state[0].value == "expired"
    wallet = await store.read(lambda tx: engine.get_account(tx, "wallet:a:EUR"))
    assert wallet is not None and wallet.debits_pending == 100
    with pytest.raises(LedgerError) as again:
        await create(store, t("void", None, None, None, kind=VOID, pending_id="p1"), now=later)
    assert again.value.code.value == "pending_transfer_expired"


async def test_an_expired_hold_no_longer_blocks_a_debit(store: Store) -> None:
    """The sweeper has not run yet; a debit that needs the expired hold's amount releases it."""
    await funded(store)
    spend = t("spend", "wallet:a:EUR", "wallet:b:EUR", 900)
    with pytest.raises(LedgerError):
        await create(store, spend, now=NOW + 9_999)
    assert await create(store, spend, now=NOW + 10_000) == [Outcome.OK]


async def test_linked_chain_commits_all_or_nothing(store: Store) -> None:
    await funded(store)
    before = await dump(store)
    batch = [
        t("c1", "wallet:a:EUR", "wallet:b:EUR", 100, linked=True),
        t("c2", "wallet:b:EUR", "wallet:c:EUR", 100, linked=True),
        t("c3", "wallet:c:EUR", "wallet:d:EUR", 101),  # c holds 100: refused, the chain with it
        t("solo", "external:bank:EUR", "wallet:e:EUR", 7),
        t("open", "external:bank:EUR", "wallet:e:EUR", 7, linked=True),
    ]
    results = await store.write(lambda tx: engine.create_batch(tx, batch, NOW))
    assert results == [
        "linked_event_failed",
        "linked_event_failed",
        "exceeds_credits",
        "ok",
        "linked_event_chain_open",
    ]
    after = await dump(store)
    assert [r[0] for r in after["ledger_transfers"]] == sorted(
        [*(r[0] for r in before["ledger_transfers"]), "solo"]
    )
    # Retried with the same ids: the committed one `exists`, nothing moves twice.
    fixed = [batch[0], batch[1], t("c3", "wallet:c:EUR", "wallet:d:EUR", 100), batch[3]]
    assert await store.write(lambda tx: engine.create_batch(tx, fixed, NOW)) == ["ok", "ok", "ok", "exists"]
    assert await store.write(lambda tx: engine.create_batch(tx, fixed, NOW)) == ["exists"] * 4


async def test_invariants_hold_after_the_table(store: Store) -> None:
    await funded(store)
    for _, transfer, _ in REFUSALS:
        with contextlib.suppress(LedgerError):
            await create(store, transfer)
    await create(store, t("post", None, None, 120, kind=POST, pending_id="p1"))
    result = await store.read(lambda tx: invariants.check(tx.fetchall))
    assert result["totals"]["EUR"] == [1120, 1120, 100, 100]
