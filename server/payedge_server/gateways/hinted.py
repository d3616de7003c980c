"""What the connectors of CinetPay, MTN MoMo and Orange Money share: their callbacks are hints.

None of the three signs what it reports in a way payedge can take as the truth
(MTN signs nothing; CinetPay's x-token and Orange's notif_token prove who sent the
callback, not that its status is current), so each receiver records the callback
and its connector then reads the payment's status from the provider
(`InboundEvent.follow_up` pokes the connector's `StatusPoller`). None has a cancel
or refund call payedge can make: a cancel is local (the payer never completes the
payment page or the PIN prompt), a refund is refused with the provider's reason.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Generic, TypeVar

import orjson

from payedge_server.gateways.attempts import AttemptLog
from payedge_server.gateways.base import (
    GatewayError,
    GatewayRejectedError,
    GatewayResult,
    InboundEvent,
    WebhookRejectedError,
)
from payedge_server.gateways.http import BearerTokens, ProviderHttp
from payedge_server.gateways.polling import StatusPoller
from payedge_server.payments.model import Payment, PaymentStatus


class HintedGateway:
    """The outbound calls the three connectors answer alike (a mixin of each connector class)."""

    name: str
    # Why the provider's API cannot refund (shown with 400 `refund_not_supported`).
    REFUND_REFUSAL: ClassVar[str]
    http: ProviderHttp
    attempts: AttemptLog

    async def retrieve(self, payment: Payment) -> GatewayResult | None:
        raise NotImplementedError

    async def create(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        """Nothing to create before the payer is sent to pay: the request is made at confirm."""
        status = PaymentStatus.REQUIRES_CONFIRMATION if payment.payment_method else None
        return GatewayResult(status or PaymentStatus.REQUIRES_PAYMENT_METHOD)

    async def cancel(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        """Nothing to call: an unpaid request just lapses at the provider."""
        return GatewayResult(PaymentStatus.CANCELED, payment.gateway_ref)

    async def refund(
        self, payment: Payment, amount: int, *, refund_id: str, idempotency_key: str
    ) -> str | None:
        raise GatewayRejectedError("refund_not_supported", self.REFUND_REFUSAL, "amount")

    async def reconcile(self, payment: Payment) -> GatewayResult | None:
        """A status read settles what an unknown answer left open (MTN MoMo also re-sends)."""
        return await self.retrieve(payment)

    async def close(self) -> None:
        await self.http.close()


class TokenReady:
    """Ready when the provider hands out an access token (MTN MoMo, Orange Money: OAuth-style)."""

    tokens: BearerTokens

    async def ready(self) -> bool:
        try:
            await self.tokens.get()
        except GatewayError:
            return False
        return True


G = TypeVar("G", bound=HintedGateway)


class HintReceiver(Generic[G]):
    """Base of the three webhook receivers: refused while the gateway is not configured; a
    callback about a request payedge made becomes a hint whose truth the status read tells."""

    provider: str

    def __init__(self, gateway: G | None, poller: StatusPoller | None) -> None:
        self.gateway = gateway
        self.poller = poller

    def configured(self) -> G:
        if self.gateway is None:
            raise WebhookRejectedError(
                "webhook_not_configured", f"the {self.provider} gateway is not configured"
            )
        return self.gateway

    def hint(self, event_id: str, kind: str, ref: str, payment_id: str) -> InboundEvent:
        """The callback as an event about `payment_id`: recorded, then its status is read."""
        poller = self.poller
        follow = (lambda: poller.poke(payment_id)) if poller is not None else None
        return InboundEvent(event_id, kind, ref, payment_id, follow_up=follow)


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object; None when it is not one (the receiver says what is missing)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def callback_id(ref: str, body: bytes) -> str:
    """An event id for an unsigned, id-less callback: the request's id and the body's digest, so
    a provider's retry of the same callback is a duplicate and a new status is a new event."""
    return f"{ref}:{hashlib.sha256(body).hexdigest()[:16]}"


def status_kind(prefix: str, data: dict[str, Any]) -> str:
    """`<prefix>.<the status the callback claims>` (at most 20 characters of it, lower case)."""
    return f"{prefix}.{str(data.get('status') or 'unknown')[:20].lower()}"
