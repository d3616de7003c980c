"""Postings of a payment's money: capture, commission, refund reversals (SPEC 6).

On success (captured amount C, commission K fixed now):
    gateway:<gw>:clearing:<CUR>  ->  wallet:<payee>:<CUR>      C - K   (`<payment>:capture`)
    gateway:<gw>:clearing:<CUR>  ->  platform:revenue:<CUR>    K       (`<payment>:commission`)
Refunds reverse on the cumulative refunded amount R (commissions.merchant_reversal):
the merchant's share leaves the wallet, the rest leaves platform:revenue, both back to
the clearing account.

A refund made through the API holds the merchant's share on the wallet (a pending
transfer) in the write that reserves the refund, before the gateway is called: a wallet
that cannot cover it refuses the refund (`insufficient_funds`) with nothing done. The
hold is an upper bound of the share (ceil((C - K) * amount / C); the exact share depends
on the refunds settled before it) and is posted for the exact share when the refund
succeeds, voided when it fails. A refund the gateway reports on its own (a dashboard
refund, seen by webhook) has already happened: its merchant share is taken from the
wallet as far as the wallet's available balance goes, and the rest is recorded on
`platform:refund_shortfall:<CUR>` (money the merchant owes the platform), never lost.

Transfer ids derive from the payment or refund id, so a replayed event finds its
transfers (`exists`) instead of moving money twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from payedge import format_money

from payedge_server.contracts import Tx
from payedge_server.ledger import engine, invoices, model
from payedge_server.ledger.commissions import merchant_reversal
from payedge_server.ledger.errors import Code, LedgerError
from payedge_server.ledger.model import Transfer, TransferKind
from payedge_server.ledger.settings import LedgerSettings


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """What the ledger needs of a payment (the adapter reads it from the payment's view)."""

    id: str
    gateway: str
    currency: str
    payee: str
    commission_type: str | None
    captured: int
    refunded: int
    metadata: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class PaymentPostings:
    """A succeeded payment's row in `ledger_payment_postings`."""

    payment_id: str
    payee: str
    gateway: str
    currency: str
    commission_type: str | None
    captured: int
    commission: int
    refunded: int
    merchant_reversed: int
    commission_reversed: int

    @property
    def wallet(self) -> str:
        return model.wallet(self.payee, self.currency)

    @property
    def clearing(self) -> str:
        return model.clearing(self.gateway, self.currency)

    def shares(self, refunded_after: int) -> tuple[int, int]:
        """(merchant, platform) shares of taking the cumulative refunded amount to `refunded_after`."""
        merchant = merchant_reversal(self.captured, self.commission, refunded_after) - self.merchant_reversed
        return merchant, refunded_after - self.refunded - merchant


_COLUMNS = (
    "payment_id, payee, gateway, currency, commission_type, captured, commission, refunded, "
    "merchant_reversed, commission_reversed"
)


_INSERT_POSTINGS = (
    f"INSERT INTO ledger_payment_postings ({_COLUMNS}, succeeded_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 0, ?) ON CONFLICT (payment_id) DO NOTHING"
)


def load(tx: Tx, payment_id: str) -> PaymentPostings | None:
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM ledger_payment_postings WHERE payment_id = ?", (payment_id,))
    if row is None:
        return None
    return PaymentPostings(*row[:5], *(int(v) for v in row[5:]))


def _transfer(tid: str, debit: str, credit: str, amount: int, *, code: str, ref: str) -> Transfer:
    return Transfer(tid, debit, credit, amount, code=code, ref=ref)


# ----------------------------------------------------------------------------- capture
def capture(tx: Tx, p: PaymentFacts, settings: LedgerSettings, now_ms: int) -> PaymentPostings | None:
    """Post a succeeded payment (and issue its invoice); once per payment."""
    c = p.captured
    if c <= 0:
        return None
    rate = settings.rates.lookup(p.commission_type, p.payee, p.currency) if p.commission_type else None
    k = rate.commission(c) if rate else 0
    if not tx.execute(
        _INSERT_POSTINGS, (p.id, p.payee, p.gateway, p.currency, p.commission_type, c, k, now_ms)
    ):
        return load(tx, p.id)
    row = PaymentPostings(p.id, p.payee, p.gateway, p.currency, p.commission_type, c, k, 0, 0, 0)
    clearing = model.clearing(p.gateway, p.currency)
    transfers = []
    if c - k > 0:
        wallet = model.wallet(p.payee, p.currency)
        transfers.append(Transfer(f"{p.id}:capture", clearing, wallet, c - k, code="payment", ref=p.id))
    if k > 0:
        revenue = model.revenue(p.currency)
        transfers.append(Transfer(f"{p.id}:commission", clearing, revenue, k, code="commission", ref=p.id))
    engine.create_linked(tx, transfers, now_ms)
    invoices.issue_invoice(tx, settings.invoices, (p.id, p.currency), p.metadata, captured=c, now_ms=now_ms)
    return row


# ----------------------------------------------------------------------------- refunds
def _record(tx: Tx, row: PaymentPostings, refunded_after: int, merchant: int, platform: int) -> None:
    changed = tx.execute(
        "UPDATE ledger_payment_postings SET refunded = ?, merchant_reversed = merchant_reversed + ?, "
        "commission_reversed = commission_reversed + ? WHERE payment_id = ? AND refunded = ?",
        (refunded_after, merchant, platform, row.payment_id, row.refunded),
    )
    if changed != 1:
        raise RuntimeError(f"payment {row.payment_id}: refund postings changed under a write")


def _reverse_platform(tx: Tx, row: PaymentPostings, tid: str, amount: int, now_ms: int) -> None:
    if amount > 0:
        revenue = model.revenue(row.currency)
        engine.create_transfer(
            tx,
            _transfer(tid, revenue, row.clearing, amount, code="commission_reversal", ref=row.payment_id),
            now_ms,
        )


def _available(tx: Tx, code: str, now_ms: int) -> int:
    engine.expire_due_on(tx, code, now_ms)
    account = engine.get_account(tx, code)
    if account is None:
        return 0
    return max(0, account.credits_posted - account.debits_posted - account.debits_pending)


def _take_from_wallet(tx: Tx, row: PaymentPostings, tid: str, amount: int, now_ms: int) -> None:
    """A reversal that already happened at the gateway: the wallet pays what it can, the rest
    is recorded as a shortfall on the platform (never refused: the money is gone)."""
    if amount <= 0:
        return
    from_wallet = min(amount, _available(tx, row.wallet, now_ms))
    if from_wallet > 0:
        engine.create_transfer(
            tx,
            _transfer(tid, row.wallet, row.clearing, from_wallet, code="refund", ref=row.payment_id),
            now_ms,
        )
    if amount > from_wallet:
        shortfall = model.refund_shortfall(row.currency)
        engine.create_transfer(
            tx,
            _transfer(
                f"{tid}:shortfall",
                shortfall,
                row.clearing,
                amount - from_wallet,
                code="refund_shortfall",
                ref=row.payment_id,
            ),
            now_ms,
        )


def _credit_note(tx: Tx, settings: LedgerSettings, row: PaymentPostings, after: int, now_ms: int) -> None:
    invoices.issue_credit_note(
        tx,
        settings.invoices,
        (row.payment_id, row.currency),
        refunded_before=row.refunded,
        refunded_after=after,
        now_ms=now_ms,
    )


def catch_up_refunds(tx: Tx, p: PaymentFacts, settings: LedgerSettings, now_ms: int) -> None:
    """Reverse what the payment shows refunded beyond what the ledger reversed (gateway-side refunds)."""
    row = load(tx, p.id)
    if row is None or p.refunded <= row.refunded:
        return
    after = min(p.refunded, row.captured)
    merchant, platform = row.shares(after)
    base = f"{p.id}:reversal:{after}"
    _take_from_wallet(tx, row, base, merchant, now_ms)
    _reverse_platform(tx, row, f"{base}:commission", platform, now_ms)
    _credit_note(tx, settings, row, after, now_ms)
    _record(tx, row, after, merchant, platform)


def hold_refund(tx: Tx, payment_id: str, refund_id: str, amount: int, now_ms: int) -> None:
    """Hold the merchant's share of an API refund on the wallet; `insufficient_funds` if it cannot."""
    row = load(tx, payment_id)
    if row is None:
        return
    net = row.captured - row.commission
    bound = min(-(-net * amount // row.captured), net - row.merchant_reversed)
    hold_id = None
    if bound > 0:
        hold_id = f"{refund_id}:hold"
        hold = Transfer(
            hold_id, row.wallet, row.clearing, bound, kind=TransferKind.PENDING, code="refund", ref=payment_id
        )
        try:
            engine.create_transfer(tx, hold, now_ms)
        except LedgerError as exc:
            if exc.code is Code.EXCEEDS_CREDITS:
                raise LedgerError(
                    Code.INSUFFICIENT_FUNDS,
                    f"the wallet of {row.payee} cannot cover this refund's share "
                    f"({format_money(bound, row.currency)})",
                    "amount",
                ) from None
            raise
    tx.execute(
        "INSERT INTO ledger_refund_holds (refund_id, payment_id, amount, hold_id, state) "
        "VALUES (?, ?, ?, ?, 'held')",
        (refund_id, payment_id, amount, hold_id),
    )


def _hold(tx: Tx, refund_id: str) -> tuple[str, int, str | None] | None:
    found = tx.fetchone(
        "SELECT payment_id, amount, hold_id FROM ledger_refund_holds WHERE refund_id = ? AND state = 'held'",
        (refund_id,),
    )
    return (found[0], int(found[1]), found[2]) if found else None


def settle_refund(tx: Tx, refund_id: str, settings: LedgerSettings, now_ms: int) -> None:
    """The refund succeeded: post its exact shares (the hold for the merchant's)."""
    hold = _hold(tx, refund_id)
    row = load(tx, hold[0]) if hold else None
    if hold is None or row is None:
        return
    _, amount, hold_id = hold
    after = row.refunded + amount
    merchant, platform = row.shares(after)
    held = 0
    if hold_id is not None:
        pending = engine.get_transfer(tx, hold_id)
        held = min(merchant, pending.amount if pending else 0)
        kind = TransferKind.POST if held > 0 else TransferKind.VOID
        resolve = Transfer(
            f"{refund_id}:settle",
            None,
            None,
            held or None,
            kind=kind,
            pending_id=hold_id,
            code="refund",
            ref=row.payment_id,
        )
        engine.create_transfer(tx, resolve, now_ms)
    _take_from_wallet(tx, row, f"{refund_id}:rest", merchant - held, now_ms)  # 0: the hold is a bound
    _reverse_platform(tx, row, f"{refund_id}:commission", platform, now_ms)
    _credit_note(tx, settings, row, after, now_ms)
    _record(tx, row, after, merchant, platform)
    tx.execute("UPDATE ledger_refund_holds SET state = 'settled' WHERE refund_id = ?", (refund_id,))


def release_refund(tx: Tx, refund_id: str, now_ms: int) -> None:
    """The refund failed: release its hold."""
    hold = _hold(tx, refund_id)
    if hold is None:
        return
    payment_id, _, hold_id = hold
    if hold_id is not None:
        void = Transfer(
            f"{refund_id}:release",
            None,
            None,
            None,
            kind=TransferKind.VOID,
            pending_id=hold_id,
            code="refund",
            ref=payment_id,
        )
        engine.create_transfer(tx, void, now_ms)
    tx.execute("UPDATE ledger_refund_holds SET state = 'released' WHERE refund_id = ?", (refund_id,))


def summary(tx: Tx, payment_id: str) -> dict[str, Any] | None:
    row = load(tx, payment_id)
    if row is None:
        return None
    return {
        "payment_id": row.payment_id,
        "payee": row.payee,
        "currency": row.currency,
        "commission_type": row.commission_type,
        "captured": row.captured,
        "commission": row.commission,
        "refunded": row.refunded,
        "merchant_reversed": row.merchant_reversed,
        "commission_reversed": row.commission_reversed,
    }
