"""The ledger's adapter to payments: the ONE module that reads a payment.

It turns a `Payment` into `postings.PaymentFacts` and registers the ledger's hooks on
the `PaymentService`: a create check (a commission type needs a rate; a metadata VAT
rate must be one), a payment hook (post a capture, reverse refunds the payment shows),
and a refund hook (hold the merchant's share before the gateway refunds). A ledger
refusal raised inside a payment's write is a `DomainError`: the write rolls back and
the catalogue answers the client.
"""

from __future__ import annotations

from collections.abc import Callable

from payedge_server.contracts import Tx
from payedge_server.errors import RequestError
from payedge_server.ledger import postings
from payedge_server.ledger.errors import Code, LedgerError
from payedge_server.ledger.invoices import parse_vat_rate
from payedge_server.ledger.settings import LedgerSettings
from payedge_server.payments.model import Payment, PaymentChange, PaymentStatus, now_ms
from payedge_server.payments.service import NewPayment, PaymentService

REFUNDED = frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED})


def facts(payment: Payment) -> postings.PaymentFacts:
    return postings.PaymentFacts(
        id=payment.id,
        gateway=payment.gateway,
        currency=payment.currency,
        payee=payment.payee,
        commission_type=payment.commission_type,
        captured=payment.amount_captured,
        refunded=payment.amount_refunded,
        metadata=payment.metadata,  # read only (a frozen payment's)
    )


class PaymentHooks:
    """The ledger's create check, payment hook and refund hook."""

    def __init__(self, settings: LedgerSettings, clock: Callable[[], int] = now_ms) -> None:
        self.settings = settings
        self.clock = clock

    def register(self, payments: PaymentService) -> None:
        payments.add_create_check(self.check)
        payments.add_hook(self.on_change)
        payments.add_refund_hook(self)

    def check(self, new: NewPayment) -> None:
        """Refuse a payment whose commission type has no rate, or whose `metadata.vat_rate` is bad."""
        if new.commission_type is not None:
            rate = self.settings.rates.lookup(new.commission_type, new.payee, new.currency)
            if rate is None:
                raise LedgerError(
                    Code.COMMISSION_TYPE_UNKNOWN,
                    f"no commission rate for type {new.commission_type!r}, payee {new.payee!r} "
                    f"and {new.currency}; see GET /v1/commissions/rates",
                    "commission_type",
                )
        vat_rate = new.metadata.get("vat_rate")
        if vat_rate is not None and parse_vat_rate(vat_rate) is None:
            raise RequestError(
                "parameter_invalid",
                "metadata.vat_rate must be a percentage from 0 to 100 with at most two decimals",
                "metadata[vat_rate]",
            )

    def on_change(self, tx: Tx, change: PaymentChange) -> None:
        """Post a payment that was captured; reverse refunds the payment shows and the ledger has not."""
        before, after = change.before, change.after
        if after.status.captured and (before is None or not before.status.captured):
            postings.capture(tx, facts(after), self.settings, self.clock())
        if after.status in REFUNDED and (before is None or before.amount_refunded != after.amount_refunded):
            postings.catch_up_refunds(tx, facts(after), self.settings, self.clock())

    def reserve_in_tx(self, tx: Tx, payment: Payment, refund_id: str, amount: int) -> None:
        postings.hold_refund(tx, payment.id, refund_id, amount, self.clock())

    def settle_in_tx(self, tx: Tx, payment: Payment, refund_id: str) -> None:
        postings.settle_refund(tx, refund_id, self.settings, self.clock())

    def release_in_tx(self, tx: Tx, payment_id: str, refund_id: str) -> None:
        postings.release_refund(tx, refund_id, self.clock())
