"""Messages that name an amount show it in its currency's decimals (`payedge.format_money`):
500 minor units of EUR read "5.00 EUR", of JPY "500 JPY", of KWD "0.500 KWD", never "500 EUR".

Table-driven over the ledger's refusals that carry an amount: a withdrawal and a refund
refused 402 `insufficient_funds`, a debit beyond credits, a post beyond its pending amount
and a partial void; in a 2-, a 0- and a 3-decimal currency each.
"""

from __future__ import annotations

import itertools

import pytest
from payedge_server.contracts import Store
from payedge_server.ledger import engine, postings, withdrawals
from payedge_server.ledger.errors import LedgerError
from payedge_server.ledger.model import Transfer, TransferKind
from payedge_server.ledger.settings import LedgerSettings

NOW = 1_800_000_000_000
_ids = itertools.count()

# (currency, minor units, as a message shows them)
MONEY = [
    ("EUR", 500, "5.00 EUR"),
    ("JPY", 500, "500 JPY"),
    ("KWD", 500, "0.500 KWD"),
    ("BHD", 12_345, "12.345 BHD"),
]
# (currency, minor units, shown, twice the amount shown)
TWICE = [
    (*row, twice)
    for row, twice in zip(MONEY, ("10.00 EUR", "1000 JPY", "1.000 KWD", "24.690 BHD"), strict=True)
]


def _uid(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


async def _refusal(store: Store, fn: object) -> LedgerError:
    with pytest.raises(LedgerError) as caught:
        await store.write(fn)  # type: ignore[arg-type]
    return caught.value


async def _fund(store: Store, owner: str, currency: str, amount: int) -> None:
    t = Transfer(_uid("fund"), f"external:bank:{currency}", f"wallet:{owner}:{currency}", amount)
    await store.write(lambda tx: engine.create_transfer(tx, t, NOW))


@pytest.mark.parametrize(("currency", "amount", "shown"), MONEY)
async def test_a_withdrawal_beyond_the_wallet(store: Store, currency: str, amount: int, shown: str) -> None:
    owner = _uid("alice")
    await _fund(store, owner, currency, amount - 1)
    err = await _refusal(
        store,
        lambda tx: withdrawals.create(
            tx, owner, amount, currency, withdrawal_id=_uid("wd"), timeout_seconds=0, now_ms=NOW
        ),
    )
    assert (err.code, err.status) == ("insufficient_funds", 402)
    assert err.message == f"the wallet of {owner} has less than {shown} available"


@pytest.mark.parametrize(("currency", "amount", "shown"), MONEY)
async def test_a_refund_the_wallet_cannot_cover(store: Store, currency: str, amount: int, shown: str) -> None:
    owner, pid = _uid("bob"), _uid("pay_")
    facts = postings.PaymentFacts(pid, "sandbox", currency, owner, None, amount, 0, {})
    await store.write(lambda tx: postings.capture(tx, facts, LedgerSettings(), NOW))
    out = Transfer(_uid("out"), f"wallet:{owner}:{currency}", f"payouts:pending:{currency}", amount)
    await store.write(lambda tx: engine.create_transfer(tx, out, NOW))  # the wallet is emptied
    err = await _refusal(store, lambda tx: postings.hold_refund(tx, pid, _uid("re_"), amount, NOW))
    assert (err.code, err.status) == ("insufficient_funds", 402)
    assert err.message == f"the wallet of {owner} cannot cover this refund's share ({shown})"


@pytest.mark.parametrize(("currency", "amount", "shown"), MONEY)
async def test_a_debit_beyond_credits(store: Store, currency: str, amount: int, shown: str) -> None:
    owner = _uid("carol")
    await _fund(store, owner, currency, amount - 1)
    t = Transfer(_uid("x"), f"wallet:{owner}:{currency}", f"payouts:pending:{currency}", amount)
    err = await _refusal(store, lambda tx: engine.create_transfer(tx, t, NOW))
    assert err.code == "exceeds_credits"
    assert err.message == f"wallet:{owner}:{currency} cannot be debited {shown}: it would exceed its credits"


@pytest.mark.parametrize(("currency", "amount", "shown", "twice"), TWICE)
async def test_posting_or_voiding_another_amount(
    store: Store, currency: str, amount: int, shown: str, twice: str
) -> None:
    owner, hold = _uid("dave"), _uid("hold")
    await _fund(store, owner, currency, amount)
    pending = Transfer(
        hold, f"wallet:{owner}:{currency}", f"payouts:pending:{currency}", amount, kind=TransferKind.PENDING
    )
    await store.write(lambda tx: engine.create_transfer(tx, pending, NOW))
    more = Transfer(_uid("post"), None, None, amount * 2, kind=TransferKind.POST, pending_id=hold)
    err = await _refusal(store, lambda tx: engine.create_transfer(tx, more, NOW))
    assert err.message == f"cannot post {twice}: the pending transfer holds {shown}"
    part = Transfer(_uid("void"), None, None, 1, kind=TransferKind.VOID, pending_id=hold)
    err = await _refusal(store, lambda tx: engine.create_transfer(tx, part, NOW))
    assert err.message == f"a void releases the whole pending amount ({shown})"
