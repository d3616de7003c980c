"""The connector interface every payment provider implements, and the types crossing it.

A provider module (`gateways/<name>.py`) holds, as a Hyperswitch connector does,
its outbound calls (a `Gateway`), its inbound webhook parsing into an
`InboundEvent` (a `WebhookParser`) and its amount conversion (`amounts.py`
rules). The payment service and the webhook ingest only see these types:
amounts crossing this interface are ISO 4217 minor units, already converted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from payedge_server.contracts import Tx
from payedge_server.payments.model import LastError, NextAction, Payment, PaymentStatus


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """What the provider says about a payment now (from an API answer or a webhook).

    `status` is what the provider's object implies: `requires_payment_method` with
    an `error` is a failed attempt the provider lets the customer retry (Stripe),
    `failed` is final. `amount_captured` and `amount_refunded` are the provider's
    cumulative amounts, when it says them. `occurred_at` is the provider's time of
    this state in UNIX seconds (a webhook's `created`), None for a synchronous
    answer (which is the newest thing known). `next_action` is what the payer must
    do for a `processing` payment to go on (open the provider's page, approve on
    the phone); a confirm's answer carries it to the payment.
    """

    status: PaymentStatus
    gateway_ref: str | None = None
    amount_captured: int | None = None
    amount_refunded: int | None = None
    error: LastError | None = None
    occurred_at: int | None = None
    next_action: NextAction | None = None


class GatewayError(Exception):
    """A gateway call did not give a result."""


class GatewayUnavailableError(GatewayError):
    """Proved: the provider did not take the money. Retry later, or elsewhere.

    Raised for a connection that could not be made, a documented "not processed"
    answer, a 5xx still failing after an idempotent retry, or an unknown outcome
    that a status read settled as "nothing was created".
    """


class GatewayTimeoutError(GatewayError):
    """The request was sent and its outcome is unknown: the provider may have taken the money.

    A timeout after sending, a connection lost before the answer, an answer that
    cannot be read. Never retried at another gateway: resolved by a status read
    (`Gateway.retrieve`) with the same payment. `gateway_ref` is the provider's id of
    the request whose outcome is unknown, when the connector chose it before sending
    (MoMo's X-Reference-Id): the `processing` payment shows it while reads settle it.
    """

    def __init__(self, message: str, gateway_ref: str | None = None) -> None:
        super().__init__(message)
        self.gateway_ref = gateway_ref


class GatewayRejectedError(GatewayError):
    """The provider (or the connector, before calling it) refused the request: a 4xx for the client.

    `code` is a catalogue code (`gateway_rejected`, `amount_not_representable`,
    `currency_not_supported`, `payment_method_invalid`); `gateway_code` the provider's own.
    """

    def __init__(
        self, code: str, message: str, param: str | None = None, *, gateway_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.gateway_code = gateway_code


class Gateway(Protocol):
    """Outbound calls to one provider. Every call passes an idempotency key the provider honours."""

    name: str

    def check_payment_method(self, payment_method: str) -> str | None:
        """None if the id is acceptable for this gateway, else a message saying why not."""
        ...

    def check_amount(self, amount: int, currency: str) -> None:
        """Raise GatewayRejectedError (`amount_not_representable`, `currency_not_supported`)
        unless the provider can carry `amount` minor units of `currency` exactly."""
        ...

    async def create(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        """Register the payment at the provider (may be local: no I/O)."""
        ...

    async def confirm(self, payment: Payment, *, idempotency_key: str) -> GatewayResult: ...

    async def cancel(self, payment: Payment, *, idempotency_key: str) -> GatewayResult: ...

    async def retrieve(self, payment: Payment) -> GatewayResult | None:
        """A status read: what the provider says about this payment now, with no side effect.

        None when the provider has no object for it (nothing was created there, so
        nothing was taken). Raises GatewayUnavailableError when the read fails.
        Used to settle a GatewayTimeoutError and to follow callbacks and polls.
        """
        ...

    async def refund(
        self, payment: Payment, amount: int, *, refund_id: str, idempotency_key: str
    ) -> str | None:
        """Refund `amount` minor units; returns the provider's refund id."""
        ...

    async def ready(self) -> bool: ...

    async def close(self) -> None: ...


@runtime_checkable
class LocalGateway(Protocol):
    """A gateway that decides in-process, without I/O (the sandbox).

    The payment service then confirms in ONE store write: `confirm_now` runs
    inside the write, then `after_confirm_in_tx` with the same transaction, so a
    follow-up the gateway owes (the sandbox's async webhook, written to its
    delivery table) commits or rolls back together with the status change.
    """

    def confirm_now(self, payment: Payment) -> GatewayResult:
        """The outcome, or raise GatewayUnavailableError."""
        ...

    def after_confirm_in_tx(self, tx: Tx, payment: Payment, result: GatewayResult) -> None: ...


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """A provider's webhook, verified and read into payedge's terms.

    `effect` is None for a type payedge does not act on. `object_ref` is the
    provider's payment object id; `payment_hint` the payedge payment id the
    provider echoes (metadata), when it does. `problem` is set when the event is
    of a type payedge acts on but a field it needs could not be read: it is then
    recorded, acknowledged and flagged for an operator, never applied half-read.
    `follow_up` runs once a first delivery is recorded (after the commit, outside
    any write): a callback that is only a hint (MoMo, CinetPay, Orange Money) or
    that asks for an action (PayPal's approval: capture) is recorded first, then
    its connector reads the payment's status from the provider.
    """

    event_id: str
    type: str
    object_ref: str | None = None
    payment_hint: str | None = None
    effect: GatewayResult | None = None
    problem: str | None = None
    follow_up: Callable[[], None] | None = field(default=None, compare=False, repr=False)


class WebhookRejectedError(Exception):
    """A delivery that is not a genuine event of this provider (bad signature, no secret).

    `code` is a catalogue code (`invalid_signature`, `webhook_not_configured`,
    `invalid_payload`); `param` the header or field at fault.
    """

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


class WebhookParser(Protocol):
    """Inbound half of a connector: verify a delivery and read it into an InboundEvent."""

    provider: str

    def parse(self, body: bytes, headers: Mapping[str, str]) -> InboundEvent | Awaitable[InboundEvent]:
        """Raise WebhookRejectedError for a delivery whose authenticity is not proven.

        A parser that needs I/O to verify (fetch PayPal's certificate, look up the
        token Orange gave for a payment) returns an awaitable; the ingest awaits it.
        """
        ...
