"""The ledger's adapter to payments: the ONE module that reads a payment's shape.

It turns the payment view (`records.public`: `id`, `gateway`, `currency`, `payee`,
`commission_type`, `amount_captured`, `amount_refunded`, `metadata`, `status`) into
`postings.PaymentFacts`, registers the ledger's hooks on the `PaymentService`, and turns
the ledger's refusals raised inside payment writes into `ApiError` (the payments code
only knows that one). When payments becomes a typed `Payment`, `facts()` is the edit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from payedge_server.contracts import Tx
from payedge_server.errors import ApiError
from payedge_server.ledger import postings
from payedge_server.ledger.errors import LedgerError
from payedge_server.ledger.invoices import parse_vat_rate
from payedge_server.ledger.routes import api_error
from payedge_server.ledger.settings import LedgerSettings
from payedge_server.payments.service import PaymentService
from payedge_server.payments.states import REFUNDABLE
from payedge_server.store.records import now_ms

REFUNDED = frozenset({"partially_refunded", "refunded"})


def facts(payment: dict[str, Any]) -> postings.PaymentFacts:
    return postings.PaymentFacts(
        id=payment["id"],
        gateway=payment["gateway"],
        currency=payment["currency"],
        payee=payment.get("payee") or "default",
        commission_type=payment.get("commission_type"),
        captured=int(payment["amount_captured"]),
        refunded=int(payment["amount_refunded"]),
        metadata=payment.get("metadata") or {},
    )


class PaymentHooks:
    """`PaymentCheck`, `PaymentTransitionHook` and `RefundHook` of the ledger."""

    def __init__(self, settings: LedgerSettings, clock: Callable[[], int] = now_ms) -> None:
        self.settings = settings
        self.clock = clock

    def register(self, payments: PaymentService) -> None:
        payments.add_create_check(self.check)
        payments.add_transition_hook(self.on_transition)
        payments.add_refund_hook(self)

    def check(self, draft: dict[str, Any]) -> None:
        """Refuse a payment whose commission type has no rate, or whose `metadata.vat_rate` is bad."""
        commission_type = draft.get("commission_type")
        if commission_type is not None:
            rate = self.settings.rates.lookup(commission_type, draft["payee"], draft["currency"])
            if rate is None:
                raise ApiError(
                    400,
                    "commission_type_unknown",
                    f"no commission rate for type {commission_type!r}, payee {draft['payee']!r} "
                    f"and {draft['currency']}; see GET /v1/commissions/rates",
                    "commission_type",
                )
        vat_rate = (draft.get("metadata") or {}).get("vat_rate")
        if vat_rate is not None and parse_vat_rate(vat_rate) is None:
            raise ApiError(
                400,
                "parameter_invalid",
                "metadata.vat_rate must be a percentage from 0 to 100 with at most two decimals",
                "metadata[vat_rate]",
            )

    def on_transition(self, tx: Tx, payment: dict[str, Any], previous_status: str) -> None:
        """Post a payment that succeeded; reverse refunds the payment shows and the ledger has not."""
        status = payment["status"]
        if status == "succeeded" and previous_status not in REFUNDABLE:
            self._call(postings.capture, tx, facts(payment), self.settings, self.clock())
        elif status in REFUNDED:
            self._call(postings.catch_up_refunds, tx, facts(payment), self.settings, self.clock())

    def reserve_in_tx(self, tx: Tx, payment: dict[str, Any], refund_id: str, amount: int) -> None:
        self._call(postings.hold_refund, tx, payment["id"], refund_id, amount, self.clock())

    def settle_in_tx(self, tx: Tx, payment: dict[str, Any], refund_id: str) -> None:
        self._call(postings.settle_refund, tx, refund_id, self.settings, self.clock())

    def release_in_tx(self, tx: Tx, payment_id: str, refund_id: str) -> None:
        self._call(postings.release_refund, tx, refund_id, self.clock())

    @staticmethod
    def _call(fn: Callable[..., object], *args: Any) -> None:
        try:
            fn(*args)
        except LedgerError as exc:
            raise api_error(exc) from None
